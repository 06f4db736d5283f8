// The production process model with real processes and the real kernel: a daemon
// (fixture-daemon.js, started by ensureDaemon) and one detached mount server per mount
// (fixture-mount-server.js). kill -9 of the daemon leaves mounts serving and a new daemon
// re-attaches; kill -9 of a mount server leaves a dead endpoint that status reports,
// umount cleans and a daemon restart mounts again; SIGTERM of the daemon stops the control
// side only; `daemon stop --all` stops everything. Cleanup kills whatever names the state dir.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { DaemonClient, ensureDaemon, forceUnmount } from '../../src/daemon/client.js';
import { loadRecords } from '../../src/daemon/mount-records.js';
import { probeMountpoint } from '../../src/daemon/mountpoint.js';
import { isCode } from '../../src/errors.js';
import { generated } from '../fs/memory-tree.js';
import { mountDir } from '../fs/fuse-harness.js';
import { alive, killMentioning, waitDead, waitFor } from './processes.js';

const FIXTURE = fileURLToPath(new URL('./fixture-daemon.js', import.meta.url));

test('split: daemon and mount servers die apart', { timeout: 120_000 }, async (t) => {
  const { dir, mnt, onCleanup } = await mountDir(t, 'lazysnap-split-');
  const stateDir = join(dir, 'state');
  const mnt2 = join(dir, 'mnt2');
  await mkdir(mnt2);
  onCleanup(() => killMentioning(stateDir)); // before the harness's fusermount3 -u -z
  const start = async () => {
    const client = await ensureDaemon(stateDir, [process.execPath, FIXTURE, stateDir]);
    return { client, pid: (await client.ping()).pid };
  };
  const byMnt = async (client: DaemonClient) => new Map((await client.status()).mounts.map((m) => [m.mountpoint, m]));
  const notes = async (at: string) => {
    const data = await readFile(join(at, 'home/user/notes'));
    assert.ok(data.equals(generated((await stat(join(at, 'home/user/notes'))).ino, 0, 4097)));
  };

  // 1. Each mount is served by its own process, neither the daemon nor us.
  const d1 = await start();
  const m1 = await d1.client.mount({ reference: 'demo/app', mountpoint: mnt });
  const m2 = await d1.client.mount({ reference: 'demo/other', mountpoint: mnt2 });
  assert.ok(![d1.pid, process.pid, m2.serverPid].includes(m1.serverPid));
  assert.equal(await readFile(join(mnt, 'etc/hostname'), 'utf8'), 'lazysnap\n');
  const records = await loadRecords(stateDir);
  assert.deepEqual(records.map((r) => [r.mountpoint, r.serverPid]), [[mnt, m1.serverPid], [mnt2, m2.serverPid]]);
  assert.equal((await stat(records[0]!.serverSocket!)).mode & 0o777, 0o600);
  await assert.rejects(d1.client.mount({ reference: 'missing/image', mountpoint: join(dir, 'state') }), (e) => isCode(e, 'NOT_FOUND'));
  await assert.rejects(d1.client.mount({ reference: 'demo/app', mountpoint: join(dir, 'absent') }), (e) => isCode(e, 'INVALID_ARGUMENT'));
  const fetchedBefore = (await byMnt(d1.client)).get(mnt)!.bytesFetched;

  // 2. kill -9 of the daemon: both mounts keep serving, new reads included.
  process.kill(d1.pid, 'SIGKILL');
  await waitDead(d1.pid);
  await assert.rejects(DaemonClient.connect(stateDir), (e) => isCode(e, 'UNAVAILABLE'));
  assert.equal(await probeMountpoint(mnt), 'mounted');
  await notes(mnt);
  assert.equal((await stat(join(mnt2, 'big.bin'))).size, 20 * 1024 * 1024);

  // 3. A new daemon re-attaches: same servers, counters carried on.
  const d2 = await start();
  assert.notEqual(d2.pid, d1.pid);
  await waitFor('the re-attach', async () => (await d2.client.status()).mounts.length === 2);
  let seen = await byMnt(d2.client);
  assert.equal(seen.get(mnt)!.serverPid, m1.serverPid);
  assert.equal(seen.get(mnt2)!.serverPid, m2.serverPid);
  assert.ok(seen.get(mnt)!.bytesFetched >= fetchedBefore + 4097, 'the read made without a daemon is counted');

  // 4. kill -9 of a mount server: a dead endpoint; status reports it promptly; umount cleans it.
  process.kill(m2.serverPid, 'SIGKILL');
  await waitDead(m2.serverPid);
  assert.equal(await probeMountpoint(mnt2), 'dead');
  const asked = Date.now();
  const s = await d2.client.status();
  assert.ok(Date.now() - asked < 5000, 'status does not hang on a dead server');
  assert.deepEqual(s.mounts.map((m) => m.mountpoint), [mnt]);
  assert.deepEqual(s.unreachable.map((u) => [u.mountpoint, u.serverPid, u.error.code]), [[mnt2, m2.serverPid, 'UNAVAILABLE']]);
  await d2.client.umount(mnt2);
  assert.equal(await probeMountpoint(mnt2), 'dir');
  assert.deepEqual((await loadRecords(stateDir)).map((r) => r.mountpoint), [mnt]);

  // 5. SIGTERM of the daemon stops the control side only; a server killed meanwhile is
  //    mounted again by the next daemon, the other one is re-attached untouched.
  const m2b = await d2.client.mount({ reference: 'demo/other', mountpoint: mnt2 });
  process.kill(m2b.serverPid, 'SIGKILL');
  process.kill(d2.pid, 'SIGTERM');
  await waitDead(d2.pid);
  await waitDead(m2b.serverPid);
  await assert.rejects(stat(join(stateDir, 'lazysnapd.sock')), { code: 'ENOENT' });
  assert.equal(await probeMountpoint(mnt), 'mounted');
  await notes(mnt);
  assert.deepEqual((await loadRecords(stateDir)).map((r) => r.mountpoint), [mnt, mnt2]);
  const d3 = await start();
  await waitFor('the restore', async () => (await d3.client.status()).mounts.length === 2);
  seen = await byMnt(d3.client);
  assert.equal(seen.get(mnt)!.serverPid, m1.serverPid);
  assert.ok(![m2b.serverPid, m1.serverPid].includes(seen.get(mnt2)!.serverPid));
  assert.equal(await readFile(join(mnt2, 'etc/hostname'), 'utf8'), 'lazysnap\n');

  // 6. A second daemon process on the same state dir gives up; the first keeps serving.
  const loser = spawn(process.execPath, [FIXTURE, stateDir], { stdio: 'ignore' });
  assert.equal(await new Promise<number | null>((done) => loser.on('exit', (c) => done(c))), 3);
  assert.equal((await d3.client.ping()).pid, d3.pid);

  // 7. umount with no daemon at all: the server is asked to unmount and exits.
  process.kill(d3.pid, 'SIGKILL');
  await waitDead(d3.pid);
  assert.deepEqual(await forceUnmount(stateDir, mnt), { mountpoint: mnt, unmounted: true, recordRemoved: true });
  assert.equal(await probeMountpoint(mnt), 'dir');
  assert.equal(await alive(m1.serverPid), false);
  await assert.rejects(forceUnmount(stateDir, mnt), (e) => isCode(e, 'NOT_FOUND'));

  // 8. `daemon stop --all`: every server unmounts and exits; the records stay.
  const d4 = await start();
  await waitFor('the re-attach', async () => (await d4.client.status()).mounts.length === 1);
  const last = (await byMnt(d4.client)).get(mnt2)!.serverPid;
  await d4.client.shutdown({ unmountAll: true });
  await waitDead(d4.pid);
  await waitDead(last);
  assert.equal(await probeMountpoint(mnt2), 'dir');
  assert.deepEqual((await loadRecords(stateDir)).map((r) => r.mountpoint), [mnt2]);
});

test('SIGTERM of a mount server unmounts cleanly; umount then drops the record', { timeout: 60_000 }, async (t) => {
  const { dir, mnt, onCleanup } = await mountDir(t, 'lazysnap-split-');
  const stateDir = join(dir, 'state');
  onCleanup(() => killMentioning(stateDir));
  const client = await ensureDaemon(stateDir, [process.execPath, FIXTURE, stateDir]);
  const m = await client.mount({ reference: 'demo/app', mountpoint: mnt });
  process.kill(m.serverPid, 'SIGTERM');
  await waitDead(m.serverPid);
  assert.equal(await probeMountpoint(mnt), 'dir', 'a clean unmount, not a dead endpoint');
  const s = await client.status();
  assert.deepEqual(s.mounts, []);
  assert.match(s.unreachable[0]?.error.message ?? '', /is dead/);
  await client.umount(mnt);
  assert.deepEqual(await loadRecords(stateDir), []);
  await client.shutdown();
});
