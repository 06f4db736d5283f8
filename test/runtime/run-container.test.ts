// Real containers: the debian fixture image unpacked with umoci, bundled with a
// read-only root, run with runc and with crun. Each runtime's cases skip, naming why,
// when the runtime or the fixture layout is missing.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { codeOf } from '../../src/errors.js';
import type { ImageConfig } from '../../src/image/oci-types.js';
import { writeBundle } from '../../src/runtime/bundle.js';
import {
  findRuntime, newContainerId, runContainer, wrapRuntime, type OciRuntime, type RuntimeName,
} from '../../src/runtime/run-container.js';
import { createRuntimeSpec } from '../../src/runtime/runtime-spec.js';
import { tempDir } from '../helpers/tmp.js';

const execFileAsync = promisify(execFile);
const FIXTURES = process.env.LAZYSNAP_FIXTURES ?? '/var/cache/lazysnap-fixtures';
const LAYOUT = join(FIXTURES, 'oci');

let work: string | undefined;
let rootfs: string | undefined;
let fixtureSkip: string | undefined;

before(async () => {
  try {
    await access(join(LAYOUT, 'index.json'));
  } catch {
    fixtureSkip = `no fixture image layout at ${LAYOUT} (run test/fixtures/build-images.sh)`;
    return;
  }
  try {
    await execFileAsync('umoci', ['--version']);
  } catch {
    fixtureSkip = 'umoci is not installed';
    return;
  }
  work = await mkdtemp(join(tmpdir(), 'lazysnap-run-'));
  await execFileAsync('umoci', ['unpack', '--image', `${LAYOUT}:debian`, join(work, 'unpacked')],
    { maxBuffer: 64 * 1024 * 1024 });
  rootfs = join(work, 'unpacked', 'rootfs');
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The named runtime, or undefined after skipping `t` with the reason. */
async function runtimeOrSkip(t: TestContext, name: RuntimeName): Promise<OciRuntime | undefined> {
  if (fixtureSkip) {
    t.skip(fixtureSkip);
    return undefined;
  }
  const found = await findRuntime(name).catch(() => undefined);
  if (found?.name !== name) {
    t.skip(`${name} is not installed`);
    return undefined;
  }
  if (name === 'crun') {
    // crun runs under unshare -m (see wrapRuntime).
    const unshare = await execFileAsync('unshare', ['--version']).catch(() => undefined);
    if (!unshare) {
      t.skip('crun needs unshare (util-linux), which is missing');
      return undefined;
    }
  }
  return found;
}

function debianConfig(fields: NonNullable<ImageConfig['config']>): ImageConfig {
  return { os: 'linux', architecture: 'amd64', config: fields, rootfs: { type: 'layers', diff_ids: [] } };
}

/** A bundle on the unpacked debian root (read-only) and a container id deleted after `t`. */
async function prepare(t: TestContext, runtime: OciRuntime, fields: NonNullable<ImageConfig['config']>, args?: string[]) {
  const spec = await createRuntimeSpec(debianConfig(fields), { rootPath: rootfs as string, ...(args ? { args } : {}) });
  const bundleDir = await writeBundle(join(await tempDir(t, 'lazysnap-bundle-'), 'bundle'), spec);
  const id = newContainerId();
  t.after(async () => {
    // runContainer deletes it; this covers a test that failed before or during the run.
    const [file, argv] = wrapRuntime(runtime, ['delete', '-f', id]);
    await execFileAsync(file, argv).catch(() => undefined);
  });
  return { bundleDir, id };
}

async function listedIds(runtime: OciRuntime): Promise<string> {
  const [file, argv] = wrapRuntime(runtime, ['list']);
  return (await execFileAsync(file, argv)).stdout;
}

/** Waits until the container's process has created `marker` in its own /tmp. */
async function waitForMarker(runtime: OciRuntime, id: string, marker: string): Promise<void> {
  const [file, argv] = wrapRuntime(runtime, ['state', id]);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const state = await execFileAsync(file, argv).then((r) => JSON.parse(r.stdout) as { pid?: number; status?: string },
      () => undefined);
    if (state?.pid && state.status === 'running') {
      const seen = await stat(`/proc/${state.pid}/root${marker}`).then(() => true, () => false);
      if (seen) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`container ${id} never created ${marker}`);
}

for (const name of ['runc', 'crun'] as const) {
  test(`${name}: cat /etc/os-release on a read-only debian root, container deleted after`, async (t) => {
    const runtime = await runtimeOrSkip(t, name);
    if (!runtime) return;
    const { bundleDir, id } = await prepare(t, runtime, { Cmd: ['bash'] }, ['cat', '/etc/os-release']);
    const result = await runContainer({ bundleDir, id, runtime, stdio: 'pipe' });
    assert.equal(result.exitCode, 0, result.stderr?.toString());
    assert.match(result.stdout?.toString() ?? '', /bookworm/);
    assert.ok(!(await listedIds(runtime)).includes(id), `${name} list still shows ${id}`);
  });

  test(`${name}: the exit code is propagated`, async (t) => {
    const runtime = await runtimeOrSkip(t, name);
    if (!runtime) return;
    const { bundleDir, id } = await prepare(t, runtime, { Entrypoint: ['sh', '-c'], Cmd: ['exit 3'] });
    const result = await runContainer({ bundleDir, id, runtime, stdio: 'pipe' });
    assert.equal(result.exitCode, 3, result.stderr?.toString());
    assert.ok(!(await listedIds(runtime)).includes(id));
  });

  test(`${name}: named image user, read-only root, writable /tmp`, async (t) => {
    const runtime = await runtimeOrSkip(t, name);
    if (!runtime) return;
    const script = 'id -u; id -g; touch /probe 2>/dev/null && echo root-writable || echo root-ro; '
      + 'touch /tmp/probe && echo tmp-ok; pwd';
    const { bundleDir, id } = await prepare(t, runtime,
      { User: 'nobody', WorkingDir: '/usr', Cmd: ['sh', '-c', script] });
    const result = await runContainer({ bundleDir, id, runtime, stdio: 'pipe' });
    assert.equal(result.exitCode, 0, result.stderr?.toString());
    assert.deepEqual(result.stdout?.toString().trim().split('\n'), ['65534', '65534', 'root-ro', 'tmp-ok', '/usr']);
  });

  test(`${name}: abort sends SIGTERM to the container, then SIGKILL after the grace period`, async (t) => {
    const runtime = await runtimeOrSkip(t, name);
    if (!runtime) return;
    // A trap: pid 1 ignores SIGTERM without a handler, so exit 7 proves the signal arrived.
    const trapping = await prepare(t, runtime,
      { Cmd: ['sh', '-c', 'trap "exit 7" TERM; touch /tmp/ready; while :; do sleep 0.1; done'] });
    const ac = new AbortController();
    const running = runContainer({ ...trapping, runtime, stdio: 'pipe', signal: ac.signal, killGraceMs: 20_000 });
    await waitForMarker(runtime, trapping.id, '/tmp/ready');
    ac.abort();
    assert.equal((await running).exitCode, 7);
    assert.ok(!(await listedIds(runtime)).includes(trapping.id));

    // No handler: SIGTERM is ignored by pid 1, and the grace period ends in SIGKILL (128 + 9).
    const stubborn = await prepare(t, runtime, { Cmd: ['sh', '-c', 'touch /tmp/ready; exec sleep 60'] });
    const ac2 = new AbortController();
    const started = Date.now();
    const running2 = runContainer({ ...stubborn, runtime, stdio: 'pipe', signal: ac2.signal, killGraceMs: 300 });
    await waitForMarker(runtime, stubborn.id, '/tmp/ready');
    ac2.abort();
    assert.equal((await running2).exitCode, 137);
    assert.ok(Date.now() - started < 50_000, 'SIGKILL came long before sleep 60 ended');
  });
}

test('an already aborted signal starts nothing', async (t) => {
  const dir = await tempDir(t, 'lazysnap-bundle-');
  await assert.rejects(runContainer({
    bundleDir: dir, runtime: { name: 'runc', path: '/nonexistent/runc' }, stdio: 'pipe', signal: AbortSignal.abort(),
  }), { name: 'AbortError' });
});

test('a bad container id or relative bundle is INVALID_ARGUMENT', async () => {
  const runtime: OciRuntime = { name: 'runc', path: '/nonexistent/runc' };
  await assert.rejects(runContainer({ bundleDir: '/tmp', id: '../x', runtime, stdio: 'pipe' }),
    (err) => codeOf(err) === 'INVALID_ARGUMENT');
  await assert.rejects(runContainer({ bundleDir: 'bundle', runtime, stdio: 'pipe' }),
    (err) => codeOf(err) === 'INVALID_ARGUMENT');
});

test('findRuntime: preferred first, the other as fallback, NOT_FOUND naming both', async (t) => {
  const dir = await tempDir(t, 'lazysnap-path-');
  const empty = await tempDir(t, 'lazysnap-path-');
  await assert.rejects(findRuntime(undefined, empty), (err) => {
    assert.equal(codeOf(err), 'NOT_FOUND');
    assert.match((err as Error).message, /crun/);
    assert.match((err as Error).message, /runc/);
    return true;
  });
  const fake = async (name: string, mode: number) => {
    await writeFile(join(dir, name), '#!/bin/sh\n');
    await chmod(join(dir, name), mode);
  };
  await fake('runc', 0o755);
  assert.deepEqual(await findRuntime('crun', dir), { name: 'runc', path: join(dir, 'runc') });
  await fake('crun', 0o644); // not executable: not a runtime
  assert.equal((await findRuntime('crun', `${empty}:relative/dir:${dir}`)).name, 'runc');
  await chmod(join(dir, 'crun'), 0o755);
  assert.equal((await findRuntime('crun', dir)).name, 'crun');
  assert.equal((await findRuntime('runc', dir)).name, 'runc');
  assert.equal((await findRuntime(undefined, dir)).name, 'crun');
});

test('newContainerId: lazysnap-<hex>, unique', () => {
  const ids = new Set(Array.from({ length: 100 }, () => newContainerId()));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^lazysnap-[0-9a-f]{12}$/);
});

test('a runtime binary that does not exist is NOT_FOUND', async (t) => {
  const dir = await tempDir(t, 'lazysnap-bundle-');
  await writeFile(join(dir, 'config.json'), '{}');
  await assert.rejects(runContainer({ bundleDir: dir, runtime: { name: 'runc', path: join(dir, 'no-runc') }, stdio: 'pipe' }),
    (err) => codeOf(err) === 'NOT_FOUND');
});
