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
  bytesFetched?: number;
  requests?: number;
  daemonRssBytes?: number;
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
  /** Compressed size of the image the case read (sum of its layers). */
  compressedBytes?: number;
  /** Medians as ratios against the baselines of the same run (absent where no baseline ran). */
  ratios: {
    timeVsFullPull?: number;
    timeVsNative?: number;
    timeVsPeer?: number;
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
}

/** A case that cannot run here: the reason ends up in the table as "skipped: reason". */
export class Skip extends Error {}

export function caseId(k: CaseKey): string {
  return [k.system, k.mode, k.format, k.prefetch, k.workload, k.link, k.rttMs !== undefined ? `rtt${k.rttMs}` : undefined]
    .filter((x) => x !== undefined)
    .join('/');
}
