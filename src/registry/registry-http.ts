// The request loop every registry call goes through: authorization (with one refresh on
// 401), manual redirects that never carry Authorization to another origin, bounded
// retries, and mapping of failure statuses to LazysnapErrors.

import type { Readable } from 'node:stream';
import { unavailable } from '../errors.js';
import { apiHost } from '../reference/reference.js';
import { scopeFor, type Authenticator } from './auth.js';
import { discard, readSmall } from './body.js';
import { statusError } from './http-errors.js';
import { LIMITS, type ResolvedOptions } from './options.js';
import { parseRetryAfter, withRetry } from './retry.js';
import { firstHeader, type Headers, type Meter, type Response, type SendOptions, type Transport } from './transport.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface RegistryRequest {
  /** The registry as the reference names it (`docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** Repository the request is about (sets the token scope). */
  repository?: string;
  /** Ask for a `pull,push` token. */
  push?: boolean;
  method: SendOptions['method'];
  /** A path on the registry's API host, or an absolute URL (upload Location, redirect target). */
  target: string | URL;
  headers?: Headers;
  /** A Buffer, or a function making a fresh stream for every attempt. */
  body?: Buffer | (() => Readable);
  /** Names the thing asked for in errors ("manifest 127.0.0.1:5000/a/b:t"). */
  what: string;
  signal?: AbortSignal;
  followRedirects?: boolean;
  /** Statuses handed to the handler (default: 2xx); all others become errors. */
  ok?: (status: number) => boolean;
  meter: Meter;
}

const is2xx = (s: number) => s >= 200 && s < 300;

export class RegistryHttp {
  constructor(
    readonly transport: Transport,
    readonly auth: Authenticator,
    readonly opts: ResolvedOptions,
  ) {}

  /**
   * Sends `req` (retrying transient failures, the handler's included) and gives an
   * accepted response to `handle`, which must consume or discard its body.
   */
  run<T>(req: RegistryRequest, handle: (res: Response) => Promise<T>): Promise<T> {
    return withRetry(req.what, this.opts.retry, req.signal, async () => {
      const res = await this.exchange(req);
      if (!(req.ok ?? is2xx)(res.status)) {
        const body = await readSmall(res.body, LIMITS.maxErrorBodyBytes, req.meter.bytes);
        const retryAfter = parseRetryAfter(firstHeader(res.headers['retry-after']), this.opts.now());
        throw statusError(res.status, req.what, body, retryAfter);
      }
      return handle(res);
    });
  }

  /** One attempt: auth, the 401 refresh, and redirects. Returns the final response. */
  async exchange(req: RegistryRequest): Promise<Response> {
    const host = apiHost(req.host);
    const registryOrigin = this.transport.url(host, '/').origin;
    let url = typeof req.target === 'string' ? this.transport.url(host, req.target) : req.target;
    const scope = req.repository !== undefined ? scopeFor(req.repository, req.push === true) : undefined;
    let refreshed = false;
    for (let hops = 0; ;) {
      const sameOrigin = url.origin === registryOrigin;
      const headers: Headers = { ...req.headers };
      // Credentials go to the registry only, never to a redirect target elsewhere.
      if (sameOrigin) {
        const authz = await this.auth.authorization(req.host, scope, req.meter, req.signal);
        if (authz) headers.authorization = authz;
      }
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const res = await this.transport.send({ method: req.method, url, headers, body, signal: req.signal }, req.meter);
      if (res.status === 401 && sameOrigin && !refreshed) {
        refreshed = true;
        await readSmall(res.body, LIMITS.maxErrorBodyBytes, req.meter.bytes);
        this.auth.refused(req.host, scope, res.headers['www-authenticate']);
        continue;
      }
      if (req.followRedirects && REDIRECTS.has(res.status)) {
        const location = firstHeader(res.headers.location);
        discard(res.body);
        if (!location) throw unavailable(`${req.what}: redirect (HTTP ${res.status}) without a Location`);
        if (++hops > LIMITS.maxRedirects) throw unavailable(`${req.what}: more than ${LIMITS.maxRedirects} redirects`);
        const next = new URL(location, url);
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw unavailable(`${req.what}: redirect to unsupported URL ${next.protocol}`);
        // No silent downgrade from HTTPS to plain HTTP on the way to the bytes.
        if (next.protocol === 'http:' && url.protocol === 'https:' && !this.transport.mayUsePlainHttp(next)) {
          throw unavailable(`${req.what}: refusing redirect from HTTPS to plain HTTP (${next.host})`);
        }
        url = next;
        continue;
      }
      return res;
    }
  }
}
