// Issue 9's acceptance through the CLI and the real kernel: fixture images mounted from a
// real docker-registry equal `umoci unpack` (tree-digest), a command runs in the mount
// (chroot, and runc/crun via `lazysnap run`), faults behave as documented (registry gone
// mid-read: EIO for those reads only, the mount stays, status counts it, reads recover;
// kill -9 of the daemon: the mount keeps serving, umount still works, the next mount
// works). Always unmounts, and kills the mount servers it started.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.js';
import { FIXTURES_DIR, startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, expectedListing, fixturesMissing, listingDiff, treeDigest } from '../helpers/fixtures.js';
import { alive, killMentioning, waitDead, waitFor } from '../daemon/processes.js';

const run = promisify(execFile);
const skip = fixturesMissing() || (process.getuid?.() !== 0 ? 'mounting needs root here' : false);

interface StatusJson {
  daemon: { pid: number };
  mounts: { mountpoint: string; serverPid: number; bytesFetched: number; requests: number; cacheHits: number; cacheMisses: number; errors: number; layers: { format: string; lazy: boolean }[] }[];
  cache: { memoryBytes: number; diskBytes: number; diskLimitBytes: number };
}

async function status(state: string): Promise<StatusJson> {
  const r = await runCli(['status', '--json'], { stateDir: state });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusJson;
}

async function isMounted(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === path);
}

describe('lazysnap mount', { skip, timeout: 900_000 }, () => {
  let reg: TestRegistry;
  let work: string;
  const refs = new Map<string, string>();
  const states: string[] = [];
  const mounted: string[] = [];

  const newState = (name: string) => {
    const s = join(work, `state-${name}`);
    states.push(s);
    return s;
  };
  async function mountAt(state: string, ref: string, name: string, extra: string[] = []): Promise<string> {
    const mnt = join(work, `mnt-${name}`);
    await mkdir(mnt, { recursive: true });
    const r = await runCli(['mount', ref, mnt, ...extra], { stateDir: state });
    assert.equal(r.code, 0, r.stderr);
    mounted.push(mnt);
    return mnt;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-mount-'));
    reg = await startRegistry();
    for (const tag of ['edge', 'edge-zstdchunked', 'python-zstdchunked']) {
      refs.set(tag, await pushLayout(FIXTURE_LAYOUT, tag, reg, `fixtures/${tag.split('-')[0]}`, tag));
    }
  });
  after(async () => {
    for (const m of mounted) {
      if (await isMounted(m)) await run('fusermount3', ['-u', '-z', m]).catch(() => {});
    }
    for (const s of states) await runCli(['daemon', 'stop', '--all'], { stateDir: s }).catch(() => {});
    for (const s of states) await killMentioning(s); // whatever did not stop
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('edge (gzip, streamed fallback) and edge-zstdchunked mounts equal umoci unpack', async () => {
    const state = newState('edge');
    const expected = await expectedListing('edge');
    for (const tag of ['edge', 'edge-zstdchunked']) {
      const mnt = await mountAt(state, refs.get(tag)!, tag);
      const actual = await treeDigest(mnt);
      assert.ok(actual === expected, `${tag} mount differs:\n${listingDiff(actual, expected)}`);
    }
    const s = await status(state);
    assert.equal(s.mounts.length, 2);
    assert.deepEqual(s.mounts.map((m) => m.layers[0]!.format).sort(), ['gzip', 'zstd-chunked']);
    assert.ok(s.mounts.find((m) => m.layers[0]!.format === 'zstd-chunked')!.layers.every((l) => l.lazy));
    for (const tag of ['edge', 'edge-zstdchunked']) {
      const r = await runCli(['umount', join(work, `mnt-${tag}`)], { stateDir: state });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await isMounted(join(work, `mnt-${tag}`)), false);
    }
  });

  it('mount servers run the lean entry; a second mount is served by the spare the daemon keeps', async () => {
    const state = newState('spare');
    await mountAt(state, refs.get('edge')!, 'spare-1', ['--prefetch', 'none']);
    const first = (await status(state)).mounts[0]!.serverPid;
    // The daemon starts its spare about a second after a mount: `mount-server --spare SOCKET`.
    let spare = 0;
    await waitFor('the daemon\'s spare mount server', async () => {
      for (const name of await readdir('/proc')) {
        const args = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
        if (args.includes(state) && args.includes('--spare')) spare = Number(name);
      }
      return spare > 0;
    }, 30_000);
    await mountAt(state, refs.get('edge-zstdchunked')!, 'spare-2', ['--prefetch', 'none']);
    const s = await status(state);
    assert.equal(s.mounts.find((m) => m.mountpoint.endsWith('mnt-spare-2'))!.serverPid, spare, 'the second mount did not go to the spare');
    for (const pid of [first, spare]) {
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      assert.ok(/mount-server-main\.m?js$/.test(args[1] ?? ''), `server ${pid} runs ${args.join(' ')}`);
      // Its V8 options are set at run time: a V8 flag here would cost node its code cache.
      assert.ok(!args.some((a) => a.endsWith('bin/lazysnap')), `server ${pid} runs the whole CLI: ${args.join(' ')}`);
    }
    // The spare serves the image it was given, all of it.
    const actual = await treeDigest(join(work, 'mnt-spare-2'));
    const expected = await expectedListing('edge');
    assert.ok(actual === expected, `the spare's mount differs:\n${listingDiff(actual, expected)}`);
    for (const n of ['spare-1', 'spare-2']) assert.equal((await runCli(['umount', join(work, `mnt-${n}`)], { stateDir: state })).code, 0);
  });

  it('daemon start starts the control side once, from its lean entry; stop ends it; other actions are refused', async () => {
    const state = newState('daemon-start');
    const first = await runCli(['daemon', 'start'], { stateDir: state });
    assert.equal(first.code, 0, first.stderr);
    const pid = (await status(state)).daemon.pid;
    assert.ok(await alive(pid), `daemon ${pid} is not running`);
    assert.match(first.stdout, new RegExp(`pid ${pid}\\b`));
    // Nothing between node and the entry: V8 flags there would cost node its code cache
    // (the lean heap is set at run time: lean-process.ts, tested in lean-process.test.ts).
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(/daemon-main\.m?js$/.test(cmdline[1] ?? ''), cmdline.join(' '));
    const again = await runCli(['daemon', 'start'], { stateDir: state });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await status(state)).daemon.pid, pid, 'a second start must not start a second daemon');
    const bad = await runCli(['daemon', 'restart'], { stateDir: state });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /daemon restart: the actions are "start" and "stop"/);
    const stop = await runCli(['daemon', 'stop'], { stateDir: state });
    assert.equal(stop.code, 0, stop.stderr);
    await waitDead(pid);
  });

  it('a mount reads the layers `pull --all` stored from the state dir, fetching only the manifest and config', async () => {
    const state = newState('pulled');
    const ref = refs.get('edge-zstdchunked')!;
    const pulled = await runCli(['--quiet', 'pull', '--all', ref], { stateDir: state });
    assert.equal(pulled.code, 0, pulled.stderr);
    // The registry logs a request once it has answered it.
    const manifestGets = async () => (await readFile(join(reg.dir, 'registry.log'), 'utf8'))
      .split('\n').filter((l) => l.includes('"GET /v2/fixtures/edge/manifests/edge-zstdchunked ')).length;
    const before = await manifestGets();
    const mnt = await mountAt(state, ref, 'pulled', ['--prefetch', 'none']);
    // The server asked for the manifest while its engine loaded, and its resolve took that one.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await manifestGets(), before + 1, 'the mount asked for the manifest more than once');
    const actual = await treeDigest(mnt);
    assert.ok(actual === await expectedListing('edge'), 'the mount of stored layers differs from umoci unpack');
    const m = (await status(state)).mounts[0]!;
    assert.ok(m.bytesFetched < 16 * 1024, `${m.bytesFetched} bytes fetched: the layers came over the wire`);
    const r = await runCli(['umount', mnt], { stateDir: state });
    assert.equal(r.code, 0, r.stderr);
  });

  it('python (zstd:chunked) mounts lazily: python3 runs in it after fetching a small part', async () => {
    const state = newState('python');
    const mnt = await mountAt(state, refs.get('python-zstdchunked')!, 'python', ['--prefetch', 'none']);
    const { stdout } = await run('chroot', [mnt, '/usr/bin/python3', '-c', 'import json; print(json.dumps({"ok": 1}))']);
    assert.equal(stdout.trim(), '{"ok": 1}');
    const s = await status(state);
    const m = s.mounts[0]!;
    assert.ok(m.bytesFetched > 0);
    assert.ok(m.bytesFetched < 0.25 * 108 * 1024 * 1024, `fetched ${m.bytesFetched} bytes to import json`);
    assert.equal(m.errors, 0);
    assert.ok(s.cache.diskLimitBytes > 0);
  });

  it('bundle writes a runtime bundle whose read-only root is a lazy mount', async () => {
    const state = newState('bundle');
    const dir = join(work, 'bundle');
    const r = await runCli(['bundle', refs.get('python-zstdchunked')!, dir], { stateDir: state });
    assert.equal(r.code, 0, r.stderr);
    const rootfs = join(dir, 'rootfs');
    mounted.push(rootfs);
    const spec = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { root: { path: string; readonly: boolean }; process: { args: string[] } };
    assert.equal(spec.root.path, rootfs);
    assert.equal(spec.root.readonly, true);
    assert.ok(spec.process.args.length > 0);
    assert.ok(await isMounted(rootfs));
    assert.match(await readFile(join(rootfs, 'etc/os-release'), 'utf8'), /bookworm/);
    assert.equal((await runCli(['umount', rootfs], { stateDir: state })).code, 0);
  });

  for (const runtime of ['runc', 'crun']) {
    it(`lazysnap run executes a command in the image with ${runtime}`, async () => {
      const r = await runCli(['run', '--runtime', runtime, refs.get('python-zstdchunked')!, '--', '/usr/bin/python3', '-c', 'print(6*7)'],
        { stateDir: newState(`run-${runtime}`) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /42/);
      const exit3 = await runCli(['run', '--runtime', runtime, refs.get('python-zstdchunked')!, '--', '/bin/sh', '-c', 'exit 3'],
        { stateDir: newState(`run3-${runtime}`) });
      assert.equal(exit3.code, 3, exit3.stderr);
    });
  }

  it('bad mountpoints get a clear error', async () => {
    const state = newState('bad');
    const ref = refs.get('edge-zstdchunked')!;
    const missing = await runCli(['mount', ref, join(work, 'no-such-dir')], { stateDir: state });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-dir/);
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    const notDir = await runCli(['mount', ref, file], { stateDir: state });
    assert.equal(notDir.code, 1);
    assert.match(notDir.stderr, /a-file/);
    const mnt = await mountAt(state, ref, 'twice');
    const again = await runCli(['mount', ref, mnt], { stateDir: state });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /mnt-twice/);
    assert.equal((await runCli(['umount', mnt], { stateDir: state })).code, 0);
  });

  it('kill -9 of the daemon: the mount keeps serving, umount works, the next mount works', async () => {
    const state = newState('kill');
    const ref = refs.get('edge-zstdchunked')!;
    const mnt = await mountAt(state, ref, 'kill', ['--prefetch', 'none']);
    const before = await status(state);
    const { pid } = before.daemon;
    const server = before.mounts[0]!.serverPid;
    assert.notEqual(server, pid);
    process.kill(pid, 'SIGKILL');
    await waitDead(pid);
    // Served by its own process: reads go on, fetching what was never read before.
    assert.equal((await readFile(join(mnt, 'README'), 'utf8')).trim(), 'lazysnap edge-case fixture image');
    assert.equal((await readFile(join(mnt, 'big/random-20MiB.bin'))).length, 20 * 1024 * 1024);
    // A new daemon (status starts none; mount does) re-attaches to the same server.
    const other = join(work, 'mnt-kill-other');
    await mkdir(other);
    const again = await runCli(['mount', ref, other], { stateDir: state });
    assert.equal(again.code, 0, again.stderr);
    mounted.push(other);
    const after = await status(state);
    const m = after.mounts.find((x) => x.mountpoint === mnt)!;
    assert.equal(m.serverPid, server);
    assert.ok(m.bytesFetched >= 20 * 1024 * 1024 && m.bytesFetched >= before.mounts[0]!.bytesFetched);
    for (const x of [mnt, other]) {
      const um = await runCli(['umount', x], { stateDir: state });
      assert.equal(um.code, 0, um.stderr);
      assert.equal(await isMounted(x), false);
    }
    assert.equal(await alive(server), false);
    // umount with no daemon at all: kill the control side again first.
    const mnt3 = await mountAt(state, ref, 'kill-3');
    process.kill((await status(state)).daemon.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const um3 = await runCli(['umount', mnt3], { stateDir: state });
    assert.equal(um3.code, 0, um3.stderr);
    assert.equal(await isMounted(mnt3), false);
  });

  it('the registry going away: EIO for those reads only, status shows it, reads recover', async () => {
    const state = newState('outage');
    const ref = refs.get('edge-zstdchunked')!;
    const mnt = await mountAt(state, ref, 'outage', ['--prefetch', 'none']);
    assert.match(await readFile(join(mnt, 'README'), 'utf8'), /edge-case/);
    const port = reg.host.split(':')[1]!;
    await run('bash', [join(FIXTURES_DIR, 'registry.sh'), 'stop', reg.dir]);
    try {
      await assert.rejects(readFile(join(mnt, 'big/random-20MiB.bin')), (err: NodeJS.ErrnoException) => err.code === 'EIO');
      // What was read before still reads (cache), and the mount is still there.
      assert.match(await readFile(join(mnt, 'README'), 'utf8'), /edge-case/);
      const s = await status(state);
      assert.ok(s.mounts[0]!.errors > 0, 'status counts the failed reads');
    } finally {
      await run('bash', [join(FIXTURES_DIR, 'registry.sh'), 'start', '--port', port, reg.dir]);
    }
    const data = await readFile(join(mnt, 'big/random-20MiB.bin'));
    assert.equal(data.length, 20 * 1024 * 1024);
    assert.equal((await runCli(['umount', mnt], { stateDir: state })).code, 0);
  });
});
