// The bench's result model: what one measured run gives (Sample), what a case is (its key),
// and what the report holds for it (CaseResult). latest.json is a BenchReport.

export type System =
  | 'lazysnap'
  | 'stargz-peer'
  | 'lazysnap-full-pull'
  | 'skopeo-umoci'
  | 'native'
  | 'squashfuse'
  | 'fuse-overlayfs';

/** cold: fresh state and daemon; warm: same mount again; warm-dropped: after drop_caches. */
export type Mode = 'cold' | 'warm' | 'warm-dropped' | 'full-pull' | 'local';

export type Format = 'estargz' | 'estargz-ctr-remote' | 'zstd-chunked' | 'gzip';
export type Prefetch = 'none' | 'landmark' | 'all';

export interface Link {
  name: string; // "loopback" or "throttled"
  bandwidthBitsPerSec?: number;
  rttMs?: number;
}

export interface CaseKey {
  system: System;
  mode: Mode;
  workload: string;
  link: string;
  format?: Format;
  prefetch?: Prefetch;
  /** For the RTT sweep: the round-trip time of the throttled link. */
  rttMs?: number;
}

export interface Sample {
  /** Time to first result: from the start of mount (or pull) to the end of the workload. */
  ms: number;
  /** Mount (or pull + unpack) part of ms, where it is separate. */
  setupMs?: number;
  /** The tool's own count: lazysnap status bytesFetched, the peer's fetchedBytes. */
  bytesFetched?: number;
  requests?: number;
  daemonRssBytes?: number;
  /** Peer only: its own mountMs (from the script's JSON) + the workload, beside the wall time in ms. */
  toolMs?: number;
  /** Through the bench proxy only (bench/wire-log.ts): bytes server -> client on the link. */
  wireBytes?: number;
  /** Blob body bytes on the link, and the distinct ones (union of the ranges per blob). */
  wireBlobBytes?: number;
  distinctBlobBytes?: number;
  /** wireBlobBytes - distinctBlobBytes: blob bytes that came over the link more than once. */
  duplicateBytes?: number;
}

export interface Stat {
  min: number;
  median: number;
}

export interface CaseResult extends CaseKey {
  id: string;
  runs: Sample[];
  ms?: Stat;
  setupMs?: Stat;
  bytesFetched?: Stat;
  requests?: Stat;
  daemonRssBytes?: Stat;
  toolMs?: Stat;
  wireBytes?: Stat;
  wireBlobBytes?: Stat;
  distinctBlobBytes?: Stat;
  duplicateBytes?: Stat;
  /** Compressed size of the image the case read (sum of its layers). */
  compressedBytes?: number;
  /** Medians as ratios against the baselines of the same run (absent where no baseline ran). */
  ratios: {
    timeVsFullPull?: number;
    timeVsNative?: number;
    /** Wall time of both mount commands + the workload. */
    timeVsPeer?: number;
    /** Against the peer's own mountMs + the workload (its script's checks left out). */
    timeVsPeerOwnMount?: number;
    bytesVsCompressed?: number;
    bytesVsPeer?: number;
  };
  skipped?: string;
  notes: string[];
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  node: string;
  date: string;
}

export interface BenchReport {
  version: 1;
  machine: Machine;
  options: { quick: boolean; image: string; runs: number; rttSweep: boolean; bandwidthBitsPerSec: number; rttMs: number };
  image: { name: string; files?: number; compressedBytes: Partial<Record<Format, number>>; largestFile?: string };
  notes: string[];
  cases: CaseResult[];
  /** Issue 4's figures (bench/lazy-read.ts). */
  lazyRead?: import('./lazy-read.js').LazyReadReport;
  /** Issue 9's daemon memory per mounted file (bench/daemon-memory.ts). */
  memory?: import('./daemon-memory.js').MemoryReport;
  /** Issue 9's warm sequential read of a 1 GiB file (bench/large-read.ts; full runs only). */
  largeRead?: import('./large-read.js').LargeReadReport;
}

/** A case that cannot run here: the reason ends up in the table as "skipped: reason". */
export class Skip extends Error {}

export function caseId(k: CaseKey): string {
  return [k.system, k.mode, k.format, k.prefetch, k.workload, k.link, k.rttMs !== undefined ? `rtt${k.rttMs}` : undefined]
    .filter((x) => x !== undefined)
    .join('/');
}
