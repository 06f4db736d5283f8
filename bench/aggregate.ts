// Turns samples into case results: min and median per figure, and each median as a ratio
// against the baselines measured in the same run (full pull, native, the peer).

import { statOf } from './stats.js';
import { caseId, type CaseKey, type CaseResult, type Format, type Sample } from './types.js';

export function toCase(key: CaseKey, runs: Sample[], compressed: Partial<Record<Format, number>>, skipped?: string): CaseResult {
  const fmt = key.format === 'estargz-ctr-remote' ? 'estargz-ctr-remote' : key.format;
  return {
    ...key,
    id: caseId(key),
    runs,
    ms: statOf(runs, 'ms'),
    setupMs: statOf(runs, 'setupMs'),
    bytesFetched: statOf(runs, 'bytesFetched'),
    requests: statOf(runs, 'requests'),
    daemonRssBytes: statOf(runs, 'daemonRssBytes'),
    toolMs: statOf(runs, 'toolMs'),
    wireBytes: statOf(runs, 'wireBytes'),
    wireBlobBytes: statOf(runs, 'wireBlobBytes'),
    distinctBlobBytes: statOf(runs, 'distinctBlobBytes'),
    duplicateBytes: statOf(runs, 'duplicateBytes'),
    compressedBytes: fmt ? compressed[fmt] : undefined,
    ratios: {},
    skipped: runs.length === 0 ? (skipped ?? 'no run completed') : undefined,
    notes: runs.length > 0 && skipped ? [`some runs failed: ${skipped}`] : [],
  };
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a !== undefined && b !== undefined && b > 0 ? a / b : undefined;

function sameLink(a: CaseResult, b: CaseResult): boolean {
  return a.link === b.link && a.rttMs === b.rttMs;
}

/** Fills in ratios in place. */
export function addRatios(cases: CaseResult[]): void {
  const ok = cases.filter((c) => !c.skipped);
  for (const c of cases) {
    if (c.skipped) continue;
    const med = c.ms?.median;
    if (c.mode === 'cold' || c.mode === 'full-pull') {
      const full = ok.find((b) => b.system === 'skopeo-umoci' && b.workload === c.workload && sameLink(b, c));
      if (full !== c) c.ratios.timeVsFullPull = ratio(med, full?.ms?.median);
    }
    if (c.mode !== 'cold' && c.mode !== 'full-pull') {
      const native = ok.find((b) => b.system === 'native' && b.workload === c.workload);
      if (native !== c) c.ratios.timeVsNative = ratio(med, native?.ms?.median);
    }
    if (c.system === 'lazysnap') {
      const peers = ok.filter((b) => b.system === 'stargz-peer' && b.workload === c.workload && b.mode === c.mode && sameLink(b, c));
      // The peer on the very same image (format). For formats the peer cannot read (zstd:chunked,
      // gzip), the peer on lazysnap's eStargz of the same source image. An eStargz case is never
      // compared with the peer on another conversion: landmarks and chunking differ.
      const peer = peers.find((b) => b.format === c.format) ??
        (c.format === 'estargz' || c.format === 'estargz-ctr-remote' ? undefined : peers.find((b) => b.format === 'estargz') ?? peers[0]);
      c.ratios.timeVsPeer = ratio(med, peer?.ms?.median);
      c.ratios.timeVsPeerOwnMount = ratio(med, peer?.toolMs?.median);
      c.ratios.bytesVsPeer = ratio(c.bytesFetched?.median, peer?.bytesFetched?.median);
    }
    c.ratios.bytesVsCompressed = ratio(c.bytesFetched?.median, c.compressedBytes);
    c.notes.push(...doubleFetchFlags(c));
  }
}

// Slack for what is legitimately read twice: footers and TOC tails (a few KiB per layer).
const SLACK_BYTES = 64 * 1024;
const mbs = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

/**
 * "fetched twice" when the bytes a tool took exceed the distinct bytes it needed: blob ranges
 * that came over the link more than once (exact, where the bench proxy was in the path), or
 * the tool's own count above the distinct blob bytes on the link or above the whole image.
 */
export function doubleFetchFlags(c: CaseResult): string[] {
  const out: string[] = [];
  const dup = c.duplicateBytes?.median;
  if (dup !== undefined && dup > SLACK_BYTES) out.push(`fetched twice: ${mbs(dup)} of blob ranges came over the link more than once`);
  const own = c.bytesFetched?.median;
  const distinct = c.distinctBlobBytes?.median;
  if (own !== undefined && distinct !== undefined && c.mode === 'cold' && own > distinct + SLACK_BYTES) {
    out.push(`fetched twice: own count ${mbs(own)} > ${mbs(distinct)} distinct blob bytes on the link`);
  }
  if (own !== undefined && c.compressedBytes !== undefined && own > c.compressedBytes + SLACK_BYTES) {
    out.push(`fetched twice: ${mbs(own)} fetched > ${mbs(c.compressedBytes)} compressed image`);
  }
  return out;
}
