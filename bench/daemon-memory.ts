// Issue 9's memory figure: resident set of the daemon per mounted file, above a fixed base.
// Where lazysnap serves each mount from its own process (mount-server), the files' state
// lives there: every process on the state dir is counted, and the fixed base of each is
// taken to be what the idle daemon used before any mount (one node process with lazysnap's
// code loaded). A second figure, walk-only, counts only what `find` added.
// One daemon (started on its own, so that its base is read before any mount), then both
// fixture images mounted with --prefetch none and walked with `find` so that every node of
// both trees is loaded; (RSS after - RSS before) / files. The memory chunk cache holds only
// what the indexes needed here, and status says how much: reported beside the figure.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';
import { run, start, stopChild } from './exec.js';
import { Lazysnap, pidsOfStateDir, rssBytes } from './lazysnap-cli.js';

export interface MemoryReport {
  images: string[];
  files: number;
  baseRssBytes: number;
  /** RSS of all processes 1 s after the walks. */
  afterRssBytes: number;
  /** RSS of all processes settleMs later: what the per-file figure is computed from. */
  settledRssBytes: number;
  settleMs: number;
  /** cache.memoryBytes from status after the walks (chunk data, not per-file state). */
  memoryCacheBytes?: number;
  /** (settled RSS - processes x base) / files. */
  bytesPerFile: number;
  /** The same from the RSS 1 s after the walks. */
  bytesPerFileRightAfter: number;
  /** Processes summed in afterRssBytes (daemon + mount servers). */
  processes: number;
  /** (RSS after the walks - RSS right after the mounts) / files, all processes. */
  walkOnlyBytesPerFile: number;
  /** Same, with the memory chunk cache's bytes taken out. */
  bytesPerFileWithoutCache?: number;
  goalBytesPerFile: 300;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SETTLE_MS = 15_000;

/** refs: HOST/NAME:TAG of each image to mount in the one daemon. */
export async function measureDaemonMemory(repoRoot: string, refs: string[]): Promise<MemoryReport> {
  const ls = await Lazysnap.create(repoRoot);
  const dirs = await mkdtemp(join(tmpdir(), 'lazysnap-bench-mem-'));
  const removeDirs = defer(`memory mountpoints ${dirs}`, () => rm(dirs, { recursive: true, force: true }));
  // The daemon in the foreground as our child: the CLI only starts one on a mount, and the
  // base must be read before any mount.
  const daemon = start('node', [join(repoRoot, 'bin', 'lazysnap'), '--state-dir', ls.stateDir, '--quiet', 'daemon']);
  const stopDaemon = defer('memory-bench daemon', () => stopChild(daemon, 15_000));
  const umounts: (() => Promise<void>)[] = [];
  try {
    let pid: number | undefined;
    for (let i = 0; i < 200 && !pid; i++) {
      if (daemon.exitCode !== null) throw new Error(`lazysnap daemon exited ${daemon.exitCode} before answering`);
      await sleep(100);
      pid = await ls.daemonPid();
    }
    if (!pid) throw new Error('lazysnap daemon did not answer status within 20 s');
    await sleep(1000); // let start-up garbage settle before the base is read
    const baseRssBytes = (await rssBytes(pid)) ?? 0;
    const total = async (): Promise<{ rss: number; n: number }> => {
      const pids = await pidsOfStateDir(ls.stateDir);
      let rss = 0;
      for (const p of pids) rss += (await rssBytes(p)) ?? 0;
      return { rss, n: pids.length };
    };
    const mnts: string[] = [];
    for (const [i, ref] of refs.entries()) {
      const mnt = join(dirs, `m${i}`);
      await run('mkdir', [mnt]);
      umounts.push(await ls.mount(ref, mnt, 'none'));
      mnts.push(mnt);
    }
    await sleep(1000);
    const mounted = await total();
    let files = 0;
    for (const mnt of mnts) {
      // -xdev: count this mount only. Every entry is now a node lazysnap holds.
      const r = await run('sh', ['-c', 'find "$1" -xdev | wc -l', 'find', mnt], { timeoutMs: 600_000 });
      files += Number(r.stdout.trim()) - 1; // the mountpoint itself is no file of the image
    }
    await sleep(1000);
    const after = await total();
    // Steady state: the heap a burst (opening an image, a walk) grew is handed back to the
    // OS by V8's memory reducer some seconds later (the servers collect once after mounting).
    await sleep(SETTLE_MS);
    const settled = await total();
    const st = (await ls.status()) as { cache?: { memoryBytes?: number } };
    const memoryCacheBytes = st.cache?.memoryBytes;
    const above = settled.rss - settled.n * baseRssBytes;
    return {
      images: refs,
      files,
      baseRssBytes,
      afterRssBytes: after.rss,
      settledRssBytes: settled.rss,
      settleMs: SETTLE_MS,
      memoryCacheBytes,
      bytesPerFile: Math.round(above / files),
      bytesPerFileRightAfter: Math.round((after.rss - after.n * baseRssBytes) / files),
      processes: settled.n,
      walkOnlyBytesPerFile: Math.round((after.rss - mounted.rss) / files),
      bytesPerFileWithoutCache: memoryCacheBytes !== undefined ? Math.round((above - memoryCacheBytes) / files) : undefined,
      goalBytesPerFile: 300,
    };
  } finally {
    for (const u of umounts.reverse()) await u();
    await ls.close();
    await stopDaemon();
    await removeDirs();
  }
}
