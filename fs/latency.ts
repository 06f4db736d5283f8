// Read latency percentiles in fixed memory: a histogram over log-spaced buckets (four per
// doubling, from 1 us to ~1 h), so a long-lived mount never grows. Percentiles are the
// upper edge of the bucket they fall in (at most ~19% high).

const BUCKETS_PER_DOUBLING = 4;
const BUCKETS = 32 * BUCKETS_PER_DOUBLING;
const MIN_US = 1;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;

  record(ms: number): void {
    const us = Math.max(MIN_US, ms * 1000);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log2(us / MIN_US) * BUCKETS_PER_DOUBLING));
    this.counts[i]!++;
    this.total++;
  }

  /** The q-quantile (0..1) in milliseconds; 0 when nothing was recorded. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return (MIN_US * 2 ** ((i + 1) / BUCKETS_PER_DOUBLING)) / 1000;
    }
    return (MIN_US * 2 ** (BUCKETS / BUCKETS_PER_DOUBLING)) / 1000;
  }
}
