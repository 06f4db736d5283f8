// Mount helpers for tests: a temp dir whose cleanup unmounts FIRST (fusermount3 -u -z as
// a fallback, even when the test failed) and only then removes the directory, so a
// cleanup never walks into a live mount.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCommand, listMountpoints } from '../../src/daemon/mountpoint.js';

export interface MountDir {
  dir: string;
  /** An empty directory under `dir` to mount on. */
  mnt: string;
  /** Extra unmount steps (e.g. mount.unmount()) run before the fusermount3 fallback. */
  onCleanup(fn: () => Promise<unknown>): void;
}

export async function mountDir(t: TestContext, prefix = 'lazysnap-fs-'): Promise<MountDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const steps: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step().catch((err) => process.stderr.write(`cleanup: ${String(err)}\n`));
    for (const m of await listMountpoints()) {
      if (m === dir || m.startsWith(`${dir}/`)) await runCommand('fusermount3', ['-u', '-z', m]);
    }
    if (process.env.LAZYSNAP_KEEP_TMP) return void process.stderr.write(`kept ${dir}\n`);
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, mnt, onCleanup: (fn) => void steps.push(fn) };
}
