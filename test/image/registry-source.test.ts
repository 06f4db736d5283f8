// RegistryImageSource against a real registry: resolve, blobs, per-source counters, close.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { codeOf } from '../../src/errors.js';
import { openRegistrySource } from '../../src/image/registry-source.js';
import { RegistryClient } from '../../src/registry/client.js';
import { pushLayout, startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);
let work: string;
let reg: TestRegistry;
let layout: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lazysnap-source-'));
  layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:t`]);
  await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
  await writeFile(join(bundle, 'rootfs', 'data.bin'), randomBytes(64 * 1024));
  await run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
  reg = await startRegistry();
  await pushLayout(layout, 't', reg, 'src/img');
});
after(async () => {
  await reg?.stop();
  await rm(work, { recursive: true, force: true });
});

test('a source resolves, reads blobs and counts its own transfers', async () => {
  const client = new RegistryClient({ dockerConfigDir: join(work, 'docker') });
  try {
    const a = openRegistrySource(`${reg.host}/src/img:t`, { client });
    const b = openRegistrySource(`${reg.host}/src/img:t`, { client });
    const r = await a.resolve();
    const layer = r.manifest.layers[0]!;
    const local = await readFile(join(layout, 'blobs', 'sha256', layer.digest.slice(7)));
    assert.deepEqual(await a.blob(layer).readAt(100, 1000), local.subarray(100, 1100));
    assert.ok(a.counters.requests >= 3);
    assert.ok(a.counters.bytesFetched >= r.manifestBytes.length + r.configBytes.length + 1000);
    assert.deepEqual(b.counters, { bytesFetched: 0, requests: 0 }, 'sources count separately');
    assert.deepEqual(await b.fetchBlob(layer, 1 << 20), local);
    assert.ok(b.counters.bytesFetched >= local.length);
    assert.equal(client.counters.bytesFetched, a.counters.bytesFetched + b.counters.bytesFetched);
    await a.close();
    await a.close();
    // Closing a source made with a shared client leaves the client working.
    assert.deepEqual(await b.blob(layer).readAt(0, 2), local.subarray(0, 2));
  } finally {
    await client.close();
  }
});

test('openRegistrySource: own client closed with the source; oci: and bad references refused', async () => {
  const s = openRegistrySource(`${reg.host}/src/img:missing`, { dockerConfigDir: join(work, 'docker') });
  await assert.rejects(s.resolve(), (e) => codeOf(e) === 'NOT_FOUND');
  await s.close();
  await s.close();
  assert.throws(() => openRegistrySource('oci:/some/layout:t'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => openRegistrySource('Bad Ref'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
