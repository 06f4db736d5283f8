import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { codeOf } from '../../../src/errors.js';
import { encodeFooter, FOOTER_SIZE, LEGACY_FOOTER_SIZE, parseFooter } from '../../../src/formats/estargz/footer.js';
import { footer51, legacyFooter } from './blob-build.js';

test('encodeFooter writes the 51 bytes estargz.md spells out, an empty gzip member', () => {
  for (const offset of [0, 1, 0x1234, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
    const f = encodeFooter(offset);
    assert.equal(f.length, FOOTER_SIZE);
    assert.deepEqual(f, footer51(offset));
    assert.equal(gunzipSync(f).length, 0);
    assert.deepEqual(parseFooter(f), { tocOffset: offset, footerSize: 51 });
  }
  assert.equal(encodeFooter(0x1234).toString('hex'),
    '1f8b08040000000000ff1a0053471600' + Buffer.from('0000000000001234STARGZ').toString('hex') + '010000ffff0000000000000000');
  assert.throws(() => encodeFooter(-1), (err) => codeOf(err) === 'INVALID_ARGUMENT');
});

test('parseFooter reads the legacy 47-byte footer, after any leading bytes', () => {
  const f = legacyFooter(777);
  assert.equal(f.length, LEGACY_FOOTER_SIZE);
  assert.equal(gunzipSync(f).length, 0, 'a valid gzip member too');
  assert.deepEqual(parseFooter(f), { tocOffset: 777, footerSize: 47 });
  assert.deepEqual(parseFooter(Buffer.concat([Buffer.alloc(100, 9), f])), { tocOffset: 777, footerSize: 47 });
});

test('parseFooter ignores look-alikes and rejects offsets beyond a safe integer', () => {
  const good = footer51(5);
  const broken = (at: number, byte: number) => { const b = Buffer.from(good); b[at] = byte; return b; };
  assert.equal(parseFooter(broken(0, 0x1e)), undefined, 'gzip magic');
  assert.equal(parseFooter(broken(3, 0x00)), undefined, 'no FEXTRA');
  assert.equal(parseFooter(broken(10, 27)), undefined, 'XLEN');
  assert.equal(parseFooter(broken(12, 0x41)), undefined, 'subfield id');
  assert.equal(parseFooter(broken(20, 0x67)), undefined, 'not hex');
  assert.equal(parseFooter(broken(35, 0x41)), undefined, 'magic');
  assert.equal(parseFooter(broken(45, 1)), undefined, 'non-empty trailer');
  assert.equal(parseFooter(good.subarray(1)), undefined, 'too short');
  const far = Buffer.from(good.toString('latin1').replace('0000000000000005', '0020000000000000'), 'latin1');
  assert.throws(() => parseFooter(far), (err) => codeOf(err) === 'INVALID_ARGUMENT');
});
