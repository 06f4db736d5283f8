// Issue 9's warm sequential read figure: a 1 GiB file read through a warm lazysnap mount
// against the same file on local disk, both from the page cache (goal: at least 0.8x the
// native throughput).
//
// The image: one layer holding one 1 GiB file of zeros, built here (tar + gzip, umoci raw
// add-layer), pushed, and converted to eStargz by lazysnap. Zeros keep the cold fill quick
// (the layer compresses to about a megabyte); the warm read never looks at the content:
// it is served from the page cache (kernel_cache), which is what the figure is about.
// Native: the same file written to local disk and read once before timing, so it is
// page-cached as well. Each side is read `runs` times with dd (1 MiB blocks); medians.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';
import { run } from './exec.js';
import { Lazysnap } from './lazysnap-cli.js';
import { pushFromLayout } from './registry-fixtures.js';
import { stat } from './stats.js';

export interface LargeReadReport {
  fileBytes: number;
  runs: number;
  /** Median wall time of one warm `dd` over the file. */
  nativeMs: number;
  lazysnapMs: number;
  /** Throughput ratio: lazysnap / native (1 = as fast as native). */
  ratio: number;
  /** The first (cold) read through the mount: fetch, decompress, verify, cache. */
  coldMs: number;
  goalRatio: 0.8;
}

const FILE_BYTES = 1024 * 1024 * 1024;
const FILE = 'large.bin';

export async function largeRead(o: { repoRoot: string; host: string; runs: number }): Promise<LargeReadReport> {
  const dir = await mkdtemp(join(tmpdir(), 'lazysnap-bench-large-'));
  const removeDir = defer(`large-read dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  try {
    const ref = await buildImage(o.repoRoot, o.host, dir);
    const native = join(dir, 'native', FILE);
    await run('mkdir', ['-p', join(dir, 'native')]);
    // Real blocks (not a sparse file, which reads without touching the disk).
    await run('dd', ['if=/dev/zero', `of=${native}`, 'bs=1M', `count=${FILE_BYTES / 1048576}`, 'conv=fsync', 'status=none'], { timeoutMs: 600_000 });
    await timedRead(native); // into the page cache
    const nativeTimes: number[] = [];
    for (let i = 0; i < o.runs; i++) nativeTimes.push(await timedRead(native));

    const ls = await Lazysnap.create(o.repoRoot);
    const mnt = join(dir, 'mnt');
    await run('mkdir', [mnt]);
    let umount: (() => Promise<void>) | undefined;
    try {
      umount = await ls.mount(ref, mnt, 'none');
      const coldMs = await timedRead(join(mnt, FILE));
      const lazyTimes: number[] = [];
      for (let i = 0; i < o.runs; i++) lazyTimes.push(await timedRead(join(mnt, FILE)));
      const nativeMs = stat(nativeTimes)!.median;
      const lazysnapMs = stat(lazyTimes)!.median;
      return { fileBytes: FILE_BYTES, runs: o.runs, nativeMs, lazysnapMs, ratio: nativeMs / lazysnapMs, coldMs, goalRatio: 0.8 };
    } finally {
      await umount?.();
      await ls.close();
    }
  } finally {
    await removeDir();
  }
}

/** One sequential read of the whole file with 1 MiB blocks, in ms. */
async function timedRead(path: string): Promise<number> {
  const t0 = performance.now();
  await run('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M', 'status=none'], { timeoutMs: 600_000 });
  return performance.now() - t0;
}

/** HOST/bench/large:estargz, built from a one-file layer. */
async function buildImage(repoRoot: string, host: string, dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  const layout = join(dir, 'layout');
  await run('mkdir', ['-p', rootfs]);
  await run('dd', ['if=/dev/zero', `of=${join(rootfs, FILE)}`, 'bs=1M', `count=${FILE_BYTES / 1048576}`, 'status=none'], { timeoutMs: 600_000 });
  // umoci raw add-layer takes an uncompressed tar and compresses it itself.
  await run('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', join(dir, 'layer.tar'), '.'], { timeoutMs: 600_000 });
  await rm(rootfs, { recursive: true, force: true });
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:large`]);
  await run('umoci', ['raw', 'add-layer', '--image', `${layout}:large`, join(dir, 'layer.tar')], { timeoutMs: 600_000 });
  await rm(join(dir, 'layer.tar'), { force: true });
  await pushFromLayout(layout, 'large', `${host}/bench/large:gzip`);
  const ls = await Lazysnap.create(repoRoot);
  try {
    await ls.cli(['convert', `${host}/bench/large:gzip`, `${host}/bench/large:estargz`, '--format', 'estargz'], 900_000);
  } finally {
    await ls.close();
  }
  return `${host}/bench/large:estargz`;
}
