// Bounded retries with exponential backoff and full jitter (AWS architecture blog's
// "full jitter"): for 5xx, 429, connection resets and timeouts. Anything else fails at once.

import { setTimeout as sleep } from 'node:timers/promises';
import { LazysnapError, unavailable } from '../errors.js';
import type { RetryOptions } from './options.js';

/** A failure worth another attempt; becomes UNAVAILABLE when the attempts run out. */
export class TransientError extends Error {
  constructor(message: string, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Network-level error codes (node and undici) that a fresh connection may cure. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof LazysnapError) return false;
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Retry-After is seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

function abortError(what: string, signal: AbortSignal): LazysnapError {
  return unavailable(`${what}: aborted`, signal.reason);
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error, or `policy.attempts`
 * are spent (then UNAVAILABLE naming `what` and the last failure). Never retries after
 * `signal` aborts.
 */
export async function withRetry<T>(
  what: string,
  policy: RetryOptions,
  signal: AbortSignal | undefined,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw abortError(what, signal);
    try {
      return await attempt(n);
    } catch (err) {
      if (signal?.aborted) throw abortError(what, signal);
      // Anything not ours (TLS, bad URL, ...) still crosses the boundary as a LazysnapError.
      if (!isTransient(err)) throw err instanceof LazysnapError ? err : unavailable(`${what}: ${describe(err)}`, err);
      if (n >= policy.attempts) {
        throw unavailable(`${what}: failed after ${n} attempt${n > 1 ? 's' : ''}: ${describe(err)}`, err);
      }
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
      let delay = Math.random() * backoff;
      const retryAfter = err instanceof TransientError ? err.retryAfterMs : undefined;
      if (retryAfter !== undefined) delay = Math.min(policy.maxDelayMs, Math.max(delay, retryAfter));
      try {
        await sleep(delay, undefined, signal ? { signal } : undefined);
      } catch {
        throw abortError(what, signal!);
      }
    }
  }
}
