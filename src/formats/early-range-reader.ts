// EarlyRangeReader: a RangeReader that can start fetching one range of the blob before
// anyone asks for it, and serves later reads inside that range from that one fetch.
//
// Why: a mount's landmark prefetch is planned from the layer's index, which takes the
// opening's longest step to build (the TOC's entries into columns: ~100-150 ms of the JS
// thread on the python image). The landmark's offset is known as soon as the TOC is
// parsed, so the fetch of the prioritised files starts then; the prefetch,
// planned later, reads its bytes from here, without a second request. Through a slow link
// that is the time the bytes need to travel.
//
// A read inside the range waits for the bytes it needs (and hears `arrived` about them
// as they come); a read outside it, or one after the early fetch failed, goes to the blob.
// A read across the range's end (a prefetch of the whole blob reads in pieces that cross
// it) takes its part inside from the early fetch and only the rest from the blob: no byte
// is fetched twice.

import { unavailable } from '../errors.js';
import { checkRange, type ArrivedBytes, type RangeReader } from './range-reader.js';

/** The early range is fetched only up to this size (a prefetch region is a few megabytes). */
export const MAX_EARLY_BYTES = 64 * 1024 * 1024;

interface EarlyFetch {
  readonly end: number;
  /** The bytes from 0 that have come so far (all of them once done). */
  prefix: Buffer;
  done: boolean;
  failed: boolean;
  /** Readers waiting for more bytes, called at each change. */
  readonly listeners: Set<() => void>;
}

/** Tells every reader waiting on `e` that it changed (a copy: they leave the set as they go). */
function notify(e: EarlyFetch): void {
  for (const l of [...e.listeners]) l();
}

export class EarlyRangeReader implements RangeReader {
  private early: EarlyFetch | undefined;
  private readonly stop = new AbortController();

  constructor(private readonly inner: RangeReader) {}

  get size(): number {
    return this.inner.size;
  }

  /** Starts fetching [0, end) now (once; an empty or too large range is not fetched early). */
  startEarly(end: number): void {
    if (this.early || !Number.isSafeInteger(end) || end <= 0 || end > MAX_EARLY_BYTES || end > this.inner.size) return;
    const e: EarlyFetch = { end, prefix: Buffer.alloc(0), done: false, failed: false, listeners: new Set() };
    this.early = e;
    this.inner.readAt(0, end, this.stop.signal, (prefix) => { e.prefix = prefix; notify(e); }).then(
      (all) => { e.prefix = all; e.done = true; notify(e); },
      () => { e.failed = true; notify(e); }, // readers inside the range go to the blob instead
    );
  }

  /**
   * Forgets the early range (its bytes are in the chunk cache by now, or never will be):
   * a fetch still under way is aborted, its waiting readers go to the blob, and the
   * buffer is not kept for the mount's life.
   */
  release(): void {
    const e = this.early;
    if (!e) return;
    this.early = undefined;
    this.stop.abort(unavailable('early fetch released'));
    if (!e.done) {
      e.failed = true;
      notify(e);
    }
  }

  async readAt(offset: number, length: number, signal?: AbortSignal, arrived?: ArrivedBytes): Promise<Buffer> {
    checkRange(offset, length, this.size);
    const e = this.early;
    if (!e || e.failed || offset >= e.end) return this.inner.readAt(offset, length, signal, arrived);
    if (offset + length > e.end) {
      // `arrived` hears the inside part only: telling the rest would copy the whole prefix
      // again for every piece of it that comes.
      const inside = e.end - offset;
      const [head, rest] = await Promise.all([
        this.readAt(offset, inside, signal, arrived),
        this.inner.readAt(e.end, length - inside, signal),
      ]);
      return Buffer.concat([head, rest]);
    }
    const end = offset + length;
    const ready = (): boolean => e.prefix.length >= end || e.done || e.failed;
    let told = 0;
    const tell = (): void => {
      // Each new prefix of this read's bytes, as the early fetch brings them.
      const have = Math.min(e.prefix.length, end) - offset;
      if (arrived && have > told && have < length) {
        told = have;
        arrived(e.prefix.subarray(offset, offset + have));
      }
    };
    if (!ready()) {
      await new Promise<void>((resolve, reject) => {
        const onChange = (): void => {
          tell();
          if (!ready()) return;
          cleanUp();
          resolve();
        };
        const onAbort = (): void => {
          cleanUp();
          reject(unavailable(`read of blob bytes [${offset}, +${length}): aborted`, signal?.reason));
        };
        const cleanUp = (): void => {
          e.listeners.delete(onChange);
          signal?.removeEventListener('abort', onAbort);
        };
        if (signal?.aborted) return onAbort();
        e.listeners.add(onChange);
        signal?.addEventListener('abort', onAbort, { once: true });
        tell();
      });
    }
    if (e.prefix.length < end) return this.inner.readAt(offset, length, signal, arrived); // the early fetch failed
    return e.prefix.subarray(offset, end);
  }
}
