import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { codeOf } from '../../../src/errors.js';
import { BufferRangeReader, type RangeReader } from '../../../src/formats/range-reader.js';
import { openTarIndex } from '../../../src/formats/tar/open-tar-index.js';
import { collect, header, payload, tarOf } from './tar-build.js';

/** Counts the Range reads and bytes a scan makes. */
class CountingReader implements RangeReader {
  reads = 0;
  bytes = 0;
  constructor(private readonly inner: RangeReader) {}
  get size() {
    return this.inner.size;
  }
  readAt(offset: number, length: number): Promise<Buffer> {
    this.reads++;
    this.bytes += length;
    return this.inner.readAt(offset, length);
  }
}

function sampleTar(): { tar: Buffer; bigs: Buffer[] } {
  const parts: Buffer[] = [];
  const bigs = [randomBytes(3 * 1024 * 1024 + 17), randomBytes(1024 * 1024), randomBytes(2_500_000)];
  bigs.forEach((b, i) => {
    parts.push(header({ name: `big/${i}`, size: b.length }), payload(b));
    for (let j = 0; j < 40; j++) parts.push(header({ name: `small/${i}/${j}`, size: 100 + j }), payload(Buffer.alloc(100 + j, j)));
  });
  parts.push(header({ name: 'big/link', type: '1', linkName: 'big/0' }), header({ name: 'empty', size: 0 }), header({ name: 'dir', type: '5' }));
  return { tar: tarOf(...parts), bigs };
}

test('openTarIndex: entries equal parseTarStream, reads are right, headers only are fetched', async () => {
  const { tar, bigs } = sampleTar();
  const reader = new CountingReader(new BufferRangeReader(tar));
  const index = await openTarIndex(reader);
  const streamed = await collect([tar]);
  assert.equal(index.format, 'tar');
  assert.deepEqual(index.entries(), streamed.map((s) => s.entry));
  // 3 big payloads force a fresh window each; small files share 64 KiB windows.
  assert.ok(reader.reads <= 3 + Math.ceil((3 * 40 * 1024) / 65536) + 4, `${reader.reads} range reads`);
  assert.ok(reader.bytes < tar.length / 4, `${reader.bytes} of ${tar.length} bytes read`);
  assert.equal(index.info.indexBytesRead, reader.bytes);

  const entries = index.entries();
  const big0 = entries.find((e) => e.name === 'big/0')!;
  const chunks = index.chunks(big0);
  assert.deepEqual(chunks.map((c) => c.size), [1 << 20, 1 << 20, 1 << 20, 17]);
  assert.ok(chunks.every((c, i) => c.fileOffset === i << 20 && c.encoding === 'none' && c.blobLength === c.size));
  assert.deepEqual(tar.subarray(chunks[3]!.blobOffset, chunks[3]!.blobOffset + 17), bigs[0]!.subarray(3 << 20));
  assert.deepEqual(await index.read(big0, 1000, 5000), bigs[0]!.subarray(1000, 6000));
  const link = entries.find((e) => e.name === 'big/link')!;
  assert.deepEqual(index.chunks(link), chunks, 'a hardlink reads its target');
  assert.deepEqual(await index.read(link, 0, 10), bigs[0]!.subarray(0, 10));
  const small = entries.find((e) => e.name === 'small/2/39')!;
  assert.deepEqual(await index.read(small, 0, 139), Buffer.alloc(139, 39));
  assert.deepEqual(index.chunks(entries.find((e) => e.name === 'empty')!), []);
  assert.deepEqual(index.chunks(entries.find((e) => e.name === 'dir')!), []);
  assert.equal(codeOf(await index.read(small, 100, 40).catch((e) => e)), 'INVALID_ARGUMENT', 'read past the file');
});

test('openTarIndex: a truncated tar is INVALID_ARGUMENT', async () => {
  const { tar } = sampleTar();
  const err = await openTarIndex(new BufferRangeReader(tar.subarray(0, 2_000_000))).catch((e) => e);
  assert.equal(codeOf(err), 'INVALID_ARGUMENT');
  assert.match(String(err.message), /truncated/);
});
