// The daemon in-process (inProcessHost: it serves FUSE itself): a fake backend over the
// in-memory tree, the real FUSE adapter and the real control socket, driven through
// DaemonClient. The production split (one mount-server process per mount) is in crash.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountTree } from '../../fs/mount-tree.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { inProcessHost, type MountHost } from '../../src/daemon/mount-host.js';
import type { MountStatus } from '../../src/daemon/protocol.js';
import { DaemonClient } from '../../src/daemon/client.js';
import { silentLog } from '../../src/daemon/log.js';
import { loadRecords } from '../../src/daemon/mount-records.js';
import { listMountpoints, probeMountpoint } from '../../src/daemon/mountpoint.js';
import { isCode } from '../../src/errors.js';
import { generated } from '../fs/memory-tree.js';
import { mountDir } from '../fs/fuse-harness.js';
import { fakeBackend, type FakeBackend } from './fake-backend.js';

async function setup(t: import('node:test').TestContext) {
  const md = await mountDir(t, 'lazysnap-daemon-');
  const stateDir = join(md.dir, 'state');
  const start = async (backend: FakeBackend = fakeBackend()) => {
    const daemon = await createDaemon({ stateDir, host: inProcessHost(backend, mountTree, silentLog), log: silentLog });
    md.onCleanup(() => daemon.close());
    return daemon;
  };
  return { ...md, stateDir, start };
}

const code = (c: string) => (err: unknown) => isCode(err, c as never);

test('mount, read through the kernel, status, umount', async (t) => {
  const { stateDir, mnt, start } = await setup(t);
  const backend = fakeBackend();
  const daemon = await start(backend);
  await daemon.restored;
  const client = await DaemonClient.connect(stateDir);
  assert.equal((await client.ping()).pid, process.pid);

  const mounted = await client.mount({ reference: 'demo/app:1', mountpoint: mnt, prefetch: 'landmark' });
  assert.equal(mounted.mountpoint, mnt);
  // mount returned: the kernel answers already.
  assert.equal((await stat(mnt)).ino, 1);
  const notes = await readFile(join(mnt, 'home/user/notes'));
  assert.equal(notes.length, 4097);
  const ino = (await stat(join(mnt, 'home/user/notes'))).ino;
  assert.ok(notes.equals(generated(ino, 0, 4097)));
  await assert.rejects(readFile(join(mnt, 'broken')), { code: 'EIO' });

  const s = await client.status();
  assert.deepEqual(Object.keys(s).sort(), ['cache', 'daemon', 'mounts', 'restoreFailures', 'unreachable']);
  assert.deepEqual(s.daemon, { pid: process.pid, version: '0.1.0', stateDir });
  assert.deepEqual(s.cache, { memoryBytes: 1, diskBytes: 2, diskLimitBytes: 3 });
  assert.equal(s.mounts.length, 1);
  const m = s.mounts[0]!;
  // CLI.md's fields, with their types.
  assert.equal(m.mountpoint, mnt);
  assert.equal(m.image, 'fake.registry/demo/app:1');
  assert.match(m.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(m.kind, 'view');
  for (const k of ['bytesFetched', 'requests', 'cacheHits', 'cacheMisses'] as const) assert.equal(typeof m[k], 'number', k);
  assert.ok(m.bytesFetched >= 4097);
  assert.ok(m.requests >= 1);
  // Extras.
  assert.equal(m.reference, 'demo/app:1');
  assert.equal(m.prefetch, 'landmark');
  assert.equal(m.layers[0]!.format, 'estargz');
  assert.equal(m.layers[0]!.lazy, true);
  assert.equal(m.compressedBytes, 12345);
  assert.ok(m.cacheHitRate >= 0 && m.cacheHitRate <= 1);
  assert.ok(m.readLatencyMs.p99 >= m.readLatencyMs.p50 && m.readLatencyMs.p50 > 0);
  assert.ok(m.errors >= 1, 'the EIO read is counted');
  assert.ok(m.fetchErrors >= 1);
  assert.equal(m.serverPid, process.pid, 'in-process: the daemon serves');
  assert.deepEqual(s.unreachable, []);

  assert.deepEqual((await loadRecords(stateDir)).map((r) => r.mountpoint), [mnt]);
  await client.umount(mnt);
  assert.equal(await probeMountpoint(mnt), 'dir');
  assert.deepEqual(await loadRecords(stateDir), []);
  assert.equal((await client.status()).mounts.length, 0);
  assert.equal(backend.closed, 1, 'the image was closed');
});

test('bad requests come back as coded errors', async (t) => {
  const { stateDir, mnt, dir, start } = await setup(t);
  await start();
  const client = await DaemonClient.connect(stateDir);
  await assert.rejects(client.mount({ reference: 'missing/image', mountpoint: mnt }), code('NOT_FOUND'));
  await assert.rejects(client.mount({ reference: 'a', mountpoint: mnt, prefetch: 'some' as never }), code('INVALID_ARGUMENT'));
  await assert.rejects(client.mount({ reference: '', mountpoint: mnt }), code('INVALID_ARGUMENT'));
  await assert.rejects(client.mount({ reference: 'a', mountpoint: join(dir, 'absent') }), code('INVALID_ARGUMENT'));
  await assert.rejects(client.umount(mnt), code('NOT_FOUND'));
  await client.mount({ reference: 'a', mountpoint: mnt });
  await assert.rejects(client.mount({ reference: 'b', mountpoint: mnt }), code('ALREADY_EXISTS'));
  assert.equal((await client.status()).mounts.length, 1);
  assert.equal(await probeMountpoint(join(dir, 'absent')), 'missing');
});

test('one daemon per state dir; socket is owner-only', async (t) => {
  const { stateDir, start } = await setup(t);
  const first = await start();
  await assert.rejects(createDaemon({ stateDir, host: inProcessHost(fakeBackend(), mountTree, silentLog), log: silentLog }), code('ALREADY_EXISTS'));
  const st = await stat(first.socketPath);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal((await (await DaemonClient.connect(stateDir)).ping()).pid, process.pid, 'the first daemon still answers');
});

test('a restarted daemon restores the recorded mounts', async (t) => {
  const { stateDir, mnt, dir, start } = await setup(t);
  const mnt2 = join(dir, 'mnt2');
  await mkdir(mnt2);
  const a = await start();
  const client = await DaemonClient.connect(stateDir);
  await client.mount({ reference: 'demo/one', mountpoint: mnt, platform: 'linux/amd64' });
  await client.mount({ reference: 'demo/two', mountpoint: mnt2 });
  await a.close();
  await a.close(); // idempotent
  await a.closed;
  assert.equal(await probeMountpoint(mnt), 'dir', 'close unmounts');
  await assert.rejects(DaemonClient.connect(stateDir), code('UNAVAILABLE'));
  assert.equal((await loadRecords(stateDir)).length, 2, 'close keeps the records');

  const b: Daemon = await start();
  await b.restored;
  assert.ok((await listMountpoints()).has(mnt));
  assert.equal((await readFile(join(mnt, 'etc/hostname'), 'utf8')), 'lazysnap\n');
  const s = await (await DaemonClient.connect(stateDir)).status();
  assert.deepEqual(s.mounts.map((m) => [m.reference, m.platform]), [['demo/one', 'linux/amd64'], ['demo/two', undefined]]);
  assert.deepEqual(s.restoreFailures, []);
});

test('a record that cannot be restored is reported and can be dropped with umount', async (t) => {
  const { stateDir, mnt, start } = await setup(t);
  const { saveRecords } = await import('../../src/daemon/mount-records.js');
  await mkdir(stateDir, { recursive: true });
  await saveRecords(stateDir, [{ mountpoint: mnt, reference: 'missing/gone', prefetch: 'none', mountedAt: new Date().toISOString() }]);
  const d = await start();
  await d.restored;
  const client = await DaemonClient.connect(stateDir);
  const s = await client.status();
  assert.equal(s.mounts.length, 0);
  assert.equal(s.restoreFailures.length, 1);
  assert.equal(s.restoreFailures[0]!.error.code, 'NOT_FOUND');
  await client.umount(mnt);
  assert.deepEqual(await loadRecords(stateDir), []);
});

test('shutdown over the socket unmounts and removes the socket', async (t) => {
  const { stateDir, mnt, start } = await setup(t);
  const d = await start();
  const client = await DaemonClient.connect(stateDir);
  await client.mount({ reference: 'demo', mountpoint: mnt });
  await client.shutdown();
  await d.closed;
  assert.equal(await probeMountpoint(mnt), 'dir');
  await assert.rejects(stat(d.socketPath), { code: 'ENOENT' });
});

test('adopt: records only a running server of this state dir; otherwise a coded error and no record', async (t) => {
  const { stateDir, mnt, start } = await setup(t);
  await start();
  const client = await DaemonClient.connect(stateDir);
  const base = { reference: 'demo/app:1', mountpoint: mnt, prefetch: 'none' as const, mountedAt: new Date().toISOString(), serverPid: process.pid };
  // A socket outside STATE/mounts is refused before anything is looked at.
  await assert.rejects(client.adopt({ ...base, serverSocket: '/tmp/elsewhere.sock' }), code('INVALID_ARGUMENT'));
  await assert.rejects(client.adopt({ ...base, serverPid: 0, serverSocket: join(stateDir, 'mounts', 'x.sock') }), code('INVALID_ARGUMENT'));
  // A pid that is no mount server of that socket (the in-process host adopts nothing).
  await assert.rejects(client.adopt({ ...base, serverSocket: join(stateDir, 'mounts', 'x.sock') }), code('FAILED_PRECONDITION'));
  assert.equal((await client.status()).mounts.length, 0);
});

test('adopt: a server\'s handshake report is the answer (the server is not asked again) and is not recorded', async (t) => {
  const md = await mountDir(t, 'lazysnap-daemon-');
  const stateDir = join(md.dir, 'state');
  const serverSocket = join(stateDir, 'mounts', 'x.sock');
  let asked = 0;
  // A host whose every recorded server runs: what the daemon does with an adopted one.
  const host: MountHost = {
    start: async () => { throw new Error('adopt must not start a server'); },
    attach: async (record) => ({
      record,
      report: async () => { asked++; throw new Error('a busy server'); },
      unmount: async () => {},
      release: async () => {},
    }),
    cacheFigures: () => ({ memoryBytes: 0, diskBytes: 0, diskLimitBytes: 0 }),
  };
  const daemon = await createDaemon({ stateDir, host, log: silentLog });
  md.onCleanup(() => daemon.close());
  const client = await DaemonClient.connect(stateDir);
  const base = { reference: 'demo/app:1', mountpoint: md.mnt, prefetch: 'none' as const, mountedAt: new Date().toISOString(), serverPid: process.pid, serverSocket };
  const mount = {
    mountpoint: md.mnt, image: 'fake.registry/demo/app:1', digest: `sha256:${'a'.repeat(64)}`, kind: 'view', bytesFetched: 7,
  } as unknown as MountStatus;
  const readyStats = { mount, cache: { memoryBytes: 1, diskBytes: 2, diskLimitBytes: 3 } };
  assert.deepEqual(await client.adopt({ ...base, readyStats }), mount);
  assert.equal(asked, 0, 'the server was not asked for its report');
  const [record] = await loadRecords(stateDir);
  assert.equal(record?.mountpoint, md.mnt);
  assert.ok(record && !('readyStats' in record), 'the record keeps no report');
  // Without one (an older CLI), the daemon asks the server; a server that fails to answer fails the adopt.
  await client.umount(md.mnt);
  await assert.rejects(client.adopt(base));
  assert.equal(asked, 1);
});
