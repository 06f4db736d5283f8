// decodeZstdExactly: the WebAssembly reference decoder, used only when the frames decode to
// exactly the size asked for; everything else is undefined (the caller falls back to fzstd),
// never wrong bytes, never a hang, never more than the size written.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { decodeZstdExactly } from '../../src/formats/zstd-frames.js';

const zstd = (b: Buffer, ...flags: string[]) => execFileSync('zstd', ['-q', '-c', ...flags], { input: b });
// Streamed input: the frame does not declare its content size (as skopeo's writer).
const zstdNoSize = (b: Buffer) => execFileSync('sh', ['-c', 'cat | zstd -q -c --no-content-size'], { input: b });

test('frames that decode to exactly the size: decoded, with or without a declared size, several frames', () => {
  const a = Buffer.concat([randomBytes(200_000), Buffer.alloc(300_000, 7)]);
  const b = randomBytes(1234);
  assert.deepEqual(decodeZstdExactly(zstd(a), a.length), a);
  assert.deepEqual(decodeZstdExactly(zstdNoSize(a), a.length), a);
  assert.deepEqual(decodeZstdExactly(Buffer.concat([zstd(a), zstdNoSize(b)]), a.length + b.length), Buffer.concat([a, b]));
});

test('any other size, corrupt or foreign data: undefined', () => {
  const a = randomBytes(50_000);
  const z = zstd(a);
  assert.equal(decodeZstdExactly(z, a.length - 1), undefined); // more data than asked for
  assert.equal(decodeZstdExactly(z, a.length + 1), undefined); // less
  assert.equal(decodeZstdExactly(z, 0), undefined);
  const bad = Buffer.from(z);
  bad[Math.floor(bad.length / 2)]! ^= 0xff;
  assert.equal(decodeZstdExactly(bad, a.length), undefined); // the frame's checksum (zstd's default) fails
  assert.equal(decodeZstdExactly(randomBytes(1000), 500), undefined);
  assert.equal(decodeZstdExactly(z.subarray(0, z.length - 10), a.length), undefined); // cut short
});

test('a bomb stops at the size asked for', () => {
  const bomb = zstd(Buffer.alloc(256 * 1024 * 1024)); // 256 MiB of zeros in a few KB
  assert.ok(bomb.length < 100_000);
  assert.equal(decodeZstdExactly(bomb, 4096), undefined);
});
