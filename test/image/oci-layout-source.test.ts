// OciLayoutSource over layouts made by umoci: tags, nested indexes, random access,
// streams, counters, and tampered or malformed layouts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { codeOf } from '../../src/errors.js';
import { openOciLayoutSource } from '../../src/image/oci-layout-source.js';
import { MEDIA_TYPES, type Descriptor, type ImageManifest } from '../../src/image/oci-types.js';
import { hostPlatform } from '../../src/image/platform.js';
import { addIndex, addTag, blobFile, makeUmociLayout, readIndex } from '../store/umoci-layout.js';

let work: string;
let layout: string;
let manifestDesc: Descriptor;
let manifest: ImageManifest;
let layer: Descriptor;
const payload = randomBytes(256 * 1024);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lazysnap-ocisrc-'));
  layout = await makeUmociLayout(work, 't', { x: Buffer.from('hi\n'), 'data.bin': payload });
  manifestDesc = (await readIndex(layout)).manifests[0]!;
  manifest = JSON.parse(await readFile(blobFile(layout, manifestDesc.digest), 'utf8')) as ImageManifest;
  layer = manifest.layers[manifest.layers.length - 1]!;
});
after(() => rm(work, { recursive: true, force: true }));

/** A private copy of the umoci layout a test may change. */
async function copyLayout(name: string): Promise<string> {
  const dst = join(work, name);
  await cp(layout, dst, { recursive: true });
  return dst;
}

const is = (code: string) => (e: unknown) => codeOf(e) === code;

describe('resolving', () => {
  it('resolves a umoci image by tag, with verified manifest and config', async () => {
    const src = openOciLayoutSource(layout, 't');
    try {
      const r = await src.resolve();
      assert.equal(r.reference, `oci:${layout}:t`);
      assert.equal(r.digest, manifestDesc.digest);
      assert.equal(r.manifestDigest, manifestDesc.digest);
      assert.deepEqual(r.manifestBytes, await readFile(blobFile(layout, manifestDesc.digest)));
      assert.equal(r.manifest.config.digest, manifest.config.digest);
      assert.deepEqual(r.configBytes, await readFile(blobFile(layout, manifest.config.digest)));
      assert.equal(r.config.rootfs.diff_ids.length, manifest.layers.length);
      assert.equal(r.platform.os, 'linux');
      assert.ok(src.counters.bytesFetched >= r.manifestBytes.length + r.configBytes.length);
    } finally {
      await src.close();
    }
  });

  it('without a tag: the only image; among several, the one tagged latest; else NOT_FOUND naming the tags', async () => {
    const only = openOciLayoutSource(layout, undefined);
    assert.equal((await only.resolve()).manifestDigest, manifestDesc.digest);
    await only.close();

    const two = await copyLayout('two-tags');
    await addTag(two, 'other', manifestDesc);
    await assert.rejects(openOciLayoutSource(two, undefined).resolve(), (e) => is('NOT_FOUND')(e) && /t, other|other, t/.test((e as Error).message));
    await addTag(two, 'latest', manifestDesc);
    assert.equal((await openOciLayoutSource(two, undefined).resolve()).manifestDigest, manifestDesc.digest);
  });

  it('NOT_FOUND for an unknown tag, naming the tags there are; tags match in full', async () => {
    await assert.rejects(openOciLayoutSource(layout, 'nope').resolve(), (e) => is('NOT_FOUND')(e) && /"nope".*\bt\b/.test((e as Error).message));
    await assert.rejects(openOciLayoutSource(layout, 'T').resolve(), is('NOT_FOUND'));
    const prefixed = await copyLayout('prefixed');
    await writeFile(join(prefixed, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': 'docker.io/library/x:t' } }] }));
    await assert.rejects(openOciLayoutSource(prefixed, 't').resolve(), is('NOT_FOUND'));
    assert.equal((await openOciLayoutSource(prefixed, 'docker.io/library/x:t').resolve()).manifestDigest, manifestDesc.digest);
  });

  it('follows nested indexes to the host platform leaf', async () => {
    const nested = await copyLayout('nested');
    const inner = await addIndex(nested, [
      { desc: { ...manifestDesc, annotations: undefined }, platform: { os: 'linux', architecture: 'riscv64' } },
      { desc: { ...manifestDesc, annotations: undefined }, platform: hostPlatform() },
    ]);
    const outer = await addIndex(nested, [
      { desc: inner, platform: hostPlatform() },
      { desc: inner, platform: { os: 'linux', architecture: 'riscv64' } },
    ]);
    await addTag(nested, 'multi', outer);
    const src = openOciLayoutSource(nested, 'multi');
    const r = await src.resolve();
    assert.equal(r.digest, outer.digest, 'digest names the top-level index');
    assert.equal(r.manifestDigest, manifestDesc.digest);
    await assert.rejects(src.resolve({ os: 'linux', architecture: 's390x' }), is('NOT_FOUND'));
    assert.equal((await src.resolve({ os: 'linux', architecture: 'riscv64' })).manifestDigest, manifestDesc.digest);
  });

  it('refuses an index that nests too deep (a loop cannot be built, depth can)', async () => {
    const deep = await copyLayout('deep');
    let d = manifestDesc;
    for (let i = 0; i < 6; i++) d = await addIndex(deep, [{ desc: d, platform: hostPlatform() }]);
    await addTag(deep, 'deep', d);
    await assert.rejects(openOciLayoutSource(deep, 'deep').resolve(), is('INVALID_ARGUMENT'));
  });

  it('NOT_FOUND for a directory that is not a layout', async () => {
    await assert.rejects(openOciLayoutSource(join(work, 'nowhere'), 't').resolve(), is('NOT_FOUND'));
  });
});

describe('blobs', () => {
  it('reads at random, fetches verified, streams from an offset, and counts bytes read', async () => {
    const src = openOciLayoutSource(layout, 't');
    try {
      const file = await readFile(blobFile(layout, layer.digest));
      const before = src.counters.bytesFetched;
      const r = src.blob(layer);
      assert.equal(r.size, layer.size);
      assert.deepEqual(await r.readAt(1000, 5000), file.subarray(1000, 6000));
      assert.equal(src.counters.bytesFetched - before, 5000);
      await assert.rejects(r.readAt(layer.size - 1, 2), is('INVALID_ARGUMENT'));
      assert.deepEqual(await src.fetchBlob(layer, layer.size), file);
      await assert.rejects(src.fetchBlob(layer, layer.size - 1), is('INVALID_ARGUMENT'));
      const chunks: Buffer[] = [];
      for await (const c of await src.openBlobStream(layer, 777)) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), file.subarray(777));
      assert.equal(await text(await src.openBlobStream(layer, layer.size)), '');
      await assert.rejects(src.openBlobStream(layer, layer.size + 1), is('INVALID_ARGUMENT'));
      assert.equal(src.counters.bytesFetched - before, 5000 + file.length + (file.length - 777));
    } finally {
      await src.close();
    }
  });

  it('refuses descriptors whose digest would leave the layout', async () => {
    const src = openOciLayoutSource(layout, 't');
    for (const digest of ['sha256:../../../etc/passwd', '../x', 'sha256:' + 'a'.repeat(64) + '/..', 'md5:abc']) {
      const d = { mediaType: MEDIA_TYPES.ociLayerGzip, digest, size: 10 };
      assert.throws(() => src.blob(d), is('INVALID_ARGUMENT'), digest);
      await assert.rejects(src.fetchBlob(d, 100), is('INVALID_ARGUMENT'), digest);
      await assert.rejects(src.openBlobStream(d), is('INVALID_ARGUMENT'), digest);
    }
    await src.close();
  });

  it('close is idempotent; a closed source refuses work', async () => {
    const src = openOciLayoutSource(layout, 't');
    const r = src.blob(layer);
    await r.readAt(0, 10);
    await src.close();
    await src.close();
    await assert.rejects(r.readAt(0, 10), is('FAILED_PRECONDITION'));
    await assert.rejects(src.resolve(), is('FAILED_PRECONDITION'));
  });
});

describe('tampered layouts', () => {
  it('DIGEST_MISMATCH for changed layer bytes (same size)', async () => {
    const bad = await copyLayout('tampered-layer');
    const path = blobFile(bad, layer.digest);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x55;
    await writeFile(path, bytes);
    const src = openOciLayoutSource(bad, 't');
    await src.resolve(); // documents are intact
    await assert.rejects(src.fetchBlob(layer, layer.size), is('DIGEST_MISMATCH'));
  });

  it('DIGEST_MISMATCH for a truncated layer, before any byte is served', async () => {
    const bad = await copyLayout('truncated-layer');
    await truncate(blobFile(bad, layer.digest), layer.size - 10);
    const src = openOciLayoutSource(bad, 't');
    await assert.rejects(src.blob(layer).readAt(0, 10), is('DIGEST_MISMATCH'));
    await assert.rejects(src.openBlobStream(layer, 0), is('DIGEST_MISMATCH'));
    await assert.rejects(src.fetchBlob(layer, layer.size), is('DIGEST_MISMATCH'));
  });

  it('DIGEST_MISMATCH for a changed config or manifest', async () => {
    for (const which of ['config', 'manifest'] as const) {
      const bad = await copyLayout(`tampered-${which}`);
      const path = blobFile(bad, which === 'config' ? manifest.config.digest : manifestDesc.digest);
      const text = await readFile(path, 'utf8');
      // Same length, different bytes: only the digest can tell.
      await writeFile(path, `${text.slice(0, -1)} `);
      await assert.rejects(openOciLayoutSource(bad, 't').resolve(), is('DIGEST_MISMATCH'), which);
    }
  });
});
