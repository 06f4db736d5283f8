import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { codeOf, unavailable } from '../../src/errors.js';
import { ANNOTATIONS, MEDIA_TYPES, type Descriptor } from '../../src/image/oci-types.js';
import { openLayerIndex } from '../../src/formats/open-layer.js';
import { BufferRangeReader, type RangeReader } from '../../src/formats/range-reader.js';
import { layerIndexSuite } from '../suites/layer-index-suite.js';
import { tempDir } from '../helpers/tmp.js';
import { estargzOf } from './estargz/estargz-of.js';
import { footer51 } from './estargz/blob-build.js';
import { skopeoZstdChunked } from './zstd-chunked/skopeo-layout.js';
import { header, payload, tarOf } from './tar/tar-build.js';

const isCode = (code: string) => (err: unknown) => codeOf(err) === code;
const desc = (mediaType: string, blob: Buffer, annotations?: Record<string, string>): Descriptor => ({
  mediaType, size: blob.length, digest: `sha256:${createHash('sha256').update(blob).digest('hex')}`, ...(annotations ? { annotations } : {}),
});
const TAR = tarOf(header({ name: 'a', size: 3 }), payload('abc'), header({ name: 'b/', type: '5' }));

// The tar reader through the same suite the lazy formats run, chosen by media type.
layerIndexSuite('tar (openLayerIndex)', async (tar) => {
  const opened = await openLayerIndex(desc(MEDIA_TYPES.ociLayerTar, tar), new BufferRangeReader(tar));
  if (opened.kind !== 'indexed') throw new Error(`tar opened as ${opened.kind}`);
  return { index: opened.index, close: async () => {} };
});

test('openLayerIndex: tar media types give the tar index', async () => {
  for (const mt of [MEDIA_TYPES.ociLayerTar, MEDIA_TYPES.dockerLayerTar]) {
    const opened = await openLayerIndex(desc(mt, TAR), new BufferRangeReader(TAR));
    assert.ok(opened.kind === 'indexed' && opened.index.format === 'tar');
  }
});

test('openLayerIndex: eStargz by annotation or by footer; plain gzip streams', async () => {
  const { blob, result } = await estargzOf(TAR);
  for (const annotations of [{ [ANNOTATIONS.estargzTocDigest]: result.tocDigest }, undefined]) {
    const opened = await openLayerIndex(desc(MEDIA_TYPES.ociLayerGzip, blob, annotations), new BufferRangeReader(blob));
    assert.ok(opened.kind === 'indexed' && opened.index.format === 'estargz');
  }
  const docker = await openLayerIndex(desc(MEDIA_TYPES.dockerLayerGzip, blob), new BufferRangeReader(blob));
  assert.equal(docker.kind, 'indexed');
  const plain = gzipSync(TAR);
  assert.deepEqual(await openLayerIndex(desc(MEDIA_TYPES.ociLayerGzip, plain), new BufferRangeReader(plain)),
    { kind: 'stream', format: 'gzip', reason: 'gzip layer without an eStargz TOC' });
});

test('openLayerIndex: a footer look-alike or a TOC that fails its annotation falls back to stream', async () => {
  // A plain tar.gz whose last bytes happen to be a valid eStargz footer pointing at garbage.
  const lookalike = Buffer.concat([gzipSync(TAR), footer51(3)]);
  const opened = await openLayerIndex(desc(MEDIA_TYPES.ociLayerGzip, lookalike), new BufferRangeReader(lookalike));
  assert.equal(opened.kind, 'stream');
  assert.match((opened as { reason: string }).reason, /^gzip layer whose eStargz TOC is unusable: /);
  const { blob } = await estargzOf(TAR);
  const wrong = await openLayerIndex(desc(MEDIA_TYPES.ociLayerGzip, blob, { [ANNOTATIONS.estargzTocDigest]: `sha256:${'1'.repeat(64)}` }), new BufferRangeReader(blob));
  assert.equal(wrong.kind, 'stream');
});

test('openLayerIndex: zstd:chunked by annotation or footer; plain zstd streams', async (t) => {
  const layer = await skopeoZstdChunked(TAR, await tempDir(t));
  for (const annotations of [layer.annotations, undefined]) {
    const opened = await openLayerIndex(desc(MEDIA_TYPES.ociLayerZstd, layer.blob, annotations), new BufferRangeReader(layer.blob));
    assert.ok(opened.kind === 'indexed' && opened.index.format === 'zstd-chunked');
  }
  const plain = execFileSync('zstd', ['-q', '-c'], { input: TAR });
  assert.deepEqual(await openLayerIndex(desc(MEDIA_TYPES.ociLayerZstd, plain), new BufferRangeReader(plain)),
    { kind: 'stream', format: 'zstd', reason: 'zstd layer without a zstd:chunked TOC' });
});

test('openLayerIndex: an unknown media type is INVALID_ARGUMENT; transport errors propagate', async () => {
  await assert.rejects(openLayerIndex(desc('application/vnd.example.squashfs', TAR), new BufferRangeReader(TAR)), isCode('INVALID_ARGUMENT'));
  const failing: RangeReader = { size: 100_000, readAt: async () => { throw unavailable('connection reset'); } };
  await assert.rejects(openLayerIndex(desc(MEDIA_TYPES.ociLayerGzip, TAR), failing), isCode('UNAVAILABLE'));
  await assert.rejects(openLayerIndex(desc(MEDIA_TYPES.ociLayerZstd, TAR), failing), isCode('UNAVAILABLE'));
});
