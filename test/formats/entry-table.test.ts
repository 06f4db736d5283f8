// EntryTable keeps entries and chunk lists in columns: whatever goes in comes back out,
// field for field (rare fields, odd digests and names included).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryTable } from '../../src/formats/entry-table.js';
import type { LayerEntry } from '../../src/formats/layer-entry.js';
import type { ChunkRef } from '../../src/formats/layer-index.js';

const base: LayerEntry = {
  name: '', type: 'reg', size: 0, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, linkName: '', devMajor: 0, devMinor: 0, xattrs: {},
};
const D1 = `sha256:${'ab'.repeat(32)}`;
const D2 = `sha256:${'0f'.repeat(32)}`;

const entries: LayerEntry[] = [
  { ...base, name: 'etc', type: 'dir', mode: 0o1755, uid: 4294967295, gid: 7, mtimeMs: 1700000000123.5 },
  { ...base, name: 'etc/passwd', size: 10, digest: D1 },
  { ...base, name: 'usr/bin/sudo', size: 3, mode: 0o4755, xattrs: { 'security.capability': Buffer.from([1, 2, 3]) } },
  { ...base, name: 'dev/null', type: 'char', devMajor: 1, devMinor: 3, mode: 0o666 },
  { ...base, name: 'lib/ld.so', type: 'symlink', linkName: '../lib64/ld-linux-x86-64.so.2' },
  { ...base, name: 'usr/bin/sudoedit', type: 'hardlink', linkName: 'usr/bin/sudo' },
  { ...base, name: 'home/usér/日本/😀', size: 0 },
  { ...base, name: 'odd', size: 5, digest: 'sha512:not-a-sha256' },
  { ...base, name: 'fifo', type: 'fifo', mode: 0 },
];
const chunkLists = new Map<LayerEntry, ChunkRef[]>([
  [entries[1]!, [{ fileOffset: 0, size: 10, blobOffset: 2 ** 40, blobLength: 30, innerOffset: 0, encoding: 'gzip', digest: D1 }]],
  [entries[2]!, [
    { fileOffset: 0, size: 2, blobOffset: 100, blobLength: 20, innerOffset: 512, encoding: 'zstd', digest: D2 },
    { fileOffset: 2, size: 1, blobOffset: 0, blobLength: 0, innerOffset: 0, encoding: 'zeros' },
  ]],
  [entries[7]!, [{ fileOffset: 0, size: 5, blobOffset: 7, blobLength: 5, innerOffset: 0, encoding: 'none', digest: 'sha256:UPPER' }]],
]);

const fields = (e: LayerEntry) => ({
  name: e.name, type: e.type, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs,
  linkName: e.linkName, devMajor: e.devMajor, devMinor: e.devMinor, xattrs: e.xattrs, digest: e.digest,
});

test('every field of every entry, and every chunk, come back as they went in', () => {
  const table = EntryTable.of(entries, (e) => chunkLists.get(e) ?? []);
  assert.equal(table.length, entries.length);
  entries.forEach((e, i) => {
    assert.deepEqual(fields(table.entry(i)), fields(e), e.name);
    assert.deepEqual(table.chunks(i), chunkLists.get(e) ?? [], e.name);
  });
});

test('chunk lists are new objects each time (callers may keep them)', () => {
  const table = EntryTable.of(entries, (e) => chunkLists.get(e) ?? []);
  assert.notEqual(table.chunks(2), table.chunks(2));
  assert.deepEqual(table.chunks(2), table.chunks(2));
});

test('a chunked index makes its entries on demand: new views each time, each good for chunks()', async () => {
  const { ChunkedLayerIndex } = await import('../../src/formats/estargz/chunked-index.js');
  const files = entries.filter((e) => e.type !== 'hardlink' && (e.type !== 'reg' || e.size === 0 || e.name === 'etc/passwd'));
  const lists = new Map([[files[1]!, [{ fileOffset: 0, size: 10, blobOffset: 0, blobLength: 30, innerOffset: 0, encoding: 'gzip' as const, digest: D1 }]]]);
  const index = new ChunkedLayerIndex('estargz', EntryTable.of(files, (e) => lists.get(e) ?? []), { size: 100, readAt: async () => Buffer.alloc(0) }, { indexBytesRead: 0 });
  const [a, b] = [index.entries(), index.entries()];
  assert.notEqual(a[1], b[1]);
  assert.deepEqual(index.chunks(a[1]!), index.chunks(b[1]!));
  assert.deepEqual(index.chunks(index.entryAt(1)), lists.get(files[1]!));
  assert.equal(index.entryAt(1).name, 'etc/passwd');
  assert.throws(() => index.entryAt(files.length), /entry/);
});
