// One JSON-over-HTTP request on a unix socket, used by the CLI towards the daemon and by
// the daemon towards its mount servers. Every call is bounded: a peer that accepts and
// then hangs (a stopped process, a wedged event loop) costs at most `timeoutMs`.

import { request } from 'node:http';
import { LazysnapError, unavailable } from '../errors.js';

export interface Route {
  method: string;
  path: string;
}

export interface CallOptions {
  /** Longest silence on the connection before the call fails UNAVAILABLE. */
  timeoutMs: number;
  /** Who answers, for messages: "the daemon of /var/lib/lazysnap", "the mount server of /mnt/x". */
  peer: string;
}

/** Resolves with the parsed answer of a 200; rejects with the LazysnapError the peer sent, or UNAVAILABLE. */
export function callSocket(socketPath: string, route: Route, body: unknown, opts: CallOptions): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = request({
      socketPath, path: route.path, method: route.method, agent: false, timeout: opts.timeoutMs,
      headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => fail(unavailable(`${opts.peer} broke off its answer: ${err.message}`, err)));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          return fail(unavailable(`${opts.peer} sent a response that is not JSON`, err));
        }
        if (res.statusCode === 200) done(parsed);
        else fail(LazysnapError.fromJSON(parsed));
      });
    });
    req.on('timeout', () => req.destroy(unavailable(`${opts.peer} did not answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => fail(err instanceof LazysnapError ? err
      : unavailable(`${opts.peer} does not answer on ${socketPath}: ${err.message}`, err)));
    req.end(payload);
  });
}
