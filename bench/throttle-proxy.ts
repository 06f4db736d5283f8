// A TCP proxy that makes loopback look like a real network link: limited bandwidth and an
// added round-trip time. The bench puts it between lazysnap (or skopeo, or the peer) and the
// registry so that lazy loading is judged where it matters: when every first read waits on
// the network.
//
// Model: one link per direction, shared by all connections (as on a real uplink), each a
// token bucket in its GCRA form (a "theoretical arrival time" that advances by n/rate per
// chunk, with a small burst allowance). A chunk leaves the bucket at sendAt and reaches the
// other side RTT/2 later. Chunks of one connection and direction are delivered in order from
// a queue; the source socket is paused while too much is queued, so memory stays bounded.

import net from 'node:net';
import type { WireLog } from './wire-log.js';

export interface ThrottleOptions {
  /** host:port of the real server (the registry). */
  target: string;
  /** Link bandwidth in bits per second, each direction; 0 or Infinity: unlimited. Default 100 Mbit/s. */
  bandwidthBitsPerSec?: number;
  /** Added round-trip time in ms (RTT/2 each way). Default 20 ms. */
  rttMs?: number;
  /** Follows every forwarded byte to attribute it to blobs (bench/wire-log.ts). */
  wireLog?: WireLog;
}

export interface ThrottleProxy {
  /** 127.0.0.1:PORT to use in place of the target. */
  host: string;
  /** Bytes that went client -> server and server -> client through the proxy. */
  bytes(): { up: number; down: number };
  /** Closes the listener and every open connection. */
  stop(): Promise<void>;
}

export const DEFAULT_BANDWIDTH_BITS = 100_000_000;
export const DEFAULT_RTT_MS = 20;

// Enough for a few TCP segments at once, small enough not to hide the rate limit.
const BURST_BYTES = 16 * 1024;
// Pause a reader once this much waits in one connection's queue.
const HIGH_WATER_BYTES = 256 * 1024;

/** One direction of the link: hands out the time at which a chunk may leave. */
class TokenBucket {
  private tat = 0; // theoretical arrival time, ms

  constructor(private readonly bytesPerMs: number) {}

  /** The time (ms, performance.now clock) at which n bytes have passed the bucket. */
  reserve(n: number, now: number): number {
    if (!Number.isFinite(this.bytesPerMs)) return now;
    this.tat = Math.max(now, this.tat) + n / this.bytesPerMs;
    return Math.max(now, this.tat - BURST_BYTES / this.bytesPerMs);
  }
}

interface Pending {
  chunk: Buffer;
  at: number;
}

/** Moves bytes from one socket to another through a bucket and a delay, keeping order. */
class DelayedPipe {
  private readonly queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private closed = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly bucket: TokenBucket,
    private readonly oneWayMs: number,
    private readonly count: (chunk: Buffer) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    from.on('end', () => {
      this.ended = true;
      this.pump();
    });
    to.on('drain', () => this.maybeResume());
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private push(chunk: Buffer): void {
    const now = performance.now();
    const at = this.bucket.reserve(chunk.length, now) + this.oneWayMs;
    this.queue.push({ chunk, at });
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER_BYTES) this.from.pause();
    this.pump();
  }

  private pump(): void {
    if (this.closed || this.timer) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      this.queued -= chunk.length;
      this.count(chunk);
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.queue.length > 0) {
      const wait = Math.max(0, this.queue[0]!.at - now);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, Math.ceil(wait));
      return;
    }
    if (this.ended && !this.to.destroyed) this.to.end();
    this.maybeResume();
  }

  private maybeResume(): void {
    if (this.queued <= HIGH_WATER_BYTES && !this.to.writableNeedDrain && this.from.isPaused()) {
      this.from.resume();
    }
  }
}

function parseTarget(target: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  if (!m) throw new Error(`throttle proxy: target must be host:port, got "${target}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startThrottleProxy(options: ThrottleOptions): Promise<ThrottleProxy> {
  const target = parseTarget(options.target);
  const bits = options.bandwidthBitsPerSec ?? DEFAULT_BANDWIDTH_BITS;
  const rttMs = options.rttMs ?? DEFAULT_RTT_MS;
  const bytesPerMs = bits > 0 && Number.isFinite(bits) ? bits / 8 / 1000 : Infinity;
  const up = new TokenBucket(bytesPerMs);
  const down = new TokenBucket(bytesPerMs);
  const totals = { up: 0, down: 0 };
  const sockets = new Set<net.Socket>();

  // allowHalfOpen: a side that finished sending may still receive the reply.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstream);
    // Disable Nagle: the added delay is ours to decide, not the kernel's.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const tap = options.wireLog?.connection();
    const pipes = [
      new DelayedPipe(client, upstream, up, rttMs / 2, (c) => {
        totals.up += c.length;
        tap?.up(c);
      }),
      new DelayedPipe(upstream, client, down, rttMs / 2, (c) => {
        totals.down += c.length;
        tap?.down(c);
      }),
    ];
    const teardown = (): void => {
      for (const p of pipes) p.close();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // A reset on either side ends both; a clean end is passed on by the pipe.
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', () => {
      if (upstream.writableEnded || upstream.destroyed) teardown();
    });
    upstream.on('close', () => {
      if (client.writableEnded || client.destroyed) teardown();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    host: `127.0.0.1:${address.port}`,
    bytes: () => ({ ...totals }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        server.close(() => resolve());
      }),
  };
}
