// An OCI runtime bundle on disk: a directory holding config.json. The root filesystem is
// not copied in: root.path stays the absolute path given (usually a lazy mount
// elsewhere), which runtimes accept.

import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.js';
import type { RuntimeSpec } from './runtime-spec.js';

export const BUNDLE_CONFIG_FILE = 'config.json';

/**
 * Writes `spec` as DIR/config.json (mode 0644), creating DIR. DIR must be absent or an
 * empty directory (FAILED_PRECONDITION otherwise) so a bundle never mixes with old files.
 * Returns the absolute bundle directory.
 */
export async function writeBundle(dir: string, spec: RuntimeSpec): Promise<string> {
  if (!isAbsolute(spec.root.path)) {
    throw invalidArgument(`bundle root path "${spec.root.path}" is not absolute`);
  }
  const bundleDir = resolve(dir);
  let entries: string[];
  try {
    await mkdir(bundleDir, { recursive: true, mode: 0o755 });
    entries = await readdir(bundleDir);
  } catch (err) {
    throw failedPrecondition(`bundle directory ${bundleDir} cannot be used: ${(err as Error).message}`, err);
  }
  if (entries.length > 0) {
    throw failedPrecondition(`bundle directory ${bundleDir} is not empty (holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''})`);
  }
  const configPath = join(bundleDir, BUNDLE_CONFIG_FILE);
  // 'wx': a concurrent writer of the same bundle fails instead of interleaving.
  await writeFile(configPath, JSON.stringify(spec, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
  await chmod(configPath, 0o644); // the umask may have narrowed the create mode
  return bundleDir;
}
