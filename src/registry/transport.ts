// One undici Agent (keep-alive connection pools per origin) shared by everything a client
// sends; chooses http or https per host, sets timeouts, and counts requests.

import type { Agent as UndiciAgent, Dispatcher, buildConnector as buildConnectorType } from 'undici';
import { Agent, buildConnector, request } from './undici-parts.js';
import { extraCaContext } from './extra-ca.js';
import type { Readable } from 'node:stream';
import { isIP } from 'node:net';
import { unavailable } from '../errors.js';
import type { ResolvedOptions } from './options.js';

export type Headers = Record<string, string>;

/** Where requests and received body bytes are counted (a client's or a source's counters). */
export interface Meter {
  request: () => void;
  bytes: (n: number) => void;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** The URL this response came from (redirects are followed by the caller). */
  url: URL;
}

export interface SendOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Headers;
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

/** Loopback hosts: 127.0.0.0/8, ::1, localhost (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1';
  return false;
}

/** `host:port` -> `host`, `[::1]:5000` -> `::1`. */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * undici's connector, trusting extra CA files too (extra-ca.ts): they are read, and the TLS
 * context built, on the first HTTPS connection (plain HTTP connections never load them).
 */
function extraCaConnector(timeout: number, files: readonly string[]): buildConnectorType.connector {
  const plain = buildConnector({ timeout });
  let tls: buildConnectorType.connector | undefined;
  return (o, done) => {
    if (o.protocol !== 'https:') return plain(o, done);
    tls ??= buildConnector({ timeout, secureContext: extraCaContext(files, process.env) });
    return tls(o, done);
  };
}

export class Transport {
  private readonly agent: UndiciAgent;
  private closed = false;

  constructor(private readonly opts: ResolvedOptions) {
    this.agent = new Agent({
      connect: opts.extraCaFiles.length > 0 ? extraCaConnector(opts.timeouts.connectMs, opts.extraCaFiles) : { timeout: opts.timeouts.connectMs },
      keepAliveTimeout: 30_000,
      headersTimeout: opts.timeouts.headersMs,
      bodyTimeout: opts.timeouts.bodyMs,
      connections: 16,
    });
  }

  /** Plain HTTP only for loopback and user-named insecure hosts; HTTPS for the rest. */
  schemeFor(host: string): 'http' | 'https' {
    const h = host.toLowerCase();
    return isLoopbackHost(h) || this.opts.insecureHosts.has(h) || this.opts.insecureHosts.has(hostName(h)) ? 'http' : 'https';
  }

  /** Whether plain-HTTP URLs to `url`'s host are acceptable to send secrets to. */
  mayUsePlainHttp(url: URL): boolean {
    return this.schemeFor(url.host) === 'http';
  }

  url(host: string, path: string): URL {
    return new URL(`${this.schemeFor(host)}://${host}${path}`);
  }

  /** One request, one attempt: no retries, no redirects, no auth (callers add those). */
  async send(o: SendOptions, meter: Meter): Promise<Response> {
    if (this.closed) throw unavailable(`${o.method} ${o.url.host}: the registry client is closed`);
    meter.request();
    const headers: Headers = { 'user-agent': this.opts.userAgent, ...o.headers };
    const res: Dispatcher.ResponseData = await request(this.agent, {
      origin: o.url.origin,
      path: `${o.url.pathname}${o.url.search}`,
      method: o.method,
      headers,
      body: o.body ?? null,
      signal: o.signal ?? null,
      headersTimeout: this.opts.timeouts.headersMs,
      bodyTimeout: this.opts.timeouts.bodyMs,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body as unknown as Readable, url: o.url };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy, not close: close() waits for idle keep-alive sockets to finish.
    await this.agent.destroy().catch(() => {});
  }
}
