// ReadCounters: what reads cost, for `status` and benchmarks. Counters form a chain: a
// layer reader bumps its image's counters, which bump their parent's (the process-wide
// total), so one call keeps every level right without the reader knowing the levels.

import { invalidArgument } from '../errors.js';

export interface ReadCountersSnapshot {
  /** Blob bytes requested from the blob reader (what crossed the network, or the layout). */
  readonly bytesFetched: number;
  /** Range requests made. */
  readonly requests: number;
  /** Chunks served from the chunk store. */
  readonly cacheHits: number;
  /** Chunks not in the chunk store when asked for (fetched, or joined an in-flight fetch). */
  readonly cacheMisses: number;
}

export class ReadCounters implements ReadCountersSnapshot {
  private fetched = 0;
  private reqs = 0;
  private hits = 0;
  private misses = 0;

  constructor(readonly parent?: ReadCounters) {}

  /** Counters whose bumps also count here. */
  child(): ReadCounters {
    return new ReadCounters(this);
  }

  get bytesFetched(): number { return this.fetched; }
  get requests(): number { return this.reqs; }
  get cacheHits(): number { return this.hits; }
  get cacheMisses(): number { return this.misses; }

  /** One Range request of `bytes` blob bytes. */
  addRequest(bytes: number): void {
    checkCount(bytes);
    for (let c: ReadCounters | undefined = this; c; c = c.parent) {
      c.reqs++;
      c.fetched += bytes;
    }
  }

  addHits(n = 1): void {
    checkCount(n);
    for (let c: ReadCounters | undefined = this; c; c = c.parent) c.hits += n;
  }

  addMisses(n = 1): void {
    checkCount(n);
    for (let c: ReadCounters | undefined = this; c; c = c.parent) c.misses += n;
  }

  snapshot(): ReadCountersSnapshot {
    return { bytesFetched: this.fetched, requests: this.reqs, cacheHits: this.hits, cacheMisses: this.misses };
  }

  toJSON(): ReadCountersSnapshot {
    return this.snapshot();
  }
}

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`counter increment ${n} is not a non-negative integer`);
}
