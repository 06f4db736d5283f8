// Fault cases a real registry cannot produce, against test/helpers/fault-server.ts.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { codeOf } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RegistryClientOptions } from '../../src/registry/options.js';
import type { Descriptor } from '../../src/image/oci-types.js';
import { startFaultServer, serveBytes, type FaultHandler, type FaultServer } from '../helpers/fault-server.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = randomBytes(100_000);
const DESC: Descriptor = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(DATA).digest('hex')}`,
  size: DATA.length,
};
const BLOB_PATH = `/v2/a/b/blobs/${DESC.digest}`;

const FAST: RegistryClientOptions = {
  retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
  timeouts: { connectMs: 2000, headersMs: 400, bodyMs: 400 },
};

async function setup(t: TestContext, handler: FaultHandler, extra: RegistryClientOptions = {}): Promise<{ server: FaultServer; client: RegistryClient }> {
  const server = await startFaultServer(handler);
  const client = new RegistryClient({ ...FAST, ...extra });
  t.after(async () => {
    await client.close();
    await server.stop();
  });
  return { server, client };
}

test('a 503 storm then success: retried, bounded, right bytes', async (t) => {
  let n = 0;
  const { server, client } = await setup(t, (req, res) => {
    if (++n <= 2) return void res.writeHead(503, { 'retry-after': '0' }).end('{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}');
    serveBytes(req, res, DATA);
  });
  const r = client.blobReader(server.host, 'a/b', DESC);
  assert.deepEqual(await r.readAt(10, 100), DATA.subarray(10, 110));
  assert.equal(server.calls().length, 3);
  assert.equal(client.counters.requests, 3); // no /v2/ ping: the three attempts only
});

test('503 forever: UNAVAILABLE after the configured attempts, quickly', async (t) => {
  const { server, client } = await setup(t, (_req, res) => void res.writeHead(503).end());
  const started = Date.now();
  await assert.rejects(client.blobReader(server.host, 'a/b', DESC).readAt(0, 10), (e) => codeOf(e) === 'UNAVAILABLE');
  assert.equal(server.calls().length, 4);
  assert.ok(Date.now() - started < 3000);
});

test('429 with a huge Retry-After is capped by maxDelayMs', async (t) => {
  let n = 0;
  const { server, client } = await setup(t, (req, res) => {
    if (++n === 1) return void res.writeHead(429, { 'retry-after': '3600' }).end();
    serveBytes(req, res, DATA);
  });
  const started = Date.now();
  assert.deepEqual(await client.blobReader(server.host, 'a/b', DESC).readAt(0, 5), DATA.subarray(0, 5));
  assert.ok(Date.now() - started < 2000);
});

test('connection reset mid-body is retried and gives the right bytes', async (t) => {
  let n = 0;
  const { client, server } = await setup(t, (req, res) => {
    if (++n === 1) {
      res.writeHead(206, { 'content-range': `bytes 0-9999/${DATA.length}`, 'content-length': 10_000 });
      res.write(DATA.subarray(0, 3000));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    serveBytes(req, res, DATA);
  });
  assert.deepEqual(await client.blobReader(server.host, 'a/b', DESC).readAt(0, 10_000), DATA.subarray(0, 10_000));
  assert.equal(server.calls().length, 2);
});

test('a server that stops answering times out as UNAVAILABLE, no hang', async (t) => {
  const { server, client } = await setup(t, () => { /* never answers */ }, { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
  const started = Date.now();
  await assert.rejects(client.blobReader(server.host, 'a/b', DESC).readAt(0, 10), (e) => codeOf(e) === 'UNAVAILABLE');
  assert.ok(Date.now() - started < 5000, 'bounded by the timeouts');
});

test('a body that stalls midway times out as UNAVAILABLE', async (t) => {
  const { server, client } = await setup(t, (_req, res) => {
    res.writeHead(206, { 'content-range': `bytes 0-99/${DATA.length}`, 'content-length': 100 });
    res.write(DATA.subarray(0, 10));
  }, { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
  await assert.rejects(client.blobReader(server.host, 'a/b', DESC).readAt(0, 100), (e) => codeOf(e) === 'UNAVAILABLE');
});

test('wrong Content-Range is an error, never wrong bytes', async (t) => {
  for (const bad of [`bytes 1-10/${DATA.length}`, `bytes 0-9/${DATA.length + 1}`, 'bytes */100', '', 'bytes 0-20/100000']) {
    const { server, client } = await setup(t, (_req, res) => {
      const headers: Record<string, string | number> = { 'content-length': 10 };
      if (bad) headers['content-range'] = bad;
      res.writeHead(206, headers).end(DATA.subarray(0, 10));
    });
    await assert.rejects(client.blobReader(server.host, 'a/b', DESC).readAt(0, 10), (e) => codeOf(e) === 'UNAVAILABLE', bad);
  }
});

test('200 to a Range request: right bytes, one full download spooled for many reads', async (t) => {
  const spoolDir = await tempDir(t);
  const { server, client } = await setup(t, (_req, res) => void res.writeHead(200, { 'content-length': DATA.length }).end(DATA), { spoolDir });
  const r = client.blobReader(server.host, 'a/b', DESC);
  assert.deepEqual(await r.readAt(5, 50), DATA.subarray(5, 55));
  const reads = await Promise.all([0, 1000, 50_000, 99_990].map((o) => r.readAt(o, 10)));
  reads.forEach((b, i) => assert.deepEqual(b, DATA.subarray([0, 1000, 50_000, 99_990][i]!, [0, 1000, 50_000, 99_990][i]! + 10)));
  assert.equal(server.calls().length, 1);
  assert.ok(client.counters.bytesFetched <= DATA.length + 10, `${client.counters.bytesFetched} bytes`);
  assert.equal((await readdir(spoolDir)).length, 1);
  // Another blob on the same host goes straight to one full download (no Range sent).
  const other = client.blobReader(server.host, 'a/c', DESC);
  assert.deepEqual(await other.readAt(7, 3), DATA.subarray(7, 10));
  assert.deepEqual(await other.readAt(70, 3), DATA.subarray(70, 73));
  assert.equal(server.calls().length, 2);
  assert.equal(server.calls()[1]!.headers.range, undefined);
  await client.close();
  assert.equal((await readdir(spoolDir)).length, 0, 'spool files removed on close');
});

test('200 with wrong bytes to a Range request: DIGEST_MISMATCH once the spool ends', async (t) => {
  const spoolDir = await tempDir(t);
  const wrong = Buffer.from(DATA);
  wrong[DATA.length - 1] ^= 1;
  const { server, client } = await setup(t, (_req, res) => void res.writeHead(200).end(wrong), { spoolDir });
  const r = client.blobReader(server.host, 'a/b', DESC);
  await r.readAt(0, 10).catch(() => undefined); // may be served before the end arrives
  await assert.rejects(r.readAt(DATA.length - 1, 1), (e) => codeOf(e) === 'DIGEST_MISMATCH');
});

test('fetchBlob: wrong bytes are DIGEST_MISMATCH, too many bytes too, and nothing is returned', async (t) => {
  for (const body of [Buffer.concat([DATA.subarray(1), Buffer.from('x')]), Buffer.concat([DATA, Buffer.from('x')]), DATA.subarray(1)]) {
    const { server, client } = await setup(t, (_req, res) => void res.writeHead(200).end(body));
    await assert.rejects(client.fetchBlob(server.host, 'a/b', DESC, 1 << 20), (e) => codeOf(e) === 'DIGEST_MISMATCH');
  }
  const { server, client } = await setup(t, (req, res) => serveBytes(req, res, DATA));
  assert.deepEqual(await client.fetchBlob(server.host, 'a/b', DESC, 1 << 20), DATA);
  await assert.rejects(client.fetchBlob(server.host, 'a/b', DESC, 10), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});

test('Accept-Encoding identity on blob reads; 404 is NOT_FOUND naming the blob', async (t) => {
  const { server, client } = await setup(t, (req, res) => {
    if (req.url === BLOB_PATH) return serveBytes(req, res, DATA);
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
  });
  await client.blobReader(server.host, 'a/b', DESC).readAt(0, 1);
  assert.equal(server.calls()[0]!.headers['accept-encoding'], 'identity');
  const other = { ...DESC, digest: `sha256:${'0'.repeat(64)}` };
  await assert.rejects(client.blobReader(server.host, 'a/b', other).readAt(0, 1), (e: Error) => {
    assert.equal(codeOf(e), 'NOT_FOUND');
    assert.match(e.message, /BLOB_UNKNOWN/);
    assert.ok(e.message.includes(other.digest));
    return true;
  });
});

test('openBlobStream from an offset: 206 and 200 servers give the same bytes; wrong bytes error', async (t) => {
  const collect = async (s: NodeJS.ReadableStream) => {
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };
  const honest = await setup(t, (req, res) => serveBytes(req, res, DATA));
  assert.deepEqual(await collect(await honest.client.openBlobStream(honest.server.host, 'a/b', DESC, 0)), DATA);
  assert.deepEqual(await collect(await honest.client.openBlobStream(honest.server.host, 'a/b', DESC, 77_777)), DATA.subarray(77_777));
  const whole = await setup(t, (_req, res) => void res.writeHead(200).end(DATA));
  assert.deepEqual(await collect(await whole.client.openBlobStream(whole.server.host, 'a/b', DESC, 500)), DATA.subarray(500));
  const wrong = Buffer.from(DATA);
  wrong[5] ^= 1;
  const liar = await setup(t, (_req, res) => void res.writeHead(200).end(wrong));
  await assert.rejects(collect(await liar.client.openBlobStream(liar.server.host, 'a/b', DESC, 0)), (e) => codeOf(e) === 'DIGEST_MISMATCH');
});

test('a read of a range outside the blob is INVALID_ARGUMENT without a request', async (t) => {
  const { server, client } = await setup(t, (req, res) => serveBytes(req, res, DATA));
  const r = client.blobReader(server.host, 'a/b', DESC);
  await assert.rejects(async () => r.readAt(DATA.length - 5, 10), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  await assert.rejects(async () => r.readAt(-1, 1), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.equal(server.requests.length, 0);
});
