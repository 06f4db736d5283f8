// Micro benchmark: throughput of 1 MiB reads served entirely from the memory chunk cache
// (the warm path of a FUSE read, minus FUSE). Goal: >= 1 GB/s. Prints one JSON line.
// Run: npx tsc -p . && node dist/bench/cache-hit.js [totalMiB]

import { randomBytes } from 'node:crypto';
import { CachedLayerReader } from '../src/cache/cached-layer-reader.js';
import { MemoryChunkStore } from '../src/cache/memory-chunk-store.js';
import { ReadCounters } from '../src/cache/read-counters.js';
import type { LayerEntry } from '../src/formats/layer-entry.js';
import { forEachListedChunk, type ChunkRef, type LayerIndex } from '../src/formats/layer-index.js';
import { BufferRangeReader } from '../src/formats/range-reader.js';

const MiB = 1024 * 1024;
const FILE_BYTES = 64 * MiB;
const CHUNK_BYTES = 256 * 1024; // an eStargz-like chunk size: a 1 MiB read spans 4-5 chunks
const READ_BYTES = MiB;
const totalMiB = Number(process.argv[2] ?? 4096);

const content = randomBytes(FILE_BYTES);
const entry: LayerEntry = {
  name: 'big', type: 'reg', size: FILE_BYTES, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0,
  linkName: '', devMajor: 0, devMinor: 0, xattrs: {},
};
const chunks: ChunkRef[] = [];
for (let off = 0; off < FILE_BYTES; off += CHUNK_BYTES) {
  chunks.push({ fileOffset: off, size: CHUNK_BYTES, blobOffset: off, blobLength: CHUNK_BYTES, innerOffset: 0, encoding: 'none' });
}
const index: LayerIndex = {
  format: 'tar',
  entries: () => [entry],
  entryAt: () => entry,
  chunks: () => chunks,
  forEachChunk: (visit) => forEachListedChunk(index, visit),
  read: async () => Buffer.alloc(0),
  info: { indexBytesRead: 0 },
};
const counters = new ReadCounters();
const reader = new CachedLayerReader({
  index, reader: new BufferRangeReader(content), keyPrefix: 'sha256:bench', store: new MemoryChunkStore(2 * FILE_BYTES), counters,
});

// Warm: every chunk in memory.
for (let off = 0; off < FILE_BYTES; off += READ_BYTES) await reader.read(entry, off, READ_BYTES);
const fetched = counters.bytesFetched;

const reads = Math.max(1, Math.floor((totalMiB * MiB) / READ_BYTES));
let x = 12345;
let checksum = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < reads; i++) {
  x = (x * 1103515245 + 12345) & 0x7fffffff;
  // Unaligned offsets: a read starts mid-chunk, as FUSE reads of real files do.
  const off = (x % (FILE_BYTES - READ_BYTES)) & ~4095;
  const b = await reader.read(entry, off, READ_BYTES);
  checksum ^= b[i % b.length]!;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (counters.bytesFetched !== fetched) throw new Error('benchmark reads were not all cache hits');
const bytes = reads * READ_BYTES;
process.stdout.write(JSON.stringify({
  bench: 'cache-hit', readBytes: READ_BYTES, chunkBytes: CHUNK_BYTES, reads, bytes, seconds: +seconds.toFixed(3),
  gbPerSec: +(bytes / seconds / 1e9).toFixed(2), goalGbPerSec: 1, hits: counters.cacheHits, checksum,
}) + '\n');
