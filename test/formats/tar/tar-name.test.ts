import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf } from '../../../src/errors.js';
import { cleanTarName } from '../../../src/formats/tar/tar-name.js';
import { parseTarNumber } from '../../../src/formats/tar/tar-number.js';
import { base256 } from './tar-build.js';

test('cleanTarName', () => {
  const cases: Array<[string, string]> = [
    ['./a/b', 'a/b'], ['/a//b/', 'a/b'], ['a/./b/../c', 'a/c'], ['./', ''], ['.', ''], ['a/..', ''], ['///', ''],
  ];
  for (const [raw, want] of cases) assert.equal(cleanTarName(raw), want, raw);
  for (const raw of ['..', '../x', 'a/../../x', '/../x', './../etc']) {
    assert.throws(() => cleanTarName(raw), (e) => codeOf(e) === 'INVALID_ARGUMENT', raw);
  }
});

test('parseTarNumber: octal, base-256, limits', () => {
  assert.equal(parseTarNumber(Buffer.from('0000644\0'), 'mode'), 0o644);
  assert.equal(parseTarNumber(Buffer.from('  755 \0\0'), 'mode'), 0o755);
  assert.equal(parseTarNumber(Buffer.alloc(8), 'uid'), 0);
  assert.equal(parseTarNumber(base256(3_000_000n, 8), 'uid'), 3_000_000);
  assert.equal(parseTarNumber(base256(2n ** 40n, 12), 'size'), 2 ** 40);
  const minusOne = Buffer.alloc(12, 0xff);
  assert.equal(parseTarNumber(minusOne, 'mtime', true), -1);
  assert.throws(() => parseTarNumber(minusOne, 'size'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseTarNumber(base256(2n ** 80n, 12), 'size'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseTarNumber(Buffer.from('12x4\0'), 'size'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.throws(() => parseTarNumber(Buffer.from('0009\0'), 'size'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
