// Turning chunk misses into Range requests. Pure: no I/O, no state.
//
// Misses (sorted by blobOffset) that lie close together are fetched with one request:
// a gap below `gapBytes` costs less to download than a round trip. A request spans at
// most `maxRequestBytes` (one chunk larger than that goes alone: chunks are fetched
// whole). When a request is closed, it may grow into the chunks that follow it in the
// blob (read-ahead, usually the next small files) until it spans `readAheadBytes`, for as
// long as those are neither cached nor being fetched (`canTake`). A request already that
// large gets nothing more: read-ahead is for small files, and a big file's own chunks are
// what its reader asks for next (the bench saw `cat` of a 1 MB file drag 225 KB along).

import type { KeyedChunk } from './blob-order.js';

export interface PlannedRequest {
  /** Blob byte range [start, end) to fetch. */
  readonly start: number;
  readonly end: number;
  /** Chunks whose bytes lie inside [start, end): the misses and the read-ahead. */
  readonly chunks: KeyedChunk[];
}

export interface PlanLimits {
  readonly maxRequestBytes: number;
  readonly gapBytes: number;
  readonly readAheadBytes: number;
}

/** Chunks after a blob offset, in blob order (what read-ahead may take). */
export type FollowingChunks = (blobOffset: number) => Iterable<KeyedChunk>;

export function planRequests(
  misses: readonly KeyedChunk[],
  limits: PlanLimits,
  following?: FollowingChunks,
  canTake: (c: KeyedChunk) => boolean = () => true,
): PlannedRequest[] {
  const out: PlannedRequest[] = [];
  let cur: { start: number; end: number; chunks: KeyedChunk[] } | undefined;
  const close = () => {
    if (!cur) return;
    if (following && limits.readAheadBytes > 0) readAhead(cur, limits, following, canTake);
    out.push(cur);
    cur = undefined;
  };
  for (const m of misses) {
    const c = m.chunk;
    const end = c.blobOffset + c.blobLength;
    if (cur && c.blobOffset <= cur.end + limits.gapBytes && Math.max(cur.end, end) - cur.start <= limits.maxRequestBytes) {
      cur.end = Math.max(cur.end, end);
      cur.chunks.push(m);
      continue;
    }
    close();
    cur = { start: c.blobOffset, end, chunks: [m] };
  }
  close();
  return out;
}

function readAhead(req: { start: number; end: number; chunks: KeyedChunk[] }, limits: PlanLimits,
  following: FollowingChunks, canTake: (c: KeyedChunk) => boolean): void {
  let budget = limits.readAheadBytes - (req.end - req.start);
  if (budget <= 0) return;
  for (const k of following(req.end)) {
    const c = k.chunk;
    const end = c.blobOffset + c.blobLength;
    if (c.blobOffset > req.end + limits.gapBytes) return;
    if (c.blobLength > budget || end - req.start > limits.maxRequestBytes) return;
    if (!canTake(k)) return;
    budget -= c.blobLength;
    req.end = Math.max(req.end, end);
    req.chunks.push(k);
  }
}
