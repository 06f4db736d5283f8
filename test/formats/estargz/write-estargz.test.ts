import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { codeOf } from '../../../src/errors.js';
import { parseFooter } from '../../../src/formats/estargz/footer.js';
import { writeEstargz } from '../../../src/formats/estargz/write-estargz.js';
import { tempDir } from '../../helpers/tmp.js';
import { header, payload, tarOf } from '../tar/tar-build.js';
import { chunks, estargzOf } from './estargz-of.js';
import { tocOf } from './blob-build.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const isCode = (code: string) => (err: unknown) => codeOf(err) === code;

test('writeEstargz output is a tar.gz that gzip and GNU tar accept, with the same files', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(join(src, 'a/b'), { recursive: true });
  const big = randomBytes(3 * 1024 * 1024 + 5);
  await writeFile(join(src, 'a/big'), big);
  await writeFile(join(src, 'a/b/small'), 'small\n');
  await writeFile(join(src, 'empty'), '');
  const { stdout: tar } = await run('tar', ['-C', src, '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 30 });
  const { blob, result } = await estargzOf(tar, { chunkSize: 1 << 20 });
  const out = join(dir, 'layer.tar.gz');
  await writeFile(out, blob);

  await run('gzip', ['-t', out]);
  const { stdout: listing } = await run('tar', ['-tzf', out]);
  const names = listing.trim().split('\n');
  assert.equal(names[0], '.no.prefetch.landmark', 'no prioritised files: the no-prefetch landmark comes first');
  assert.equal(names[names.length - 1], 'stargz.index.json', 'the TOC is the last entry');
  assert.ok(names.includes('./a/big') && names.includes('./a/b/small') && names.includes('./empty'));
  await mkdir(join(dir, 'x'));
  await run('tar', ['-C', join(dir, 'x'), '-xzf', out]);
  assert.deepEqual(await readFile(join(dir, 'x/a/big')), big);
  assert.equal(await readFile(join(dir, 'x/a/b/small'), 'utf8'), 'small\n');
  assert.deepEqual(await readFile(join(dir, 'x/.no.prefetch.landmark')), Buffer.from([0x0f]));

  const uncompressed = gunzipSync(blob);
  assert.equal(result.diffId, sha256(uncompressed));
  assert.equal(result.uncompressedSize, uncompressed.length);
  assert.equal(result.blobDigest, sha256(blob));
  assert.equal(result.blobSize, blob.length);
  assert.deepEqual(result.missedPrioritizedFiles, []);

  const footer = parseFooter(blob.subarray(-51));
  assert.equal(footer?.footerSize, 51);
  const { toc, tocOffset } = await tocOf(blob);
  assert.equal(footer?.tocOffset, tocOffset);
  assert.equal(gunzipSync(blob.subarray(-51)).length, 0, 'the footer is an empty gzip member');
  // The TOC's JSON digest is what the writer reports.
  const tocTar = gunzipSync(blob.subarray(tocOffset, blob.length - 51));
  const jsonLen = Number.parseInt(tocTar.toString('latin1', 124, 135), 8);
  assert.equal(result.tocDigest, sha256(tocTar.subarray(512, 512 + jsonLen)));

  // big: a reg entry and 3 chunk entries; every chunk starts a gzip member that gunzips alone.
  const bigEntries = toc.entries.filter((e) => e.name === 'a/big');
  assert.deepEqual(bigEntries.map((e) => [e.type, e.chunkOffset ?? 0, e.chunkSize ?? 0]),
    [['reg', 0, 1 << 20], ['chunk', 1 << 20, 1 << 20], ['chunk', 2 << 20, 1 << 20], ['chunk', 3 << 20, 0]]);
  assert.equal(bigEntries[0]!.digest, sha256(big));
  const offsets = bigEntries.map((e) => e.offset as number);
  for (let i = 0; i < offsets.length; i++) {
    const end = i + 1 < offsets.length ? offsets[i + 1]! : tocOffset;
    const member = gunzipSync(blob.subarray(offsets[i], end));
    const piece = big.subarray(i << 20, Math.min(big.length, (i + 1) << 20));
    assert.ok(member.subarray(0, piece.length).equals(piece), `chunk ${i} gunzips alone`);
    assert.equal(bigEntries[i]!.chunkDigest, sha256(piece));
  }
});

test('writeEstargz puts prioritised files (with parents and hardlink targets) first, then .prefetch.landmark', async (t) => {
  const spoolDir = await tempDir(t);
  const tar = tarOf(
    header({ name: 'usr/', type: '5' }),
    header({ name: 'usr/lib/', type: '5' }),
    header({ name: 'usr/lib/libc.so', size: 4 }), payload('libc'),
    header({ name: 'etc/', type: '5' }),
    header({ name: 'etc/passwd', size: 5 }), payload('root\n'),
    header({ name: 'bin/', type: '5' }),
    header({ name: 'bin/sh', type: '1', linkName: 'usr/lib/libc.so' }),
    header({ name: 'stargz.index.json', size: 2 }), payload('{}'),
    header({ name: '.no.prefetch.landmark', size: 1 }), payload(Buffer.from([0x0f])),
  );
  const parts: Buffer[] = [];
  const result = await writeEstargz(chunks(tar, 700), { write: async (c: Uint8Array) => void parts.push(Buffer.from(c)) },
    { prioritizedFiles: ['/etc/passwd', 'bin/sh', 'not/there'], spoolDir });
  assert.deepEqual(await readdir(spoolDir), [], 'the spool is removed');
  assert.deepEqual(result.missedPrioritizedFiles, ['not/there']);
  const { toc } = await tocOf(Buffer.concat(parts));
  assert.deepEqual(toc.entries.map((e) => e.name), [
    'etc', 'etc/passwd', 'bin', 'usr', 'usr/lib', 'usr/lib/libc.so', 'bin/sh', '.prefetch.landmark',
  ], 'old TOC and landmark in the input are dropped');
});

test('writeEstargz writes to a Node stream with backpressure', async (t) => {
  const dir = await tempDir(t);
  const tar = tarOf(header({ name: 'f', size: 300_000 }), payload(randomBytes(300_000)));
  const path = join(dir, 'out.gz');
  const stream = createWriteStream(path, { highWaterMark: 1024 });
  const result = await writeEstargz(chunks(tar), stream, { spoolDir: dir });
  await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const blob = await readFile(path);
  assert.equal(result.blobDigest, sha256(blob));
  await run('gzip', ['-t', path]);
});

test('writeEstargz rejects a bad chunk size, level, or a malformed tar', async (t) => {
  const spoolDir = await tempDir(t);
  const sink = { write: async () => {} };
  const tar = tarOf(header({ name: 'f', size: 1 }), payload('x'));
  await assert.rejects(writeEstargz(chunks(tar), sink, { spoolDir, chunkSize: 0 }), isCode('INVALID_ARGUMENT'));
  await assert.rejects(writeEstargz(chunks(tar), sink, { spoolDir, level: 42 }), isCode('INVALID_ARGUMENT'));
  await assert.rejects(writeEstargz(chunks(tar.subarray(0, 700)), sink, { spoolDir }), isCode('INVALID_ARGUMENT'));
  await assert.rejects(writeEstargz(chunks(tar.subarray(0, 700)), sink, { spoolDir, prioritizedFiles: ['f'] }), isCode('INVALID_ARGUMENT'));
});
