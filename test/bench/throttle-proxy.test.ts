// The bench's throttling proxy: bytes pass intact both ways, the bandwidth limit holds,
// and stop() really closes what is open.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { startThrottleProxy } from '../../bench/throttle-proxy.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A server that replies to each connection with `reply`, then with the digest of what it got. */
async function startServer(t: TestContext, reply: Buffer): Promise<{ port: number; received: Promise<Buffer> }> {
  let gotIt!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (gotIt = r));
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      gotIt(Buffer.concat(parts));
      s.end(reply);
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, received };
}

/** Sends `data`, half-closes, and collects the reply. */
async function exchange(host: string, data: Buffer): Promise<Buffer> {
  const [h, p] = host.split(':');
  const sock = net.connect({ host: h, port: Number(p), allowHalfOpen: true });
  const parts: Buffer[] = [];
  sock.on('data', (d: Buffer) => parts.push(d));
  sock.end(data);
  await once(sock, 'end');
  sock.destroy();
  return Buffer.concat(parts);
}

test('bytes pass intact in both directions', async (t) => {
  const down = randomBytes(300_000);
  const up = randomBytes(200_000);
  const server = await startServer(t, down);
  const proxy = await startThrottleProxy({ target: `127.0.0.1:${server.port}`, bandwidthBitsPerSec: 0, rttMs: 2 });
  t.after(() => proxy.stop());
  const got = await exchange(proxy.host, up);
  assert.equal(sha(got), sha(down));
  assert.equal(sha(await server.received), sha(up));
  assert.deepEqual(proxy.bytes(), { up: up.length, down: down.length });
});

test('1 MiB at 8 Mbit/s takes clearly more than half a second', async (t) => {
  // 1 MiB at 1 MB/s is about 1.05 s; the burst allowance is 16 KiB, so well over 0.5 s.
  const payload = randomBytes(1024 * 1024);
  const server = await startServer(t, payload);
  const proxy = await startThrottleProxy({ target: `127.0.0.1:${server.port}`, bandwidthBitsPerSec: 8_000_000, rttMs: 0 });
  t.after(() => proxy.stop());
  const start = performance.now();
  const got = await exchange(proxy.host, Buffer.from('go'));
  const elapsed = performance.now() - start;
  assert.equal(sha(got), sha(payload));
  assert.ok(elapsed > 500, `took ${elapsed.toFixed(0)} ms, expected > 500 ms`);
});

test('stop() closes open connections and the listener', async (t) => {
  const server = await startServer(t, Buffer.alloc(0));
  const proxy = await startThrottleProxy({ target: `127.0.0.1:${server.port}` });
  const [h, p] = proxy.host.split(':');
  const sock = net.connect({ host: h, port: Number(p) });
  sock.on('error', () => {});
  await once(sock, 'connect');
  const closed = once(sock, 'close');
  await proxy.stop();
  await closed; // the proxy's side went away: the client sees the socket close
  const again = net.connect({ host: h, port: Number(p) });
  const [err] = (await once(again, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
});
