// Issue 4's figures (lazy layers, without FUSE where possible):
//  (a) `cat` of one ~1 MiB file of the eStargz image: blob bytes on the link against that
//      file's compressed bytes + the TOCs (goal: at most 1.2x the file + the TOCs);
//  (b) every file of the eStargz image read through lazysnap (a mount with --prefetch none
//      and `tar -c` over it; and `lazysnap unpack`) against one plain download of the blobs
//      + `tar -xzf`: bytes (goal <= 1.05x) and time (goal <= 2x);
//  (c) memory-cache hits of 1 MiB reads (bench/cache-hit.ts; goal >= 1 GB/s);
//  (d) first use of the gzip fallback against eStargz: mount to the end of
//      `python3 -c 'import json'` (for the README).
// Registry traffic of (a) and (b) goes through the bench proxy with no added delay or limit,
// so that every byte is counted the same way for lazysnap and for the plain download.
// Run alone: node dist/bench/lazy-read.js [--runs N]  (sets up its own registry), or as a
// section of main.js.

import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { readEstargzToc } from '../src/formats/estargz/read-toc.js';
import { openEstargz } from '../src/formats/estargz/open-estargz.js';
import { FileRangeReader } from '../src/formats/file-range-reader.js';
import { defer } from './cleanup.js';
import { run } from './exec.js';
import { Lazysnap } from './lazysnap-cli.js';
import { stat } from './stats.js';
import { startThrottleProxy } from './throttle-proxy.js';
import { WireLog, type WireFigures } from './wire-log.js';
import type { Workload } from './workloads.js';

export interface LazyReadReport {
  image: string;
  notes: string[];
  cat?: {
    path: string;
    fileBytes: number;
    fileCompressedBytes: number;
    /** Compressed TOC + footer of every layer (cat resolves the path in the merged tree). */
    tocBytes: number;
    /** Layer blob bytes on the link (config and manifest left out). */
    fetchedLayerBytes: number;
    duplicateBytes: number;
    /** fetchedLayerBytes / (fileCompressedBytes + tocBytes) */
    ratio: number;
    goalBytes: number;
    met: boolean;
  };
  fullRead?: {
    blobBytes: number;
    baselineMs: number;
    cases: {
      how: string;
      ms: number;
      layerBytes: number;
      bytesFetched?: number;
      duplicateBytes: number;
      bytesRatio: number;
      timeRatio: number;
      met: boolean;
    }[];
  };
  cacheHit?: { gbPerSec: number; reads: number; met: boolean };
  firstUse?: { estargzMs: number; gzipMs: number; ratio: number; runs: number };
}

const MiB = 1024 * 1024;
const log = (msg: string): void => void process.stderr.write(`bench: lazy-read: ${msg}\n`);

interface Manifest {
  layers: { digest: string; size: number }[];
}

async function manifestOf(host: string, nameTag: string): Promise<Manifest> {
  const [name, tag] = nameTag.split(/:(?=[^:/]+$)/);
  const res = await fetch(`http://${host}/v2/${name}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (!res.ok) throw new Error(`GET manifest ${host}/${nameTag}: HTTP ${res.status}`);
  return (await res.json()) as Manifest;
}

function layerBytes(f: WireFigures, m: Manifest): number {
  return m.layers.reduce((n, l) => n + (f.perBlob[l.digest] ?? 0), 0);
}

/** One plain download of every layer blob (node fetch, to files); returns the files. */
async function downloadBlobs(host: string, nameTag: string, m: Manifest, dir: string): Promise<string[]> {
  const name = nameTag.split(/:(?=[^:/]+$)/)[0];
  const files: string[] = [];
  for (const l of m.layers) {
    const res = await fetch(`http://${host}/v2/${name}/blobs/${l.digest}`);
    if (!res.ok || !res.body) throw new Error(`GET blob ${l.digest}: HTTP ${res.status}`);
    const file = join(dir, l.digest.replace('sha256:', ''));
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
    files.push(file);
  }
  return files;
}

/** The regular file nearest 1 MiB (the top layer's, on a tie), with its compressed bytes. */
async function pickFile(blobs: string[]): Promise<{ path: string; size: number; compressed: number; tocBytes: number }> {
  let best: { path: string; size: number; compressed: number } | undefined;
  let tocBytes = 0;
  for (const blob of blobs) {
    const reader = await FileRangeReader.open(blob);
    try {
      const toc = await readEstargzToc(reader);
      tocBytes += reader.size - toc.tocOffset; // the gzipped TOC tar + the footer
      const index = await openEstargz(reader);
      for (const e of index.entries()) {
        if (e.type !== 'reg') continue;
        const d = Math.abs(e.size - MiB);
        if (best && d > Math.abs(best.size - MiB)) continue;
        const compressed = index.chunks(e).reduce((n, c) => n + c.blobLength, 0);
        best = { path: `/${e.name.replace(/^\.?\//, '')}`, size: e.size, compressed };
      }
    } finally {
      await reader.close();
    }
  }
  if (!best) throw new Error('no regular file in the eStargz image');
  return { ...best, tocBytes };
}

export interface LazyReadInput {
  repoRoot: string;
  /** host:port of the bench registry (direct). */
  host: string;
  /** NAME:TAG of the eStargz and the gzip image. */
  estargz: string;
  gzip?: string;
  /** `python3 -c 'import json'` (or undefined when the image has no python3). */
  importJson?: Workload;
  runs: number;
}

export async function lazyRead(i: LazyReadInput): Promise<LazyReadReport> {
  const report: LazyReadReport = { image: `${i.host}/${i.estargz}`, notes: [] };
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    log(what);
    try {
      await fn();
    } catch (err) {
      const msg = `${what}: ${(err as Error).message.split('\n')[0]}`;
      log(`  skipped: ${msg}`);
      report.notes.push(msg);
    }
  };
  const wire = new WireLog();
  const proxy = await startThrottleProxy({ target: i.host, bandwidthBitsPerSec: Infinity, rttMs: 0, wireLog: wire });
  const stopProxy = defer('lazy-read counting proxy', () => proxy.stop());
  const work = await mkdtemp(join(tmpdir(), 'lazysnap-bench-lazyread-'));
  const removeWork = defer(`lazy-read dir ${work}`, () => rm(work, { recursive: true, force: true }));
  const ref = `${proxy.host}/${i.estargz}`;
  try {
    const m = await manifestOf(i.host, i.estargz);
    const blobBytes = m.layers.reduce((n, l) => n + l.size, 0);

    // (b) baseline first: it also leaves the blobs on disk for (a)'s reckoning.
    const blobDir = join(work, 'blobs');
    const baseRoot = join(work, 'baseline');
    await mkdir(blobDir);
    await mkdir(baseRoot);
    wire.reset();
    const t0 = performance.now();
    const blobs = await downloadBlobs(proxy.host, i.estargz, m, blobDir);
    for (const b of blobs) await run('tar', ['-xzf', b, '-C', baseRoot], { timeoutMs: 600_000 });
    const baselineMs = performance.now() - t0;
    await rm(baseRoot, { recursive: true, force: true });
    report.fullRead = { blobBytes, baselineMs, cases: [] };
    const full = report.fullRead;
    const fullCase = (how: string, ms: number, f: WireFigures, bytesFetched?: number): void => {
      const bytes = layerBytes(f, m);
      const bytesRatio = bytes / blobBytes;
      const timeRatio = ms / baselineMs;
      full.cases.push({ how, ms, layerBytes: bytes, bytesFetched, duplicateBytes: f.duplicateBytes, bytesRatio, timeRatio, met: bytesRatio <= 1.05 && timeRatio <= 2 });
    };

    await attempt('(a) cat of one ~1 MiB file', async () => {
      const f = await pickFile(blobs);
      const ls = await Lazysnap.create(i.repoRoot);
      try {
        wire.reset();
        await ls.cli(['cat', ref, f.path]);
        const w = wire.figures();
        const fetched = layerBytes(w, m);
        const goalBytes = 1.2 * f.compressed + f.tocBytes;
        report.cat = {
          path: f.path, fileBytes: f.size, fileCompressedBytes: f.compressed, tocBytes: f.tocBytes, fetchedLayerBytes: fetched,
          duplicateBytes: w.duplicateBytes, ratio: fetched / (f.compressed + f.tocBytes), goalBytes, met: fetched <= goalBytes,
        };
      } finally {
        await ls.close();
      }
    });

    await attempt('(b) every file through a mount (--prefetch none) and tar -c', async () => {
      const ls = await Lazysnap.create(i.repoRoot);
      const mnt = join(work, 'mnt');
      await mkdir(mnt);
      try {
        wire.reset();
        const t = performance.now();
        const umount = await ls.mount(ref, mnt, 'none');
        try {
          await run('sh', ['-c', 'tar -c -C "$1" . | wc -c', 'tar', mnt], { timeoutMs: 900_000, discardStdout: true });
          const ms = performance.now() - t;
          const fig = await ls.mountFigures(mnt);
          fullCase('mount --prefetch none + tar -c', ms, wire.figures(), fig.mount?.bytesFetched);
        } finally {
          await umount();
        }
      } finally {
        await ls.close();
      }
    });

    await attempt('(b) every file through lazysnap unpack', async () => {
      const ls = await Lazysnap.create(i.repoRoot);
      try {
        wire.reset();
        const t = performance.now();
        await ls.cli(['unpack', ref, join(work, 'unpacked')], 900_000);
        fullCase('lazysnap unpack', performance.now() - t, wire.figures());
      } finally {
        await ls.close();
        await rm(join(work, 'unpacked'), { recursive: true, force: true });
      }
    });

    await attempt('(c) memory-cache hit throughput', async () => {
      const r = await run('node', [join(i.repoRoot, 'dist', 'bench', 'cache-hit.js'), '2048'], { timeoutMs: 300_000 });
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { gbPerSec: number; reads: number };
      report.cacheHit = { gbPerSec: j.gbPerSec, reads: j.reads, met: j.gbPerSec >= 1 };
    });

    if (i.gzip && i.importJson) {
      const w = i.importJson;
      await attempt('(d) first use: gzip fallback vs eStargz (python3 -c "import json")', async () => {
        const times: Record<'estargz' | 'gzip', number[]> = { estargz: [], gzip: [] };
        for (let r = 0; r < i.runs; r++) {
          for (const [fmt, tag] of [['estargz', i.estargz], ['gzip', i.gzip!]] as const) {
            // Direct to the registry, as the main table's loopback rows.
            times[fmt].push(await coldRun(i.repoRoot, `${i.host}/${tag}`, join(work, `first-${fmt}-${r}`), w));
          }
        }
        const e = stat(times.estargz)!.median;
        const g = stat(times.gzip)!.median;
        report.firstUse = { estargzMs: e, gzipMs: g, ratio: g / e, runs: i.runs };
      });
    }
  } finally {
    await removeWork();
    await stopProxy();
  }
  return report;
}

/** Fresh state dir and daemon, mount (default prefetch), the workload: wall ms. */
async function coldRun(repoRoot: string, ref: string, mnt: string, w: Workload): Promise<number> {
  const ls = await Lazysnap.create(repoRoot);
  await mkdir(mnt);
  try {
    const t = performance.now();
    const umount = await ls.mount(ref, mnt);
    try {
      await w.run(mnt);
      return performance.now() - t;
    } finally {
      await umount();
    }
  } finally {
    await ls.close();
  }
}

// Alone: a registry with the python fixture (gzip) and lazysnap's eStargz conversion of it.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { standalone } = await import('./lazy-read-main.js');
  await standalone();
}
