import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CachedLayerReader, READ_AHEAD_QUIET_MS, type CachedLayerReaderOptions } from '../../src/cache/cached-layer-reader.js';
import { chunkKey } from '../../src/cache/chunk-key.js';
import type { ChunkStore } from '../../src/cache/chunk-store.js';
import { DiskChunkStore } from '../../src/cache/disk-chunk-store.js';
import { MemoryChunkStore } from '../../src/cache/memory-chunk-store.js';
import { ReadCounters } from '../../src/cache/read-counters.js';
import { codeOf } from '../../src/errors.js';
import { CountingReader, fakeLayer, pattern, type FakeFile, type FakeLayer } from './fake-layer.js';
import { tempDir } from '../helpers/tmp.js';

const KiB = 1024;

function setup(files: FakeFile[], options: CachedLayerReaderOptions = {}, store: ChunkStore = new MemoryChunkStore(64 << 20)) {
  const layer = fakeLayer(files);
  const blob = new CountingReader(layer.blob);
  const counters = new ReadCounters();
  const reader = new CachedLayerReader({ index: layer.index, reader: blob, keyPrefix: 'sha256:blob', store, counters, options });
  return { layer, blob, counters, reader, store };
}

const read = (s: { layer: FakeLayer; reader: CachedLayerReader }, name: string, off: number, len: number, signal?: AbortSignal) =>
  s.reader.read(s.layer.entry(name), off, len, signal);

/** Requests never overlap: no blob byte is fetched twice. */
function assertNoOverlap(requests: readonly { offset: number; length: number }[]): void {
  const sorted = [...requests].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    assert.ok(sorted[i - 1]!.offset + sorted[i - 1]!.length <= sorted[i]!.offset,
      `requests overlap: ${JSON.stringify(sorted[i - 1])} and ${JSON.stringify(sorted[i])}`);
  }
}

/** n small gzip files of one 8 KiB chunk each, with digests: many chunks to decode in one request. */
const smallGzipFiles = (n: number): FakeFile[] => Array.from({ length: n }, (_, i) => ({
  name: `f${i}`, content: pattern(8 * KiB, i), encoding: 'gzip', chunkBytes: 8 * KiB, digests: true,
}));

/** A memory chunk store that counts what is stored in it. */
function countingStore(): { store: ChunkStore; stored: () => number } {
  const memory = new MemoryChunkStore(64 << 20);
  let stored = 0;
  const store: ChunkStore = Object.assign(Object.create(memory) as ChunkStore, {
    set: (key: string, data: Buffer) => { stored++; return memory.set(key, data); },
  });
  return { store, stored: () => stored };
}

const mixedFiles = (): FakeFile[] => [
  { name: 'plain', content: pattern(100 * KiB + 17, 1), encoding: 'none', chunkBytes: 8 * KiB },
  { name: 'plain-digest', content: pattern(50 * KiB + 3, 2), encoding: 'none', chunkBytes: 4 * KiB, digests: true },
  { name: 'gz', content: pattern(70 * KiB + 5, 3), encoding: 'gzip', chunkBytes: 16 * KiB },
  { name: 'gz-digest', content: pattern(33 * KiB, 4), encoding: 'gzip', chunkBytes: 4 * KiB, digests: true },
  { name: 'gz-inner', content: pattern(20 * KiB + 1, 5), encoding: 'gzip', chunkBytes: 5 * KiB, innerPad: 300, digests: true },
  { name: 'sparse', content: Buffer.alloc(30 * KiB), encoding: 'zeros', chunkBytes: 8 * KiB },
  { name: 'tiny', content: Buffer.from('x'), encoding: 'none', chunkBytes: 4 * KiB },
];

describe('CachedLayerReader', () => {
  it('returns exactly the file bytes for random reads, cold and warm', async () => {
    const s = setup(mixedFiles(), { maxRequestBytes: 32 * KiB, readAheadBytes: 8 * KiB });
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const names = mixedFiles().map((f) => f.name);
    for (let i = 0; i < 300; i++) {
      const name = names[rand(names.length)]!;
      const content = s.layer.content(name);
      const off = rand(content.length + 10);
      const len = rand(40 * KiB);
      const got = await read(s, name, off, len);
      assert.deepEqual(got, content.subarray(off, off + len), `${name} [${off}, +${len})`);
    }
    assert.ok(s.counters.cacheHits > 0 && s.counters.cacheMisses > 0);
    assert.ok(s.blob.bytesRequested <= s.layer.blob.length, 'every blob byte fetched at most once');
    assertNoOverlap(s.blob.requests);
  });

  it('clamps reads at EOF like pread', async () => {
    const s = setup(mixedFiles());
    const content = s.layer.content('plain');
    assert.deepEqual(await read(s, 'plain', content.length - 10, 100), content.subarray(-10));
    assert.equal((await read(s, 'plain', content.length, 100)).length, 0);
    assert.equal((await read(s, 'plain', content.length + 5000, 1)).length, 0);
    assert.equal((await read(s, 'plain', 0, 0)).length, 0);
    assert.deepEqual(await read(s, 'tiny', 0, 4096), Buffer.from('x'));
  });

  it('rejects bad offsets and lengths with INVALID_ARGUMENT', async () => {
    const s = setup(mixedFiles());
    for (const [off, len] of [[-1, 10], [0, -1], [0.5, 1], [0, Number.NaN], [0, 2 ** 60]] as const) {
      await assert.rejects(read(s, 'plain', off, len), (e) => codeOf(e) === 'INVALID_ARGUMENT', `${off},${len}`);
    }
  });

  it('serves zeros chunks without fetching', async () => {
    const s = setup(mixedFiles());
    assert.deepEqual(await read(s, 'sparse', 100, 20 * KiB), Buffer.alloc(20 * KiB));
    assert.equal(s.blob.requests.length, 0);
  });

  it('coalesces adjacent misses into one request, then serves hits', async () => {
    const s = setup([{ name: 'f', content: pattern(32 * KiB, 7), encoding: 'none', chunkBytes: 4 * KiB }], { readAheadBytes: 0 });
    assert.deepEqual(await read(s, 'f', 0, 32 * KiB), s.layer.content('f'));
    assert.equal(s.blob.requests.length, 1);
    assert.deepEqual(s.blob.requests[0], { offset: 0, length: 32 * KiB });
    assert.equal(s.counters.cacheMisses, 8);
    assert.equal(s.counters.requests, 1);
    assert.equal(s.counters.bytesFetched, 32 * KiB);
    assert.deepEqual(await read(s, 'f', 1000, 20 * KiB), s.layer.content('f').subarray(1000, 1000 + 20 * KiB));
    assert.equal(s.blob.requests.length, 1, 'second read served from the cache');
    assert.equal(s.counters.cacheHits, 6);
  });

  it('coalesces misses across a small gap but not a large one', async () => {
    const s = setup([{ name: 'f', content: pattern(64 * KiB, 8), encoding: 'none', chunkBytes: 4 * KiB }],
      { readAheadBytes: 0, coalesceGapBytes: 4 * KiB });
    await read(s, 'f', 4 * KiB, 1); // chunk 1 cached
    await read(s, 'f', 40 * KiB, 1); // chunk 10 cached
    s.blob.requests.length = 0;
    // chunks 0..3 (1 cached: a 4 KiB gap, coalesced) then 8,9 fetched, 10 cached, 11 fetched.
    await read(s, 'f', 0, 16 * KiB);
    assert.deepEqual(s.blob.requests, [{ offset: 0, length: 16 * KiB }]);
  });

  it('respects maxRequestBytes, fetching a larger chunk alone', async () => {
    const s = setup([
      { name: 'small', content: pattern(64 * KiB, 9), encoding: 'none', chunkBytes: 4 * KiB },
      { name: 'big', content: pattern(24 * KiB, 10), encoding: 'none', chunkBytes: 24 * KiB },
    ], { maxRequestBytes: 10 * KiB, readAheadBytes: 8 * KiB });
    assert.deepEqual(await read(s, 'small', 0, 64 * KiB), s.layer.content('small'));
    assert.deepEqual(await read(s, 'big', 0, 24 * KiB), s.layer.content('big'));
    for (const r of s.blob.requests.slice(0, -1)) assert.ok(r.length <= 10 * KiB, `request of ${r.length}`);
    assert.deepEqual(s.blob.requests.at(-1), { offset: 64 * KiB, length: 24 * KiB });
    assertNoOverlap(s.blob.requests);
  });

  it('a demand read of a chunk in a large prefetch request is decoded before the rest of the request', async () => {
    // Hundreds of small gzip files in one request: decoding them all takes many slices.
    const files = smallGzipFiles(600);
    const { store: counting, stored } = countingStore();
    const s = setup(files, { maxRequestBytes: 64 << 20, readAheadBytes: 0 }, counting);
    const prefetch = s.reader.prefetch('all');
    // Asked while the request is under way: the last file of the blob, decoded last in order.
    await new Promise((r) => setImmediate(r));
    let storedWhenRead = -1;
    const last = read(s, 'f599', 0, 8 * KiB).then((b) => { storedWhenRead = stored(); return b; });
    assert.deepEqual(await last, s.layer.content('f599'));
    await prefetch;
    assert.equal(stored(), 600);
    assert.equal(s.blob.requests.length, 1, 'one request for the prefetch and the read');
    assert.ok(storedWhenRead < 300, `the read was answered after ${storedWhenRead} of 600 chunks were decoded`);
  });

  it('a demand read that joins a prefetch request before its bytes arrive is decoded first', async () => {
    const files = smallGzipFiles(600);
    const layer = fakeLayer(files);
    const blob = new CountingReader(layer.blob);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const gated = { size: blob.size, readAt: async (o: number, l: number, sig?: AbortSignal) => { await gate; return blob.readAt(o, l, sig); } };
    const { store: counting, stored } = countingStore();
    const reader = new CachedLayerReader({ index: layer.index, reader: gated, keyPrefix: 'sha256:blob', store: counting,
      counters: new ReadCounters(), options: { maxRequestBytes: 64 << 20, readAheadBytes: 0 } });
    const prefetch = reader.prefetch('all');
    await new Promise((r) => setImmediate(r));
    let storedWhenRead = -1;
    const last = reader.read(layer.entry('f599'), 0, 8 * KiB).then((b) => { storedWhenRead = stored(); return b; });
    await new Promise((r) => setImmediate(r));
    open();
    assert.deepEqual(await last, layer.content('f599'));
    await prefetch;
    assert.equal(blob.requests.length, 1);
    assert.ok(storedWhenRead < 300, `the read was answered after ${storedWhenRead} of 600 chunks were decoded`);
  });

  it('a prefetch with decodeAfter fetches at once and decodes only once it settles, or what a read asks for', async () => {
    const files = smallGzipFiles(40);
    const { store: counting, stored } = countingStore();
    const s = setup(files, { maxRequestBytes: 64 << 20, readAheadBytes: 0 }, counting);
    let open!: () => void;
    const decodeAfter = new Promise<void>((r) => (open = r));
    let prefetched = false;
    const prefetch = s.reader.prefetch('all', undefined, { decodeAfter }).then(() => { prefetched = true; });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(s.blob.requests.length, 1, 'fetched before the gate opened');
    assert.equal(stored(), 0, 'nothing decoded or stored before the gate opened');
    // A read meanwhile gets its chunk from the fetched bytes: no second request, one chunk decoded.
    assert.deepEqual(await read(s, 'f7', 0, 8 * KiB), s.layer.content('f7'));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(s.blob.requests.length, 1);
    assert.equal(stored(), 1);
    assert.equal(prefetched, false, 'the prefetch waits for its gate');
    open();
    await prefetch;
    assert.equal(stored(), files.length);
    for (const f of files) assert.deepEqual(await read(s, f.name, 0, f.content.length), s.layer.content(f.name));
    assert.equal(s.blob.requests.length, 1, 'every byte fetched once');
  });

  it('a prefetch waiting for decodeAfter ends (UNAVAILABLE) when the reader closes', async () => {
    const s = setup(mixedFiles());
    const never = new Promise<void>(() => {});
    const prefetch = s.reader.prefetch('all', undefined, { decodeAfter: never });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.ok(s.blob.requests.length > 0);
    await s.reader.close();
    await assert.rejects(prefetch, (e) => codeOf(e) === 'UNAVAILABLE' || codeOf(e) === 'FAILED_PRECONDITION');
  });

  it('shares one fetch among concurrent misses of the same chunk', async () => {
    const s = setup([{ name: 'f', content: pattern(16 * KiB, 11), encoding: 'gzip', chunkBytes: 16 * KiB, digests: true }]);
    s.blob.hold();
    const reads = Array.from({ length: 10 }, (_, i) => read(s, 'f', i * 100, 1000));
    await new Promise((r) => setTimeout(r, 20));
    s.blob.release();
    const got = await Promise.all(reads);
    got.forEach((b, i) => assert.deepEqual(b, s.layer.content('f').subarray(i * 100, i * 100 + 1000)));
    assert.equal(s.blob.requests.length, 1);
    assert.equal(s.counters.cacheMisses, 10);
    assert.equal(s.counters.requests, 1);
  });

  it('fails with DIGEST_MISMATCH on wrong bytes, caches nothing, and refetches next time', async () => {
    const s = setup([{ name: 'f', content: pattern(8 * KiB, 12), encoding: 'none', chunkBytes: 8 * KiB, digests: true }]);
    s.blob.corrupt = true;
    await assert.rejects(read(s, 'f', 0, 10), (e) => codeOf(e) === 'DIGEST_MISMATCH');
    const key = chunkKey('sha256:blob', s.layer.index.chunks(s.layer.entry('f'))[0]!);
    assert.equal(await s.store.has(key), false);
    await assert.rejects(read(s, 'f', 0, 10), (e) => codeOf(e) === 'DIGEST_MISMATCH');
    assert.equal(s.blob.requests.length, 2, 'not served from a cache');
    s.blob.corrupt = false;
    assert.deepEqual(await read(s, 'f', 0, 8 * KiB), s.layer.content('f'));
    assert.equal(s.blob.requests.length, 3);
  });

  it('never serves corrupt gzip bytes without a digest', async () => {
    const s = setup([{ name: 'f', content: pattern(8 * KiB, 13), encoding: 'gzip', chunkBytes: 8 * KiB }]);
    s.blob.corrupt = true;
    await assert.rejects(read(s, 'f', 0, 10), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  });

  it('reads ahead into the next small files, within readAheadBytes', async () => {
    const files: FakeFile[] = Array.from({ length: 20 }, (_, i) => (
      { name: `f${i}`, content: pattern(1000, 100 + i), encoding: 'gzip', chunkBytes: 4 * KiB, digests: i % 2 === 0 }));
    const s = setup(files, { readAheadBytes: 8 * KiB });
    assert.deepEqual(await read(s, 'f0', 0, 1000), s.layer.content('f0'));
    assert.equal(s.blob.requests.length, 1);
    const fetchedEnd = s.blob.requests[0]!.length;
    assert.ok(fetchedEnd > 1100 && fetchedEnd <= 1100 + 8 * KiB, `request of ${fetchedEnd}`);
    // Files inside the read-ahead come from the cache; one past it needs a request.
    const chunksOf = (n: string) => s.layer.index.chunks(s.layer.entry(n));
    const inside = files.filter((f) => chunksOf(f.name)[0]!.blobOffset + chunksOf(f.name)[0]!.blobLength <= fetchedEnd);
    assert.ok(inside.length >= 5, `${inside.length} files read ahead`);
    for (const f of inside) assert.deepEqual(await read(s, f.name, 0, 1000), f.content);
    assert.equal(s.blob.requests.length, 1, 'no request for files read ahead');
    assert.equal(s.counters.cacheHits, inside.length);
    const next = files[inside.length]!;
    assert.deepEqual(await read(s, next.name, 0, 1000), next.content);
    assert.equal(s.blob.requests.length, 2);
    assertNoOverlap(s.blob.requests);
  });

  it('read-ahead nobody asked for is decoded and stored once the reader is quiet; a read before that takes the held bytes', async () => {
    const files: FakeFile[] = Array.from({ length: 8 }, (_, i) => (
      { name: `f${i}`, content: pattern(1000, 300 + i), encoding: 'gzip', chunkBytes: 4 * KiB, digests: true }));
    const s = setup(files, { readAheadBytes: 64 * KiB });
    const keyOf = (name: string) => chunkKey('sha256:blob', s.layer.index.chunks(s.layer.entry(name))[0]!);
    assert.deepEqual(await read(s, 'f0', 0, 1000), files[0]!.content);
    assert.equal(s.blob.requests.length, 1);
    assert.equal(await s.store.has(keyOf('f0')), true, 'what was asked for is stored at once');
    assert.equal(await s.store.has(keyOf('f7')), false, 'read-ahead is held, not decoded yet');
    // Asked for while held: served from the fetched bytes, counted as a hit, no request.
    assert.deepEqual(await read(s, 'f3', 0, 1000), files[3]!.content);
    assert.equal(s.blob.requests.length, 1);
    assert.equal(s.counters.cacheHits, 1);
    await new Promise((r) => setTimeout(r, READ_AHEAD_QUIET_MS + 200));
    for (const f of files) assert.equal(await s.store.has(keyOf(f.name)), true, `${f.name} stored once quiet`);
    for (const f of files) assert.deepEqual(await read(s, f.name, 0, 1000), f.content);
    assert.equal(s.blob.requests.length, 1);
  });

  it('a demand read is answered from the first bytes of a request while the rest is still coming', async () => {
    const files: FakeFile[] = Array.from({ length: 16 }, (_, i) => (
      { name: `f${i}`, content: pattern(4000, 400 + i), encoding: 'gzip', chunkBytes: 4 * KiB, digests: true }));
    const s = setup(files, { readAheadBytes: 0 });
    const first = s.layer.index.chunks(s.layer.entry('f1'))[0]!;
    s.blob.arriveFirst = first.blobOffset + first.blobLength; // f0 and f1 come, the rest waits
    s.blob.hold();
    const prefetch = s.reader.prefetch('all');
    while (s.blob.requests.length === 0) await new Promise((r) => setImmediate(r));
    const early = (name: string) => Promise.race([read(s, name, 0, 4000),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} waited for the whole request`)), 2000))]);
    assert.deepEqual(await early('f0'), files[0]!.content);
    assert.deepEqual(await early('f1'), files[1]!.content);
    let lastDone = false;
    const last = read(s, 'f15', 0, 4000).then((b) => { lastDone = true; return b; });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lastDone, false, 'a chunk whose bytes have not come waits');
    s.blob.release();
    assert.deepEqual(await last, files[15]!.content);
    await prefetch;
    assert.equal(s.blob.requests.length, 1);
    for (const f of files) assert.deepEqual(await read(s, f.name, 0, 4000), f.content);
    assert.equal(s.blob.requests.length, 1);
  });

  it('read-ahead stops at chunks already cached', async () => {
    const files: FakeFile[] = Array.from({ length: 6 }, (_, i) => (
      { name: `f${i}`, content: pattern(1000, 200 + i), encoding: 'none', chunkBytes: 4 * KiB }));
    const s = setup(files, { readAheadBytes: 64 * KiB });
    await s.reader.read(s.layer.entry('f2'), 0, 10); // caches f2.. onwards
    const after = s.blob.requests.length;
    await read(s, 'f0', 0, 10);
    assert.equal(s.blob.requests.length, after + 1);
    assert.deepEqual(s.blob.requests.at(-1), { offset: 0, length: 2000 }, 'f0 and f1 only');
  });

  it('prefetch and concurrent reads fetch each byte once', async () => {
    const files = mixedFiles();
    const s = setup(files, { maxRequestBytes: 16 * KiB, readAheadBytes: 4 * KiB, maxConcurrentFetches: 2 });
    const reads = files.flatMap((f, i) => [
      read(s, f.name, 0, 5000), read(s, f.name, (i * 7919) % f.content.length, 20 * KiB)]);
    await Promise.all([s.reader.prefetch('all'), ...reads]);
    const results = await Promise.all(reads);
    files.forEach((f, i) => {
      const c = s.layer.content(f.name);
      assert.deepEqual(results[2 * i], c.subarray(0, 5000));
      const off = (i * 7919) % f.content.length;
      assert.deepEqual(results[2 * i + 1], c.subarray(off, off + 20 * KiB));
    });
    assert.ok(s.blob.bytesRequested <= s.layer.blob.length, `${s.blob.bytesRequested} > ${s.layer.blob.length}`);
    assertNoOverlap(s.blob.requests);
    // Bounded, except that a chunk larger than the bound is fetched alone.
    const chunkBlobLengths = files.flatMap((f) => s.layer.index.chunks(s.layer.entry(f.name)).map((c) => c.blobLength));
    for (const r of s.blob.requests) assert.ok(r.length <= 16 * KiB || chunkBlobLengths.includes(r.length), `request of ${r.length}`);
    // Everything is cached now.
    const before = s.blob.requests.length;
    await s.reader.prefetch('all');
    for (const f of files) assert.deepEqual(await read(s, f.name, 0, f.content.length), s.layer.content(f.name));
    assert.equal(s.blob.requests.length, before);
  });

  it('prefetches only the chunks intersecting a blob range', async () => {
    const s = setup([{ name: 'f', content: pattern(40 * KiB, 14), encoding: 'none', chunkBytes: 4 * KiB }]);
    await s.reader.prefetch({ blobOffset: 5 * KiB, blobLength: 4 * KiB }); // chunks 1 and 2
    assert.deepEqual(s.blob.requests, [{ offset: 4 * KiB, length: 8 * KiB }]);
    assert.equal(s.counters.bytesFetched, 8 * KiB);
    await assert.rejects(s.reader.prefetch({ blobOffset: -1, blobLength: 1 }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  });

  it('lets on-demand reads go before queued prefetch requests', async () => {
    const files: FakeFile[] = [
      { name: 'a', content: pattern(64 * KiB, 15), encoding: 'none', chunkBytes: 4 * KiB },
      { name: 'b', content: pattern(4 * KiB, 16), encoding: 'none', chunkBytes: 4 * KiB },
    ];
    const s = setup(files, { maxRequestBytes: 8 * KiB, readAheadBytes: 0, maxConcurrentFetches: 1 });
    s.blob.hold();
    const pf = s.reader.prefetch('all');
    await new Promise((r) => setTimeout(r, 10));
    const r = read(s, 'b', 0, 10);
    await new Promise((r2) => setTimeout(r2, 10));
    s.blob.release();
    await r;
    // Only the first prefetch request was before the read's.
    assert.deepEqual(s.blob.requests[1], { offset: 64 * KiB, length: 4 * KiB });
    await pf;
  });

  it('a caller that aborts stops waiting; the shared fetch goes on for the others', async () => {
    const s = setup([{ name: 'f', content: pattern(8 * KiB, 17), encoding: 'none', chunkBytes: 8 * KiB }]);
    s.blob.hold();
    const ac = new AbortController();
    const quitter = read(s, 'f', 0, 10, ac.signal);
    const stayer = read(s, 'f', 0, 10);
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await assert.rejects(quitter, (e) => codeOf(e) === 'UNAVAILABLE');
    assert.equal(s.blob.signals[0]!.aborted, false);
    s.blob.release();
    assert.deepEqual(await stayer, s.layer.content('f').subarray(0, 10));
  });

  it('aborts a fetch nobody waits for any more, and refetches later', async () => {
    const s = setup([{ name: 'f', content: pattern(8 * KiB, 18), encoding: 'none', chunkBytes: 8 * KiB }]);
    s.blob.hold();
    const ac = new AbortController();
    const p = read(s, 'f', 0, 10, ac.signal);
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await assert.rejects(p, (e) => codeOf(e) === 'UNAVAILABLE');
    assert.equal(s.blob.signals[0]!.aborted, true);
    s.blob.release();
    await assert.rejects(read(s, 'f', 0, 10, AbortSignal.abort()), (e) => codeOf(e) === 'UNAVAILABLE');
    assert.deepEqual(await read(s, 'f', 0, 10), s.layer.content('f').subarray(0, 10));
  });

  it('closes twice and refuses reads afterwards', async () => {
    const s = setup(mixedFiles());
    await s.reader.close();
    await s.reader.close();
    await assert.rejects(read(s, 'plain', 0, 1), (e) => codeOf(e) === 'FAILED_PRECONDITION');
    await assert.rejects(s.reader.prefetch('all'), (e) => codeOf(e) === 'FAILED_PRECONDITION');
  });

  it('checks its options', () => {
    for (const options of [{ maxRequestBytes: 0 }, { maxRequestBytes: 2 ** 40 }, { readAheadBytes: -1 },
      { maxConcurrentFetches: 0 }, { coalesceGapBytes: 1.5 }, { readAheadBytes: 2 ** 40 }]) {
      assert.throws(() => setup(mixedFiles(), options), (e) => codeOf(e) === 'INVALID_ARGUMENT', JSON.stringify(options));
    }
  });

  it('rejects an index whose chunks leave a hole', async () => {
    const s = setup(mixedFiles());
    const entry = s.layer.entry('plain');
    const chunks = s.layer.index.chunks(entry);
    const holed = { ...s.layer.index, chunks: () => chunks.filter((_, i) => i !== 2) };
    const r = new CachedLayerReader({ index: holed, reader: s.blob, keyPrefix: 'sha256:blob', store: s.store, counters: s.counters });
    await assert.rejects(r.read(entry, 0, entry.size), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  });

  it('serves from a disk cache after a restart without fetching', async (t) => {
    const dir = join(await tempDir(t), 'cache');
    const files = mixedFiles();
    const first = setup(files, {}, await DiskChunkStore.open(dir, 16 << 20));
    for (const f of files) await read(first, f.name, 0, f.content.length);
    await first.store.close();
    const second = setup(files, {}, await DiskChunkStore.open(dir, 16 << 20));
    t.after(() => second.store.close());
    for (const f of files) assert.deepEqual(await read(second, f.name, 0, f.content.length), second.layer.content(f.name));
    assert.equal(second.blob.requests.length, 0);
    assert.ok(second.counters.cacheHits > 0);
    assert.equal(second.counters.cacheMisses, 0);
  });
});
