// The daemon as a separate process (test/daemon/fixture-daemon.ts): started by
// ensureDaemon, killed with SIGKILL (leaving dead FUSE endpoints), cleaned by
// forceUnmount, restored by the next daemon, and stopped cleanly by SIGTERM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { DaemonClient, ensureDaemon, forceUnmount } from '../../src/daemon/client.js';
import { loadRecords } from '../../src/daemon/mount-records.js';
import { probeMountpoint } from '../../src/daemon/mountpoint.js';
import { isCode } from '../../src/errors.js';
import { mountDir } from '../fs/fuse-harness.js';

const FIXTURE = fileURLToPath(new URL('./fixture-daemon.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('kill -9, forceUnmount, restore, SIGTERM', async (t) => {
  const { dir, mnt, onCleanup } = await mountDir(t, 'lazysnap-crash-');
  const stateDir = join(dir, 'state');
  const mnt2 = join(dir, 'mnt2');
  await mkdir(mnt2);
  const pids = new Set<number>();
  onCleanup(async () => { for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL'); });
  const start = async () => {
    const client = await ensureDaemon(stateDir, [process.execPath, FIXTURE, stateDir]);
    const { pid } = await client.ping();
    pids.add(pid);
    return { client, pid };
  };

  // 1. A background daemon mounts; SIGKILL leaves a dead endpoint behind.
  const first = await start();
  assert.notEqual(first.pid, process.pid);
  await first.client.mount({ reference: 'demo/app', mountpoint: mnt });
  assert.equal(await readFile(join(mnt, 'etc/hostname'), 'utf8'), 'lazysnap\n');
  process.kill(first.pid, 'SIGKILL');
  await waitFor('the daemon to die', () => !alive(first.pid));
  assert.equal(await probeMountpoint(mnt), 'dead');
  await assert.rejects(DaemonClient.connect(stateDir), (e) => isCode(e, 'UNAVAILABLE'));
  assert.ok((await readFile(join(stateDir, 'daemon.log'), 'utf8')).includes('mounted demo/app'));

  // 2. umount without a daemon.
  assert.deepEqual(await forceUnmount(stateDir, mnt), { mountpoint: mnt, unmounted: true, recordRemoved: true });
  assert.equal(await probeMountpoint(mnt), 'dir');
  await assert.rejects(forceUnmount(stateDir, mnt), (e) => isCode(e, 'NOT_FOUND'));

  // 3. A new daemon mounts at the same place again; kill it with two mounts up.
  const second = await start();
  assert.notEqual(second.pid, first.pid);
  await second.client.mount({ reference: 'demo/app', mountpoint: mnt });
  await second.client.mount({ reference: 'demo/other', mountpoint: mnt2 });
  assert.equal((await stat(join(mnt2, 'big.bin'))).size, 20 * 1024 * 1024);
  process.kill(second.pid, 'SIGKILL');
  await waitFor('the daemon to die', () => !alive(second.pid));
  assert.equal(await probeMountpoint(mnt2), 'dead');

  // 4. Forget one; the next daemon cleans the other's dead endpoint and restores it.
  await forceUnmount(stateDir, mnt);
  const third = await start();
  await waitFor('the restore', async () => (await third.client.status()).mounts.length === 1);
  const s = await third.client.status();
  assert.deepEqual(s.mounts.map((m) => [m.mountpoint, m.reference]), [[mnt2, 'demo/other']]);
  assert.equal(s.daemon.pid, third.pid);
  assert.equal(await readFile(join(mnt2, 'etc/hostname'), 'utf8'), 'lazysnap\n');
  assert.equal(await probeMountpoint(mnt), 'dir');

  // 5. A second daemon process on the same state dir gives up; the first keeps serving.
  const { spawn } = await import('node:child_process');
  const loser = spawn(process.execPath, [FIXTURE, stateDir], { stdio: 'ignore' });
  const loserCode = await new Promise<number | null>((done) => loser.on('exit', (c) => done(c)));
  assert.equal(loserCode, 3);
  assert.equal((await third.client.ping()).pid, third.pid);

  // 6. SIGTERM: clean unmount, socket gone, record kept for the next start.
  process.kill(third.pid, 'SIGTERM');
  await waitFor('the daemon to exit', () => !alive(third.pid));
  assert.equal(await probeMountpoint(mnt2), 'dir');
  await assert.rejects(stat(join(stateDir, 'lazysnapd.sock')), { code: 'ENOENT' });
  assert.deepEqual((await loadRecords(stateDir)).map((r) => r.mountpoint), [mnt2]);
});
