// Reading response bodies with a hard cap: never buffer more than the caller named,
// count every byte received, and release the connection on every path.

import type { Readable } from 'node:stream';
import { invalidArgument } from '../errors.js';
import { TransientError } from './retry.js';

/** Called with the size of every chunk of body received (the transfer counters). */
export type ByteSink = (bytes: number) => void;

/** Discards a body we do not want, so the connection can be reused or closed. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * Reads the whole body, refusing more than `cap` bytes. `overflow` makes the error for a
 * body over the cap (it names the thing at fault); the stream is destroyed then.
 */
export async function readCapped(body: Readable, cap: number, count: ByteSink, overflow: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      count(chunk.length);
      total += chunk.length;
      if (total > cap) throw overflow();
      chunks.push(chunk);
    }
  } catch (err) {
    discard(body);
    throw err;
  }
  return Buffer.concat(chunks, total);
}

/** Small documents (errors, tokens): over the cap is simply cut, never an error. */
export async function readSmall(body: Readable, cap: number, count: ByteSink): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      count(chunk.length);
      if (total < cap) chunks.push(chunk.subarray(0, cap - total));
      total += chunk.length;
      if (total >= cap) break;
    }
  } catch {
    // an error body that breaks off is still worth what we got
  } finally {
    discard(body);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads exactly `length` bytes after skipping `skip` bytes, without buffering the skipped
 * part; stops reading (and destroys the stream) as soon as it has them. A body that ends
 * early is a TransientError (the connection broke); `exact` makes a longer body an error
 * made by `tooLong`.
 */
export async function readSlice(
  body: Readable, skip: number, length: number, count: ByteSink,
  opts: { exact: boolean; tooLong: () => Error; what: string; arrived?: (prefix: Buffer) => void },
): Promise<Buffer> {
  if (!Number.isSafeInteger(skip) || !Number.isSafeInteger(length) || skip < 0 || length < 0) {
    throw invalidArgument(`${opts.what}: bad slice ${skip}+${length}`);
  }
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  let toSkip = skip;
  try {
    for await (const raw of body as AsyncIterable<Buffer>) {
      count(raw.length);
      let chunk = raw;
      if (toSkip > 0) {
        const n = Math.min(toSkip, chunk.length);
        toSkip -= n;
        chunk = chunk.subarray(n);
      }
      if (chunk.length === 0) continue;
      if (filled + chunk.length > length && opts.exact) throw opts.tooLong();
      const n = Math.min(length - filled, chunk.length);
      chunk.copy(out, filled, 0, n);
      filled += n;
      opts.arrived?.(out.subarray(0, filled));
      if (filled === length && !opts.exact) break;
    }
  } catch (err) {
    discard(body);
    throw err;
  }
  discard(body);
  if (filled < length) throw new TransientError(`${opts.what}: body ended after ${filled} of ${length} bytes`);
  return out;
}
