// decodeZstdInChildProcess: the zstd tool decodes a large TOC outside the mount server's
// memory; the answer is the exact bytes or undefined (the caller decodes in-process and
// says why), never wrong bytes, never more than the size asked for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { decodeZstdInChildProcess } from '../../src/formats/zstd-process.js';

const zstd = (b: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: b, maxBuffer: 64 * 1024 * 1024 });

test('frames that decode to exactly the size: the bytes, several frames too', async () => {
  const a = Buffer.concat([randomBytes(1_500_000), Buffer.alloc(2_000_000, 7)]);
  const b = randomBytes(1234);
  assert.deepEqual(await decodeZstdInChildProcess(zstd(a), a.length), a);
  assert.deepEqual(await decodeZstdInChildProcess(Buffer.concat([zstd(a), zstd(b)]), a.length + b.length), Buffer.concat([a, b]));
});

test('any other size, corrupt or foreign data: undefined', async () => {
  const a = randomBytes(200_000);
  const z = zstd(a);
  assert.equal(await decodeZstdInChildProcess(z, a.length - 1), undefined); // more data than asked for
  assert.equal(await decodeZstdInChildProcess(z, a.length + 1), undefined); // less
  assert.equal(await decodeZstdInChildProcess(z, 0), undefined);
  const bad = Buffer.from(z);
  bad[Math.floor(bad.length / 2)]! ^= 0xff;
  assert.equal(await decodeZstdInChildProcess(bad, a.length), undefined); // the frame's checksum fails
  assert.equal(await decodeZstdInChildProcess(randomBytes(1000), 500), undefined);
  assert.equal(await decodeZstdInChildProcess(z.subarray(0, z.length - 10), a.length), undefined); // cut short
});

test('a bomb is stopped at the size asked for', async () => {
  const bomb = zstd(Buffer.alloc(256 * 1024 * 1024)); // 256 MiB of zeros in a few KB
  assert.equal(await decodeZstdInChildProcess(bomb, 4096), undefined);
});
