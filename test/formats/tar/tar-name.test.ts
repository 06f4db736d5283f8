import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf } from '../../../src/errors.js';
import { cleanTarName } from '../../../src/formats/tar/tar-name.js';
import { parseTarNumber } from '../../../src/formats/tar/tar-number.js';
import { base256 } from './tar-build.js';

test('cleanTarName', () => {
  const cases: Array<[string, string]> = [
    ['./a/b', 'a/b'], ['/a//b/', 'a/b'], ['a/./b/../c', 'a/c'], ['./', ''], ['.', ''], ['a/..', ''], ['///', ''],
    // Already clean (the fast path): dots inside or beside other characters are names.
    ['a/b', 'a/b'], ['', ''], ['...', '...'], ['.hidden/..x/x..', '.hidden/..x/x..'], ['a/.../b', 'a/.../b'],
    ['a/b.', 'a/b.'], ['a/b/.', 'a/b'], ['a/./b', 'a/b'],
  ];
  for (const [raw, want] of cases) assert.equal(cleanTarName(raw), want, raw);
  for (const raw of ['..', '../x', 'a/../../x', '/../x', './../etc', 'a\0b']) {
    assert.throws(() => cleanTarName(raw), (e) => codeOf(e) === 'INVALID_ARGUMENT', raw);
  }
  // The entry's name for errors is only built when one is thrown.
  let built = 0;
  const named = () => { built++; return 'entry #7'; };
  assert.equal(cleanTarName('usr/bin/env', named), 'usr/bin/env');
  assert.equal(built, 0);
  assert.throws(() => cleanTarName('../etc', named), /entry #7/);
  assert.equal(built, 1);
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
