import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { tempDir } from '../../helpers/tmp.js';
import { codeOf } from '../../../src/errors.js';
import { openStreamedIndex, type StreamedIndexOptions } from '../../../src/formats/streamed/open-streamed-index.js';
import { collect, header, payload, tarOf } from '../tar/tar-build.js';

const run = promisify(execFile);

function sampleTar(): { tar: Buffer; big: Buffer } {
  const big = randomBytes(2_300_000);
  const tar = tarOf(
    header({ name: 'etc', type: '5', mode: 0o755 }),
    header({ name: 'etc/hosts', size: 10 }), payload('127.0.0.1\n'),
    header({ name: 'big', size: big.length }), payload(big),
    header({ name: 'big-link', type: '1', linkName: 'big' }),
  );
  return { tar, big };
}

async function zstdOf(dir: string, data: Buffer): Promise<Buffer> {
  await writeFile(join(dir, 'in'), data);
  // Small blocks of input per frame make several frames: fzstd must handle the chain.
  await run('zstd', ['-q', '-3', '-f', '-o', join(dir, 'in.zst'), join(dir, 'in')]);
  const { stdout } = await run('cat', [join(dir, 'in.zst')], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A source that yields `blob` in 64 KiB pieces and counts how often it was opened. */
function source(blob: Buffer) {
  const s = {
    opens: 0,
    async openStream(offset: number): Promise<AsyncIterable<Uint8Array>> {
      assert.equal(offset, 0);
      s.opens++;
      return (async function* () {
        for (let i = 0; i < blob.length; i += 65536) yield blob.subarray(i, i + 65536);
      })();
    },
  };
  return s;
}

for (const format of ['gzip', 'zstd'] as const) {
  test(`openStreamedIndex ${format}: local copy, entries, reads, reopen without refetch`, async (t) => {
    const dir = await tempDir(t);
    const { tar, big } = sampleTar();
    // Two gzip members back to back: createGunzip must read both.
    const blob = format === 'gzip' ? Buffer.concat([gzipSync(tar.subarray(0, 5000)), gzipSync(tar.subarray(5000))]) : await zstdOf(dir, tar);
    const src = source(blob);
    const opts: StreamedIndexOptions = { format, openStream: src.openStream, blobDigest: digestOf(blob), localDir: join(dir, 'local') };
    let progress = 0;
    const index = await openStreamedIndex({ ...opts, onProgress: (u) => (progress = u) });
    t.after(() => index.close());
    assert.equal(index.format, format);
    assert.equal(progress, tar.length);
    assert.deepEqual(index.entries(), (await collect([tar])).map((c) => c.entry));
    assert.equal(index.localReader.size, tar.length);
    const bigEntry = index.entries().find((e) => e.name === 'big')!;
    assert.deepEqual(await index.read(bigEntry, 2_000_000, 300_000), big.subarray(2_000_000));
    const chunks = index.chunks(bigEntry);
    assert.equal(chunks.length, 3);
    assert.deepEqual(await index.localReader.readAt(chunks[1]!.blobOffset, 10), big.subarray(1 << 20, (1 << 20) + 10));
    const link = index.entries().find((e) => e.name === 'big-link')!;
    assert.deepEqual(index.chunks(link), chunks);

    const again = await openStreamedIndex(opts);
    t.after(() => again.close());
    assert.equal(src.opens, 1, 'reopen must not refetch');
    assert.deepEqual(again.entries(), index.entries());
    const bigAgain = again.entries().find((e) => e.name === 'big')!;
    assert.deepEqual(await again.read(bigAgain, 0, 100), big.subarray(0, 100));
    assert.equal(codeOf(await again.read(bigAgain, big.length, 1).catch((e) => e)), 'INVALID_ARGUMENT', 'read past the end');
  });
}

async function failsWith(opts: StreamedIndexOptions, dir: string): Promise<string> {
  const err = await openStreamedIndex(opts).then((i) => { void i.close(); return undefined; }, (e) => e);
  // Whatever the failure, no partial file may stay behind.
  const left = await readdir(dir).catch(() => []);
  assert.deepEqual(left.filter((n) => n.includes('.tmp-') || n.endsWith('.tar')), [], `left behind: ${left}`);
  return err === undefined ? 'OK' : codeOf(err);
}

test('openStreamedIndex: wrong digest, truncated stream, bomb', async (t) => {
  const dir = await tempDir(t);
  const local = join(dir, 'local');
  const { tar } = sampleTar();
  const gz = gzipSync(tar);
  const zst = await zstdOf(dir, tar);
  assert.equal(await failsWith({ format: 'gzip', openStream: source(gz).openStream, blobDigest: digestOf(Buffer.from('other')), localDir: local }, local), 'DIGEST_MISMATCH');
  const cut = gz.subarray(0, gz.length - 1000);
  assert.equal(await failsWith({ format: 'gzip', openStream: source(cut).openStream, blobDigest: digestOf(cut), localDir: local }, local), 'INVALID_ARGUMENT');
  const zcut = zst.subarray(0, zst.length - 100);
  assert.equal(await failsWith({ format: 'zstd', openStream: source(zcut).openStream, blobDigest: digestOf(zcut), localDir: local }, local), 'INVALID_ARGUMENT');
  const bomb = gzipSync(Buffer.alloc(64 << 20));
  assert.ok(bomb.length < 100_000);
  assert.equal(await failsWith({ format: 'gzip', openStream: source(bomb).openStream, blobDigest: digestOf(bomb), localDir: local, maxUncompressedBytes: 1 << 20 }, local), 'INVALID_ARGUMENT');
  assert.equal(await failsWith({ format: 'gzip', openStream: source(gz).openStream, blobDigest: 'md5:abc', localDir: local }, local), 'INVALID_ARGUMENT');
  // A source that fails mid-way keeps its own error class.
  const failing: StreamedIndexOptions['openStream'] = async () => (async function* () {
    yield gz.subarray(0, 1000);
    throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
  })();
  assert.equal(await failsWith({ format: 'gzip', openStream: failing, blobDigest: digestOf(gz), localDir: local }, local), 'UNAVAILABLE');
  // And after all that, a good open still works in the same directory.
  assert.equal(await failsWith({ format: 'gzip', openStream: source(gz).openStream, blobDigest: digestOf(gz), localDir: join(dir, 'other') }, join(dir, 'nothing')), 'OK');
});
