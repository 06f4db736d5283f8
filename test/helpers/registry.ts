// Starts and stops a real docker-registry (Debian's CNCF distribution 2.8) for tests,
// through test/fixtures/registry.sh, on 127.0.0.1 and a free port.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);

/** Repository root: the nearest directory above this file holding package.json. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
export const FIXTURES_DIR = join(REPO_ROOT, 'test', 'fixtures');

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly dir: string;
  readonly auth?: { user: string; pass: string };
  stop(): Promise<void>;
}

export async function startRegistry(opts: { auth?: { user: string; pass: string } } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'lazysnap-registry-'));
  const args = [join(FIXTURES_DIR, 'registry.sh'), 'start'];
  if (opts.auth) args.push('--auth', `${opts.auth.user}:${opts.auth.pass}`);
  args.push(dir);
  let host: string;
  try {
    const { stdout } = await run('bash', args, { timeout: 120_000 });
    host = stdout.trim();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    host,
    dir,
    auth: opts.auth,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run('bash', [join(FIXTURES_DIR, 'registry.sh'), 'stop', dir], { timeout: 60_000 }).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Copies `oci:LAYOUT:TAG` to `HOST/REPO:DESTTAG` with skopeo, keeping the exact manifest
 * (so layer blobs and annotations are what the layout holds).
 */
export async function pushLayout(layout: string, tag: string, reg: TestRegistry, repo: string, destTag = tag): Promise<string> {
  const dest = `${reg.host}/${repo}:${destTag}`;
  const args = ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false'];
  if (reg.auth) args.push('--dest-creds', `${reg.auth.user}:${reg.auth.pass}`);
  args.push(`oci:${layout}:${tag}`, `docker://${dest}`);
  await run('skopeo', args, { timeout: 300_000 });
  return dest;
}
