// An OCI runtime bundle on disk: a directory holding config.json. The root filesystem is
// not copied in: root.path stays the absolute path given (usually a lazy mount
// elsewhere), which runtimes accept.

import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.js';
import type { RuntimeSpec } from './runtime-spec.js';

export const BUNDLE_CONFIG_FILE = 'config.json';

/**
 * Makes DIR a bundle directory: absent (created) or empty, FAILED_PRECONDITION otherwise,
 * so a bundle never mixes with old files. Returns the absolute directory.
 */
export async function prepareBundleDir(dir: string): Promise<string> {
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
  return bundleDir;
}

/**
 * Writes `spec` as DIR/config.json (mode 0644). Unless `prepared` (the caller ran
 * prepareBundleDir and may have put the rootfs inside since), DIR is prepared first.
 * Returns the absolute bundle directory.
 */
export async function writeBundle(dir: string, spec: RuntimeSpec, opts: { prepared?: boolean } = {}): Promise<string> {
  if (!isAbsolute(spec.root.path)) {
    throw invalidArgument(`bundle root path "${spec.root.path}" is not absolute`);
  }
  const bundleDir = opts.prepared ? resolve(dir) : await prepareBundleDir(dir);
  const configPath = join(bundleDir, BUNDLE_CONFIG_FILE);
  // 'wx': a concurrent writer of the same bundle fails instead of interleaving.
  await writeFile(configPath, JSON.stringify(spec, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
  await chmod(configPath, 0o644); // the umask may have narrowed the create mode
  return bundleDir;
}
