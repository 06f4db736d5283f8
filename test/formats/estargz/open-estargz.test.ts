import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { codeOf, unavailable } from '../../../src/errors.js';
import { openEstargz } from '../../../src/formats/estargz/open-estargz.js';
import { BufferRangeReader, type RangeReader } from '../../../src/formats/range-reader.js';
import { header, payload, tarOf } from '../tar/tar-build.js';
import { estargzOf } from './estargz-of.js';
import { footer51, legacyFooter, tocOf, withToc } from './blob-build.js';

const isCode = (code: string) => (err: unknown) => codeOf(err) === code;

class CountingReader implements RangeReader {
  reads: Array<[number, number]> = [];
  constructor(private readonly inner: RangeReader, readonly size = inner.size) {}
  readAt(offset: number, length: number): Promise<Buffer> {
    this.reads.push([offset, length]);
    return this.inner.readAt(offset, length);
  }
}

const BIG = randomBytes(2_500_000);
const SAMPLE_TAR = tarOf(
  header({ name: 'dir/', type: '5', mode: 0o750, mtime: 1_700_000_000 }),
  header({ name: 'dir/big', size: BIG.length, mode: 0o644, uid: 1000, gid: 100, mtime: 1_700_000_001 }), payload(BIG),
  header({ name: './dir/small', size: 5 }), payload('hello'),
  header({ name: 'dir/empty', size: 0 }),
  header({ name: 'dir/link', type: '2', linkName: '../elsewhere' }),
  header({ name: 'dir/hard', type: '1', linkName: './dir/small' }),
  header({ name: 'dev/null', type: '3', devMajor: 1, devMinor: 3 }),
);

let sample: Promise<{ blob: Buffer; tocDigest: string }> | undefined;
function sampleBlob() {
  sample ??= estargzOf(SAMPLE_TAR, { chunkSize: 1 << 20 }).then(({ blob, result }) => ({ blob, tocDigest: result.tocDigest }));
  return sample;
}

async function mutated(edit: (entries: Array<Record<string, unknown>>) => void, opts?: Parameters<typeof withToc>[2]) {
  const { blob } = await sampleBlob();
  const { toc } = await tocOf(blob);
  edit(toc.entries);
  return withToc(blob, toc, opts);
}

const entryIndex = (entries: Array<Record<string, unknown>>, name: string) => entries.findIndex((e) => e.name === name);

test('openEstargz maps TOC entries to LayerEntries and reads verified bytes', async () => {
  const { blob, tocDigest } = await sampleBlob();
  const reader = new CountingReader(new BufferRangeReader(blob));
  const index = await openEstargz(reader, { tocDigest, uncompressedSize: 123 });
  assert.equal(index.format, 'estargz');
  assert.deepEqual(reader.reads, [[blob.length - 512 * 1024, 512 * 1024]], 'footer and TOC in one request of the tail');
  assert.equal(index.info.indexBytesRead, 512 * 1024);
  assert.equal(index.info.noPrefetch, true);
  assert.equal(index.info.uncompressedSize, 123);
  const byName = new Map(index.entries().map((e) => [e.name, e]));
  assert.deepEqual([...byName.keys()], ['dir', 'dir/big', 'dir/small', 'dir/empty', 'dir/link', 'dir/hard', 'dev/null'], 'no landmark, no TOC');
  const big = byName.get('dir/big')!;
  assert.deepEqual({ mode: big.mode, uid: big.uid, gid: big.gid, mtimeMs: big.mtimeMs, size: big.size },
    { mode: 0o644, uid: 1000, gid: 100, mtimeMs: 1_700_000_001_000, size: BIG.length });
  assert.equal(big.digest, `sha256:${createHash('sha256').update(BIG).digest('hex')}`);
  assert.equal(byName.get('dir')!.mode, 0o750);
  assert.equal(byName.get('dir/link')!.linkName, '../elsewhere');
  assert.equal(byName.get('dir/hard')!.linkName, 'dir/small', 'hardlink target cleaned');
  assert.deepEqual([byName.get('dev/null')!.type, byName.get('dev/null')!.devMajor, byName.get('dev/null')!.devMinor], ['char', 1, 3]);
  const chunks = index.chunks(big);
  assert.deepEqual(chunks.map((c) => [c.fileOffset, c.size, c.encoding, c.innerOffset]), [[0, 1 << 20, 'gzip', 0], [1 << 20, 1 << 20, 'gzip', 0], [2 << 20, BIG.length - (2 << 20), 'gzip', 0]]);
  for (let i = 0; i < 2; i++) assert.equal(chunks[i]!.blobOffset + chunks[i]!.blobLength, chunks[i + 1]!.blobOffset, 'a member ends where the next begins');
  assert.ok(chunks.every((c) => blob[c.blobOffset] === 0x1f && blob[c.blobOffset + 1] === 0x8b), 'chunks start gzip members');
  assert.deepEqual(await index.read(big, (1 << 20) - 10, 20), BIG.subarray((1 << 20) - 10, (1 << 20) + 10));
  assert.deepEqual(await index.read(byName.get('dir/hard')!, 0, 5), Buffer.from('hello'));
});

test('openEstargz fetches the tail window, then exactly one more request when the TOC starts before it', async () => {
  const { blob, tocDigest } = await sampleBlob();
  const reader = new CountingReader(new BufferRangeReader(blob));
  await openEstargz(reader, { tocDigest, tailWindowBytes: 100 });
  assert.equal(reader.reads.length, 2);
  assert.deepEqual(reader.reads[0], [blob.length - 100, 100]);
});

test('openEstargz reads the legacy 47-byte footer', async () => {
  const { blob } = await sampleBlob();
  const { toc } = await tocOf(blob);
  const rebuilt = await withToc(blob, toc, { legacyFooter: true });
  assert.ok(rebuilt.blob.subarray(-47).equals(legacyFooter(rebuilt.tocOffset)));
  const index = await openEstargz(new BufferRangeReader(rebuilt.blob), { tocDigest: rebuilt.tocDigest });
  assert.equal(index.entries().length, 7);
  const small = index.entries().find((e) => e.name === 'dir/small')!;
  assert.deepEqual(await index.read(small, 0, 5), Buffer.from('hello'));
});

test('openEstargz: TOC digest mismatch vs the annotation is DIGEST_MISMATCH; a malformed one INVALID_ARGUMENT', async () => {
  const { blob } = await sampleBlob();
  await assert.rejects(openEstargz(new BufferRangeReader(blob), { tocDigest: `sha256:${'0'.repeat(64)}` }), isCode('DIGEST_MISMATCH'));
  await assert.rejects(openEstargz(new BufferRangeReader(blob), { tocDigest: 'sha256:xyz' }), isCode('INVALID_ARGUMENT'));
});

test('openEstargz rejects blobs without a footer, corrupt TOC members and non-JSON TOCs', async () => {
  const { blob } = await sampleBlob();
  await assert.rejects(openEstargz(new BufferRangeReader(gzipSync(SAMPLE_TAR))), isCode('INVALID_ARGUMENT'));
  await assert.rejects(openEstargz(new BufferRangeReader(Buffer.alloc(10))), isCode('INVALID_ARGUMENT'));
  const { tocOffset } = await tocOf(blob);
  const corrupt = Buffer.from(blob);
  for (let i = tocOffset + 12; i < blob.length - 60; i += 7) corrupt[i] ^= 0x5a;
  await assert.rejects(openEstargz(new BufferRangeReader(corrupt)), isCode('INVALID_ARGUMENT'));
  const notJson = await withToc(blob, '{"version":1,"entries":[');
  await assert.rejects(openEstargz(new BufferRangeReader(notJson.blob)), isCode('INVALID_ARGUMENT'));
  const wrongName = await withToc(blob, { version: 1, entries: [] }, { tarName: 'other.json' });
  await assert.rejects(openEstargz(new BufferRangeReader(wrongName.blob)), isCode('INVALID_ARGUMENT'));
  const badVersion = await withToc(blob, { version: 2, entries: [] });
  await assert.rejects(openEstargz(new BufferRangeReader(badVersion.blob)), isCode('INVALID_ARGUMENT'));
});

test('openEstargz rejects absurd sizes: a TOC claiming 8 GB, a 10 GB TOC region, a 2^60-byte file, a huge footer offset', async () => {
  const { blob } = await sampleBlob();
  const claims = await withToc(blob, { version: 1, entries: [] }, { claimedSize: 8_000_000_000 });
  await assert.rejects(openEstargz(new BufferRangeReader(claims.blob)), isCode('INVALID_ARGUMENT'));
  // A 10 GB blob whose footer puts the TOC at offset 0: refused before anything is fetched.
  const tail = footer51(0);
  const huge: RangeReader = { size: 10e9, readAt: async (offset, length) => Buffer.concat([Buffer.alloc(length - tail.length), tail]).subarray(0, length + 0 * offset) };
  await assert.rejects(openEstargz(huge), isCode('INVALID_ARGUMENT'));
  const bigFile = await mutated((es) => { es[entryIndex(es, 'dir/small')]!.size = 2 ** 60; });
  await assert.rejects(openEstargz(new BufferRangeReader(bigFile.blob)), isCode('INVALID_ARGUMENT'));
  const farToc = Buffer.concat([blob.subarray(0, blob.length - 51), Buffer.from(footer51(0).toString('latin1').replace('0000000000000000STARGZ', 'ffffffffffffffffSTARGZ'), 'latin1')]);
  await assert.rejects(openEstargz(new BufferRangeReader(farToc)), isCode('INVALID_ARGUMENT'));
});

test('openEstargz rejects entries pointing past the TOC, negative, overlapping or going backwards', async () => {
  const cases: Array<[string, (es: Array<Record<string, unknown>>) => void]> = [
    ['past the TOC', (es) => { es[entryIndex(es, 'dir/small')]!.offset = 10 ** 12; }],
    ['negative', (es) => { es[entryIndex(es, 'dir/small')]!.offset = -5; }],
    ['fractional', (es) => { es[entryIndex(es, 'dir/small')]!.offset = 1.5; }],
    ['overlapping', (es) => { const i = entryIndex(es, 'dir/big'); es[i + 1]!.offset = es[i]!.offset; }],
    ['backwards', (es) => { const i = entryIndex(es, 'dir/small'); es[i]!.offset = 1; }],
    ['chunk gap', (es) => { const i = entryIndex(es, 'dir/big'); es[i + 1]!.chunkOffset = (es[i + 1]!.chunkOffset as number) + 1; }],
    ['chunk after nothing', (es) => { es.unshift({ name: 'x', type: 'chunk', offset: 1 }); }],
    ['unknown type', (es) => { es[0]!.type = 'socket'; }],
    ['bad digest', (es) => { es[entryIndex(es, 'dir/small')]!.chunkDigest = 'md5:abc'; }],
    ['bad xattr', (es) => { es[0]!.xattrs = { 'user.a': '***' }; }],
    ['bad modtime', (es) => { es[0]!.modtime = 'yesterday'; }],
    ['name with ..', (es) => { es[entryIndex(es, 'dir/small')]!.name = '../../etc/passwd'; }],
    ['hardlink with ..', (es) => { es[entryIndex(es, 'dir/hard')]!.linkName = '../outside'; }],
    ['chunk over the cap', (es) => { es[entryIndex(es, 'dir/small')]!.innerOffset = 2 ** 40; }],
  ];
  for (const [what, edit] of cases) {
    const { blob } = await mutated(edit);
    await assert.rejects(openEstargz(new BufferRangeReader(blob)), isCode('INVALID_ARGUMENT'), what);
  }
});

test('a chunk whose content fails its digest is DIGEST_MISMATCH, never bytes', async () => {
  const wrong = `sha256:${createHash('sha256').update('not this').digest('hex')}`;
  const { blob } = await mutated((es) => { const i = entryIndex(es, 'dir/big'); es[i + 1]!.chunkDigest = wrong; });
  const index = await openEstargz(new BufferRangeReader(blob));
  const big = index.entries().find((e) => e.name === 'dir/big')!;
  assert.deepEqual(await index.read(big, 0, 10), BIG.subarray(0, 10), 'other chunks still read');
  await assert.rejects(index.read(big, (1 << 20) + 5, 10), isCode('DIGEST_MISMATCH'));
  // Damaged member bytes: a gzip error or a digest mismatch, never the wrong content.
  const good = await sampleBlob();
  const idx = await openEstargz(new BufferRangeReader(good.blob));
  const c = idx.chunks(idx.entries().find((e) => e.name === 'dir/big')!)[1]!;
  const damaged = Buffer.from(good.blob);
  damaged[c.blobOffset + 1000] ^= 0xff;
  const bad = await openEstargz(new BufferRangeReader(damaged));
  await assert.rejects(bad.read(bad.entries().find((e) => e.name === 'dir/big')!, 1 << 20, 100), (err) => ['DIGEST_MISMATCH', 'INVALID_ARGUMENT'].includes(codeOf(err)));
});

test('landmarks: .prefetch.landmark gives prefetchEnd, neither landmark nor the TOC is listed', async () => {
  const { blob, result } = await estargzOf(SAMPLE_TAR, { prioritizedFiles: ['dir/small'] });
  const index = await openEstargz(new BufferRangeReader(blob), { tocDigest: result.tocDigest });
  const { toc } = await tocOf(blob);
  const landmark = toc.entries.find((e) => e.name === '.prefetch.landmark')!;
  assert.equal(index.info.prefetchEnd, landmark.offset);
  assert.equal(index.info.noPrefetch, undefined);
  assert.deepEqual(index.entries().slice(0, 2).map((e) => e.name), ['dir', 'dir/small']);
  assert.ok(!index.entries().some((e) => e.name.includes('landmark') || e.name === 'stargz.index.json'));
  // The prioritised data lies before the landmark: one request of [0, prefetchEnd) covers it.
  const small = index.entries().find((e) => e.name === 'dir/small')!;
  assert.ok(index.chunks(small).every((c) => c.blobOffset + c.blobLength <= index.info.prefetchEnd!));
});

test('onPrefetchEnd hears the landmark before the index exists; a file of that name elsewhere, or none, says nothing', async () => {
  const { blob, result } = await estargzOf(SAMPLE_TAR, { prioritizedFiles: ['dir/small'] });
  const { toc } = await tocOf(blob);
  const landmark = toc.entries.find((e) => e.name === '.prefetch.landmark')!;
  const heard: number[] = [];
  const index = await openEstargz(new BufferRangeReader(blob), { tocDigest: result.tocDigest, onPrefetchEnd: (end) => heard.push(end) });
  assert.deepEqual(heard, [landmark.offset]);
  assert.equal(index.info.prefetchEnd, landmark.offset);

  // Only the layer's own landmark counts: not a file of that name in a directory.
  toc.entries.find((e) => e.name === '.prefetch.landmark')!.name = 'dir/.prefetch.landmark';
  const renamed = await withToc(blob, toc);
  const none: number[] = [];
  const opened = await openEstargz(new BufferRangeReader(renamed.blob), { onPrefetchEnd: (end) => none.push(end) });
  assert.equal(opened.info.prefetchEnd, undefined);
  assert.deepEqual(none, []);
  const plain = await sampleBlob(); // .no.prefetch.landmark
  const noneEither: number[] = [];
  await openEstargz(new BufferRangeReader(plain.blob), { onPrefetchEnd: (end) => noneEither.push(end) });
  assert.deepEqual(noneEither, []);
});

test('errors of the reader (UNAVAILABLE) propagate as they are', async () => {
  const reader: RangeReader = { size: 1000, readAt: async () => { throw unavailable('registry went away'); } };
  await assert.rejects(openEstargz(reader), isCode('UNAVAILABLE'));
});
