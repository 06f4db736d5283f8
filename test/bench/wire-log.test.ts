// The bench's wire log: blob ranges are attributed from the HTTP exchanges it sees, so that
// "fetched twice" is exact (overlapping Range responses count once in distinctBlobBytes).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireLog } from '../../bench/wire-log.js';

const D = `sha256:${'a'.repeat(64)}`;
const req = (range?: string): Buffer =>
  Buffer.from(`GET /v2/x/y/blobs/${D} HTTP/1.1\r\nHost: h\r\n${range ? `Range: bytes=${range}\r\n` : ''}\r\n`);
const res206 = (start: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${start + body.length - 1}/1000\r\nContent-Length: ${body.length}\r\n\r\n`), body]);

test('overlapping ranges on one connection: sum, union and duplicates', () => {
  const log = new WireLog();
  const c = log.connection();
  c.up(req('0-99'));
  const r1 = res206(0, Buffer.alloc(100));
  c.down(r1.subarray(0, 30)); // split across chunks, header included
  c.down(r1.subarray(30));
  c.up(req('50-149'));
  c.down(res206(50, Buffer.alloc(100)));
  const f = log.figures();
  assert.equal(f.blobBytes, 200);
  assert.equal(f.distinctBlobBytes, 150);
  assert.equal(f.duplicateBytes, 50);
  assert.equal(f.blobRequests, 2);
  assert.equal(f.opaqueConnections, 0);
});

test('a whole-blob 200, a HEAD and a manifest do not muddle the figures; reset starts afresh', () => {
  const log = new WireLog();
  const c = log.connection();
  c.up(Buffer.from(`HEAD /v2/x/y/blobs/${D} HTTP/1.1\r\n\r\n`));
  c.down(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'));
  c.up(Buffer.from('GET /v2/x/y/manifests/t HTTP/1.1\r\n\r\n'));
  c.down(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
  c.up(req());
  c.down(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'), Buffer.alloc(1000)]));
  assert.equal(log.figures().blobBytes, 1000);
  assert.equal(log.figures().duplicateBytes, 0);
  log.reset();
  assert.equal(log.figures().blobBytes, 0);
  assert.equal(log.figures().wireDownBytes, 0);
});
