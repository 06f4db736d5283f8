// Issue 9's memory figure: what lazysnap's processes hold per mounted file, above a fixed
// base. Where lazysnap serves each mount from its own process (mount-server), the files'
// state lives there, so the fixed base is per process:
//   the daemon: its RSS once the small image below is mounted and settled (the code of
//     mounting and of the control API loaded: what the first mount costs, whatever its size);
//   a mount server: the RSS of the server of a small image (the edge-case fixture, a few
//     dozen files), mounted, walked and settled the same way: node, lazysnap's code, the
//     FUSE session, the decoders and the caches' fixed parts, which every mount costs
//     whatever its size;
//   a spare server (started ahead of the next mount, serving nothing): all base.
// Per file = (daemon - its base + each measured server - the small image's server) / files,
// in anonymous memory (heap, malloc, WebAssembly memory: what a process holds itself).
// VmRSS also counts file pages: the node binary's code a process has run, shared with every
// node process (measured: a daemon's RSS grew 7 MB across two mounts and a status call,
// 1.3 MB of it anonymous), and the cache's mapped files. The RSS figure is reported beside.
// The figure before this split (every process counted against the idle daemon's RSS,
// which leaves each server's own fixed cost in the per-file figure) is reported beside it.
// Both measured images are mounted with --prefetch none and walked with `find`, so that
// every node of both trees is loaded, and one file of each is read (the base's too: what
// the read path costs once, whatever the number of files, is base); settled = SETTLE_MS
// after the walks (the servers collect their garbage once they go quiet). The memory chunk
// cache holds what the indexes and that one read needed, and status says how much:
// reported beside the figure.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';
import { run } from './exec.js';
import { Lazysnap, pidsOfStateDir, rssBytes, anonBytes } from './lazysnap-cli.js';

export interface MemoryReport {
  images: string[];
  /** The small image whose server is the mount-server base. */
  baseImage: string;
  files: number;
  /** Idle daemon's RSS before any mount. */
  baseRssBytes: number;
  /** The daemon with the small image mounted, settled: the daemon's base. */
  daemonBase: ProcessMemory;
  /** The small image's server, settled: every server's base. */
  serverBase: ProcessMemory;
  /** Each measured image's server, settled (same order as images). */
  servers: ProcessMemory[];
  /** The daemon, settled. */
  daemon: ProcessMemory;
  /** RSS of all processes 1 s after the walks. */
  afterRssBytes: number;
  /** RSS of all processes settleMs later. */
  settledRssBytes: number;
  settleMs: number;
  /** cache.memoryBytes from status after the walks (chunk data, not per-file state). */
  memoryCacheBytes?: number;
  /** (daemon - base + servers - server base) / files, in anonymous memory: the figure the goal is judged on. */
  bytesPerFile: number;
  /** The same in VmRSS (shared code pages included). */
  bytesPerFileRss: number;
  /** (all processes settled - processes x idle daemon RSS) / files: the figure of earlier runs. */
  bytesPerFileAllProcesses: number;
  /** Processes summed in afterRssBytes (daemon + mount servers + spare). */
  processes: number;
  /** (RSS after the walks - RSS right after the mounts) / files, all processes. */
  walkOnlyBytesPerFile: number;
  /** bytesPerFile with the memory chunk cache's bytes taken out. */
  bytesPerFileWithoutCache?: number;
  goalBytesPerFile: 300;
  /** bytesPerFile of every run, when the figure is the median of several (this report is the median's). */
  allRunsBytesPerFile?: number[];
}

/** VmRSS, and anonymous memory (what the process holds itself). */
export interface ProcessMemory {
  rssBytes: number;
  anonBytes: number;
}

async function memoryOf(pid: number, what: string): Promise<ProcessMemory> {
  const [rss, anon] = await Promise.all([rssBytes(pid), anonBytes(pid)]);
  if (rss === undefined || anon === undefined) throw new Error(`${what} (pid ${pid}) is gone: its memory cannot be read`);
  return { rssBytes: rss, anonBytes: anon };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SETTLE_MS = 15_000;

/**
 * measureDaemonMemory `runs` times, each with a fresh daemon, and the run of the median
 * figure. Why several: what a process keeps after the same work differs from run to run
 * (V8's heap pages, malloc arenas). Before mount servers ran WebAssembly in V8's baseline
 * compiler only, one glibc thread arena kept 5-7 MB in some servers of a run and not in
 * others (the small image's too): runs differed by up to ~900 bytes per file. Since, they
 * differed by up to ~300 in a full bench run on a busy machine, and by 24 in a run of this
 * section alone on a quiet one.
 */
export async function measureDaemonMemoryMedian(repoRoot: string, refs: string[], baseRef: string, runs = 3): Promise<MemoryReport> {
  const reports: MemoryReport[] = [];
  for (let i = 0; i < runs; i++) reports.push(await measureDaemonMemory(repoRoot, refs, baseRef));
  const sorted = [...reports].sort((a, b) => a.bytesPerFile - b.bytesPerFile);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, allRunsBytesPerFile: reports.map((r) => r.bytesPerFile) };
}

/** refs: HOST/NAME:TAG of each image to measure; baseRef: the small image of the server base. */
export async function measureDaemonMemory(repoRoot: string, refs: string[], baseRef: string): Promise<MemoryReport> {
  const ls = await Lazysnap.create(repoRoot);
  const dirs = await mkdtemp(join(tmpdir(), 'lazysnap-bench-mem-'));
  const removeDirs = defer(`memory mountpoints ${dirs}`, () => rm(dirs, { recursive: true, force: true }));
  const umounts: (() => Promise<void>)[] = [];
  try {
    // Started as every mount starts it (same node flags), before any mount: its base.
    await ls.cli(['daemon', 'start']);
    const pid = await ls.daemonPid();
    if (!pid) throw new Error('lazysnap daemon start returned, but status names no daemon pid');
    await sleep(1000); // let start-up garbage settle before the base is read
    const baseRssBytes = (await rssBytes(pid)) ?? 0;
    const total = async (): Promise<{ rss: number; n: number }> => {
      const pids = await pidsOfStateDir(ls.stateDir);
      let rss = 0;
      for (const p of pids) rss += (await rssBytes(p)) ?? 0;
      return { rss, n: pids.length };
    };
    const walk = async (mnt: string): Promise<number> => {
      // -xdev: count this mount only. Every entry is now a node lazysnap holds.
      const r = await run('sh', ['-c', 'find "$1" -xdev | wc -l', 'find', mnt], { timeoutMs: 600_000 });
      // And one file read: a mount that serves anything has used its read path (decoder,
      // chunk cache, the layer's blob order), in the base's server as in the measured ones.
      await run('sh', ['-c', 'f=$(find "$1" -xdev -type f -size +0 -size -8k | head -n 1) && cat "$f" >/dev/null', 'read', mnt], { timeoutMs: 600_000 });
      return Number(r.stdout.trim()) - 1; // the mountpoint itself is no file of the image
    };
    const mountAt = async (ref: string, name: string): Promise<string> => {
      const mnt = join(dirs, name);
      await run('mkdir', [mnt]);
      umounts.push(await ls.mount(ref, mnt, 'none'));
      return mnt;
    };
    const baseMnt = await mountAt(baseRef, 'base');
    await walk(baseMnt);
    await sleep(SETTLE_MS);
    // Read as the end figures are: right after a status call (its code and answers are
    // part of what the daemon holds then, whatever the number of files).
    await ls.status();
    const daemonBase = await memoryOf(pid, 'the daemon');
    const mnts: string[] = [];
    for (const [i, ref] of refs.entries()) mnts.push(await mountAt(ref, `m${i}`));
    await sleep(1000);
    const mounted = await total();
    let files = 0;
    for (const mnt of mnts) files += await walk(mnt);
    await sleep(1000);
    const after = await total();
    await sleep(SETTLE_MS);
    const settled = await total();
    const st = await ls.status();
    const serverOf = async (mnt: string): Promise<ProcessMemory> => {
      const serverPid = st.mounts?.find((m) => m.mountpoint === mnt)?.serverPid;
      if (!serverPid) throw new Error(`status names no server for ${mnt}: the per-process base needs one`);
      return memoryOf(serverPid, `the server of ${mnt}`);
    };
    const serverBase = await serverOf(baseMnt);
    const servers: ProcessMemory[] = [];
    for (const mnt of mnts) servers.push(await serverOf(mnt));
    const daemon = await memoryOf(pid, 'the daemon');
    const memoryCacheBytes = (st as { cache?: { memoryBytes?: number } }).cache?.memoryBytes;
    const above = (k: keyof ProcessMemory): number =>
      daemon[k] - daemonBase[k] + servers.reduce((sum, m) => sum + m[k] - serverBase[k], 0);
    return {
      images: refs,
      baseImage: baseRef,
      files,
      baseRssBytes,
      daemonBase,
      serverBase,
      servers,
      daemon,
      afterRssBytes: after.rss,
      settledRssBytes: settled.rss,
      settleMs: SETTLE_MS,
      memoryCacheBytes,
      bytesPerFile: Math.round(above('anonBytes') / files),
      bytesPerFileRss: Math.round(above('rssBytes') / files),
      bytesPerFileAllProcesses: Math.round((settled.rss - settled.n * baseRssBytes) / files),
      processes: settled.n,
      walkOnlyBytesPerFile: Math.round((after.rss - mounted.rss) / files),
      bytesPerFileWithoutCache: memoryCacheBytes !== undefined ? Math.round((above('anonBytes') - memoryCacheBytes) / files) : undefined,
      goalBytesPerFile: 300,
    };
  } finally {
    for (const u of umounts.reverse()) await u();
    await ls.close();
    await removeDirs();
  }
}
