import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { codeOf } from '../../src/errors.js';
import { FileRangeReader } from '../../src/formats/file-range-reader.js';

test('FileRangeReader: positional reads, range checks, idempotent close', async (t) => {
  const dir = await tempDir(t);
  const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i & 0xff));
  await writeFile(join(dir, 'f'), data);
  const r = await FileRangeReader.open(join(dir, 'f'));
  t.after(() => r.close());
  assert.equal(r.size, 100_000);
  const [a, b] = await Promise.all([r.readAt(5, 10), r.readAt(99_990, 10)]);
  assert.deepEqual(a, data.subarray(5, 15));
  assert.deepEqual(b, data.subarray(99_990));
  assert.equal((await r.readAt(100_000, 0)).length, 0);
  assert.equal(codeOf(await r.readAt(99_995, 6).catch((e) => e)), 'INVALID_ARGUMENT');
  assert.equal(codeOf(await r.readAt(-1, 1).catch((e) => e)), 'INVALID_ARGUMENT');
  await r.close();
  await r.close();
  assert.equal(codeOf(await r.readAt(0, 1).catch((e) => e)), 'FAILED_PRECONDITION');
  assert.equal(codeOf(await FileRangeReader.open(join(dir, 'missing')).catch((e) => e)), 'NOT_FOUND');
  await mkdir(join(dir, 'd'));
  assert.equal(codeOf(await FileRangeReader.open(join(dir, 'd')).catch((e) => e)), 'INVALID_ARGUMENT');
});
