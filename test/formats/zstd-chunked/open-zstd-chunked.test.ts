import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { codeOf } from '../../../src/errors.js';
import { ANNOTATIONS } from '../../../src/image/oci-types.js';
import { BufferRangeReader, type RangeReader } from '../../../src/formats/range-reader.js';
import { openZstdChunked } from '../../../src/formats/zstd-chunked/open-zstd-chunked.js';
import { tempDir } from '../../helpers/tmp.js';
import { header, payload, tarOf } from '../tar/tar-build.js';
import { skopeoZstdChunked } from './skopeo-layout.js';

const isCode = (code: string) => (err: unknown) => codeOf(err) === code;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const zstd = (b: Buffer) => execFileSync('zstd', ['-q', '-c', '-3'], { input: b });

class CountingReader implements RangeReader {
  reads: Array<[number, number]> = [];
  constructor(private readonly inner: RangeReader) {}
  get size() { return this.inner.size; }
  readAt(offset: number, length: number): Promise<Buffer> {
    this.reads.push([offset, length]);
    return this.inner.readAt(offset, length);
  }
}

function skippable(data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a50, 0);
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, data]);
}

function u64s(...values: number[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 8 * i));
  return b;
}

/**
 * A synthetic zstd:chunked blob (the reader needs only frames, TOC and footer): a file
 * `data` split into chunks [data 3000][zeros 5000][data 2000], a one-frame `small`, and
 * whatever the test does to the TOC entries.
 */
function syntheticBlob(edit: (entries: Array<Record<string, unknown>>) => void = () => {}, footer: 'new' | 'legacy' = 'new') {
  const a = randomBytes(3000);
  const z = Buffer.alloc(5000);
  const c = randomBytes(2000);
  const small = Buffer.from('small file\n');
  const frames: Buffer[] = [zstd(Buffer.alloc(512, 1))]; // stands in for tar headers
  let at = frames[0]!.length;
  const place = (b: Buffer) => { const off = at; const f = zstd(b); frames.push(f); at += f.length; return off; };
  const offA = place(a); const offZ = place(z); const offC = place(c); const endData = at;
  const offS = place(small); const endS = at;
  const entries: Array<Record<string, unknown>> = [
    { type: 'dir', name: './', mode: 0o755, modtime: '2023-11-14T22:13:20Z' },
    { type: 'reg', name: './data', size: 10000, mode: 0o600, uid: 1, gid: 2, modtime: '2023-11-14T22:13:20.5+01:00', digest: sha256(Buffer.concat([a, z, c])),
      offset: offA, endOffset: endData, chunkSize: 3000, chunkDigest: sha256(a), xattrs: { 'user.k': Buffer.from('v').toString('base64') } },
    { type: 'chunk', name: './data', chunkOffset: 3000, chunkSize: 5000, offset: offZ, chunkDigest: sha256(z), chunkType: 'zeros' },
    { type: 'chunk', name: './data', chunkOffset: 8000, chunkSize: 2000, offset: offC, chunkDigest: sha256(c) },
    { type: 'reg', name: 'small', size: small.length, digest: sha256(small), offset: offS, endOffset: endS },
    { type: 'hardlink', name: 'small-again', linkName: './small' },
    { type: 'block', name: 'dev/sda', devMajor: 8, devMinor: 0 },
  ];
  edit(entries);
  const json = Buffer.from(JSON.stringify({ version: 1, entries }));
  const compressed = zstd(json);
  const tocOffset = at + 8;
  const parts = [...frames, skippable(compressed)];
  parts.push(skippable(footer === 'new'
    ? Buffer.concat([u64s(tocOffset, compressed.length, json.length, 1, 0, 0, 0), Buffer.from('GNUlInUx')])
    : Buffer.concat([u64s(tocOffset, compressed.length, json.length, 1), Buffer.from('GnUlInUx')])));
  const blob = Buffer.concat(parts);
  const position = `${tocOffset}:${compressed.length}:${json.length}:1`;
  return { blob, content: Buffer.concat([a, z, c]), small, position, checksum: sha256(compressed), offZ };
}

test('openZstdChunked reads positions from the new annotations, maps entries, serves zeros without fetching', async () => {
  const s = syntheticBlob();
  const reader = new CountingReader(new BufferRangeReader(s.blob));
  const index = await openZstdChunked(reader, { annotations: { [ANNOTATIONS.zstdChunkedManifestPosition]: s.position, [ANNOTATIONS.zstdChunkedManifestChecksum]: s.checksum } });
  assert.equal(index.format, 'zstd-chunked');
  assert.equal(reader.reads.length, 1, 'the TOC in one request');
  const byName = new Map(index.entries().map((e) => [e.name, e]));
  assert.deepEqual([...byName.keys()], ['', 'data', 'small', 'small-again', 'dev/sda']);
  const data = byName.get('data')!;
  assert.deepEqual({ mode: data.mode, uid: data.uid, gid: data.gid, mtimeMs: data.mtimeMs, x: data.xattrs['user.k']?.toString() },
    { mode: 0o600, uid: 1, gid: 2, mtimeMs: Date.UTC(2023, 10, 14, 21, 13, 20, 500), x: 'v' });
  assert.deepEqual(index.chunks(data).map((c) => [c.fileOffset, c.size, c.encoding]), [[0, 3000, 'zstd'], [3000, 5000, 'zeros'], [8000, 2000, 'zstd']]);
  reader.reads = [];
  assert.deepEqual(await index.read(data, 0, data.size), s.content);
  assert.ok(!reader.reads.some(([off]) => off === s.offZ), 'the zeros chunk is not fetched');
  assert.deepEqual(await index.read(byName.get('small-again')!, 0, s.small.length), s.small);
  assert.deepEqual([byName.get('dev/sda')!.type, byName.get('dev/sda')!.devMajor], ['block', 8]);
});

test('openZstdChunked falls back to the footer, new (64-byte) and legacy (40-byte)', async () => {
  for (const footer of ['new', 'legacy'] as const) {
    const s = syntheticBlob(undefined, footer);
    const index = await openZstdChunked(new BufferRangeReader(s.blob));
    const data = index.entries().find((e) => e.name === 'data')!;
    assert.deepEqual(await index.read(data, 2990, 20), s.content.subarray(2990, 3010), footer);
  }
});

test('openZstdChunked: TOC checksum mismatch is DIGEST_MISMATCH; bad positions INVALID_ARGUMENT', async () => {
  const s = syntheticBlob();
  const reader = new BufferRangeReader(s.blob);
  const legacy = (position: string, checksum = s.checksum) => ({ [ANNOTATIONS.legacyZstdChunkedManifestPosition]: position, [ANNOTATIONS.legacyZstdChunkedManifestChecksum]: checksum });
  await openZstdChunked(reader, { annotations: legacy(s.position) });
  await assert.rejects(openZstdChunked(reader, { annotations: legacy(s.position, sha256(Buffer.from('x'))) }), isCode('DIGEST_MISMATCH'));
  const [off, len, ulen] = s.position.split(':').map(Number) as [number, number, number];
  for (const bad of [`${off}:${len}:${ulen}:2`, `${off}:${len}`, `-1:${len}:${ulen}:1`, `${s.blob.length}:${len}:${ulen}:1`,
    `${off}:${len}:${10e9}:1`, `${off}:${len}:${ulen - 1}:1`, `${off}:${len}:${ulen + 1}:1`, '99999999999999999:1:1:1']) {
    await assert.rejects(openZstdChunked(reader, { annotations: legacy(bad, undefined as unknown as string) }), isCode('INVALID_ARGUMENT'), bad);
  }
  await assert.rejects(openZstdChunked(new BufferRangeReader(zstd(Buffer.alloc(1000)))), isCode('INVALID_ARGUMENT'), 'plain zstd');
});

test('openZstdChunked rejects hostile TOC entries', async () => {
  const cases: Array<[string, (es: Array<Record<string, unknown>>) => void]> = [
    ['name with ..', (es) => { es[4]!.name = '../../x'; }],
    ['endOffset past the TOC', (es) => { es[4]!.endOffset = 10 ** 9; }],
    ['2^60-byte file', (es) => { es[4]!.size = 2 ** 60; }],
    ['overlapping files', (es) => { es[4]!.offset = es[1]!.offset; }],
    ['chunk gap', (es) => { es[3]!.chunkOffset = 8001; }],
    ['chunks out of order', (es) => { es[3]!.offset = 1; }],
    ['unknown chunkType', (es) => { es[2]!.chunkType = 'holes'; }],
    ['chunk after nothing', (es) => { es.splice(1, 0, { type: 'chunk', name: 'x', offset: 5 }); }],
    ['negative uid', (es) => { es[1]!.uid = -1; }],
  ];
  for (const [what, edit] of cases) {
    const s = syntheticBlob(edit);
    await assert.rejects(openZstdChunked(new BufferRangeReader(s.blob)), isCode('INVALID_ARGUMENT'), what);
  }
});

test('a zstd:chunked chunk that fails its digest is DIGEST_MISMATCH', async () => {
  const s = syntheticBlob((es) => { es[3]!.chunkDigest = sha256(Buffer.from('other')); es[4]!.digest = sha256(Buffer.from('other')); });
  const index = await openZstdChunked(new BufferRangeReader(s.blob));
  const data = index.entries().find((e) => e.name === 'data')!;
  assert.deepEqual(await index.read(data, 0, 100), s.content.subarray(0, 100));
  await assert.rejects(index.read(data, 8500, 10), isCode('DIGEST_MISMATCH'));
  await assert.rejects(index.read(index.entries().find((e) => e.name === 'small')!, 0, 1), isCode('DIGEST_MISMATCH'));
});

test('openZstdChunked reads a skopeo-written layer (legacy annotations) the same via annotations and footer', async (t) => {
  const dir = await tempDir(t);
  const big = randomBytes(1_500_000);
  const tar = tarOf(header({ name: 'd/', type: '5' }), header({ name: 'd/big', size: big.length }), payload(big), header({ name: 'd/s', size: 2 }), payload('hi'));
  const layer = await skopeoZstdChunked(tar, dir);
  assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  const viaAnnotations = await openZstdChunked(new BufferRangeReader(layer.blob), { annotations: layer.annotations });
  const viaFooter = await openZstdChunked(new BufferRangeReader(layer.blob));
  assert.deepEqual(viaAnnotations.entries(), viaFooter.entries());
  const e = viaFooter.entries().find((x) => x.name === 'd/big')!;
  assert.ok(viaFooter.chunks(e).length > 1, 'skopeo splits big files into chunks');
  assert.deepEqual(await viaFooter.read(e, 0, e.size), big);
});
