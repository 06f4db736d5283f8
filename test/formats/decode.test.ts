// decodeChunk: members/frames in, at most maxOutput bytes out; corrupt input and bombs
// are INVALID_ARGUMENT, never wrong bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { decodeChunk } from '../../src/formats/decode.js';
import { LIMITS } from '../../src/formats/layer-index.js';
import { isCode } from '../../src/errors.js';

const zstd = (b: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: b });

test('gzip: concatenated members decode; output stops at maxOutput', () => {
  const a = randomBytes(1000);
  const b = randomBytes(500);
  const both = Buffer.concat([gzipSync(a), gzipSync(b)]);
  assert.deepEqual(decodeChunk('gzip', both, 1500), Buffer.concat([a, b]));
  assert.deepEqual(decodeChunk('gzip', both, 1200), Buffer.concat([a, b]).subarray(0, 1200));
});

test('zstd: several frames decode; output stops at maxOutput', () => {
  const a = randomBytes(300_000);
  const b = randomBytes(1000);
  const both = Buffer.concat([zstd(a), zstd(b)]);
  assert.deepEqual(decodeChunk('zstd', both, a.length + b.length), Buffer.concat([a, b]));
  assert.deepEqual(decodeChunk('zstd', both, 1000), a.subarray(0, 1000));
});

test('none and zeros', () => {
  const a = randomBytes(10);
  assert.equal(decodeChunk('none', a, 10), a);
  assert.ok(isCode(catchErr(() => decodeChunk('none', a, 9)), 'INVALID_ARGUMENT'));
  assert.equal(decodeChunk('zeros', a, 10).length, 0);
});

test('corrupt gzip and zstd are INVALID_ARGUMENT', () => {
  const g = gzipSync(randomBytes(5000));
  g[g.length - 6] ^= 0xff; // CRC
  assert.ok(isCode(catchErr(() => decodeChunk('gzip', g, 5000)), 'INVALID_ARGUMENT'));
  const z = zstd(randomBytes(5000));
  assert.ok(isCode(catchErr(() => decodeChunk('zstd', z.subarray(0, z.length - 100), 5000)), 'INVALID_ARGUMENT'));
  assert.ok(isCode(catchErr(() => decodeChunk('gzip', Buffer.from('not gzip at all'), 100)), 'INVALID_ARGUMENT'));
});

test('a gzip bomb past the chunk cap is refused, not buffered', () => {
  const bomb = gzipSync(Buffer.alloc(LIMITS.maxChunkBytes + 1024 * 1024));
  assert.ok(isCode(catchErr(() => decodeChunk('gzip', bomb, 1024)), 'INVALID_ARGUMENT'));
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}
