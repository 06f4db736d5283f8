// latest.md: the machine, then one table row per case (skipped rows say why).

import type { MemoryReport } from './daemon-memory.js';
import type { LargeReadReport } from './large-read.js';
import type { LazyReadReport } from './lazy-read.js';
import type { BenchReport, CaseResult, Stat } from './types.js';

const ms = (s?: Stat): string => (s ? `${s.min.toFixed(0)} / ${s.median.toFixed(0)}` : '');
const mb = (n?: number): string => (n === undefined ? '' : `${(n / 1e6).toFixed(2)} MB`);
const x = (n?: number): string => (n === undefined ? '' : `${n.toFixed(2)}x`);
const pct = (n?: number): string => (n === undefined ? '' : `${(n * 100).toFixed(1)} %`);

function what(c: CaseResult): string {
  const parts: string[] = [c.system, c.mode];
  if (c.format) parts.push(c.format);
  if (c.prefetch) parts.push(`prefetch ${c.prefetch}`);
  return parts.join(', ');
}

function link(c: CaseResult): string {
  return c.rttMs !== undefined && c.link !== 'loopback' ? `${c.link} (rtt ${c.rttMs} ms)` : c.link;
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `# lazysnap bench: ${r.image.name}${r.options.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.kernel}, node ${m.node}; ${m.date}.`,
    `Runs per case: ${r.options.runs}. Throttled link: ${(r.options.bandwidthBitsPerSec / 1e6).toFixed(0)} Mbit/s, ${r.options.rttMs} ms RTT (bench/throttle-proxy.ts).`,
    `Image: ${r.image.files ?? '?'} files; compressed: ${Object.entries(r.image.compressedBytes).map(([f, n]) => `${f} ${mb(n)}`).join(', ')}.`,
    '',
    'Times in ms as min / median, from the start of the mount (or pull) command to the end of the workload: for lazysnap and',
    'the peer alike, the wall time of the mount command (CLI/script start, daemon or store start, manifest, indexes, FUSE mount)',
    "+ the workload. \"vs peer\" compares those; in brackets, against the peer's own mountMs + the workload (its script's checks",
    'left out). Ratios are of medians against baselines of this same run: full pull = skopeo copy + umoci unpack, native = the',
    'unpacked tree on local disk, peer = stargz-snapshotter on the same image (the same format column: lazysnap\'s eStargz',
    'conversion, or ctr-remote\'s, which both loaders read). Cold = fresh state dir and fresh daemon (peer: fresh store).',
    'Bytes fetched = the tool\'s own count (lazysnap status bytesFetched, the peer\'s fetchedBytes); wire = server-to-client bytes',
    'through the bench proxy (throttled and counted links only), dup = blob ranges that crossed it more than once.',
    'lazysnap RSS: all lazysnap processes of the state dir (daemon + mount servers) after the workload.',
    'The machine is shared (2 cores, other jobs running): times are noisy.',
    '',
    '| workload | case | link | time ms (min / median) | mount ms | vs full pull | vs native | vs peer | bytes fetched | of compressed | bytes vs peer | wire | dup | requests | lazysnap RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of r.cases) {
    if (c.skipped) {
      lines.push(`| ${c.workload} | ${what(c)} | ${link(c)} | skipped: ${c.skipped.replace(/\|/g, '\\|')} | | | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${c.workload} | ${what(c)} | ${link(c)} | ${ms(c.ms)} | ${c.setupMs ? c.setupMs.median.toFixed(0) : ''} | ${x(c.ratios.timeVsFullPull)} | ${x(c.ratios.timeVsNative)} | ${peer(c)} | ${mb(c.bytesFetched?.median)} | ${pct(c.ratios.bytesVsCompressed)} | ${x(c.ratios.bytesVsPeer)} | ${mb(c.wireBytes?.median)} | ${mb(c.duplicateBytes?.median)} | ${c.requests ? c.requests.median.toFixed(0) : ''} | ${mb(c.daemonRssBytes?.median)} |`,
    );
  }
  const flagged = r.cases.filter((c) => c.notes.length > 0);
  if (flagged.length) lines.push('', 'Flags:', '', ...flagged.flatMap((c) => c.notes.map((n) => `- ${c.id}: ${n}`)));
  if (r.lazyRead) lines.push('', renderLazyRead(r.lazyRead));
  if (r.memory) lines.push('', renderMemory(r.memory));
  if (r.largeRead) lines.push('', renderLargeRead(r.largeRead));
  if (r.notes.length) lines.push('', 'Notes:', '', ...r.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

function peer(c: CaseResult): string {
  if (c.ratios.timeVsPeer === undefined) return '';
  return `${x(c.ratios.timeVsPeer)}${c.ratios.timeVsPeerOwnMount !== undefined ? ` (${x(c.ratios.timeVsPeerOwnMount)})` : ''}`;
}

const met = (ok: boolean): string => (ok ? 'met' : '**not met**');

/** Issue 4's section (bench/lazy-read.ts). */
export function renderLazyRead(r: LazyReadReport): string {
  const l = ['## Lazy reads (issue 4)', '', `Image: ${r.image} (registry traffic through the bench proxy, no added delay: every byte counted).`, '',
    '| figure | measured | goal | |', '| --- | --- | --- | --- |'];
  if (r.cat) {
    const c = r.cat;
    l.push(`| \`cat ${c.path}\` (${mb(c.fileBytes)}): layer bytes fetched | ${mb(c.fetchedLayerBytes)} = ${x(c.ratio)} of file compressed ${mb(c.fileCompressedBytes)} + TOCs ${mb(c.tocBytes)}; dup ${mb(c.duplicateBytes)} | <= 1.2 x file + TOCs = ${mb(c.goalBytes)} | ${met(c.met)} |`);
  }
  if (r.fullRead) {
    const f = r.fullRead;
    for (const c of f.cases) {
      l.push(`| every file, ${c.how}: bytes | ${mb(c.layerBytes)} = ${x(c.bytesRatio)} of the blobs (${mb(f.blobBytes)})${c.bytesFetched !== undefined ? `; status bytesFetched ${mb(c.bytesFetched)}` : ''}; dup ${mb(c.duplicateBytes)} | <= 1.05x | ${met(c.bytesRatio <= 1.05)} |`);
      l.push(`| every file, ${c.how}: time | ${c.ms.toFixed(0)} ms = ${x(c.timeRatio)} of download + tar -xzf (${f.baselineMs.toFixed(0)} ms) | <= 2x | ${met(c.timeRatio <= 2)} |`);
    }
  }
  if (r.cacheHit) l.push(`| memory-cache hits, 1 MiB reads | ${r.cacheHit.gbPerSec.toFixed(2)} GB/s (${r.cacheHit.reads} reads) | >= 1 GB/s | ${met(r.cacheHit.met)} |`);
  if (r.firstUse) {
    const u = r.firstUse;
    l.push(`| first use, mount to end of \`python3 -c 'import json'\` | gzip fallback ${u.gzipMs.toFixed(0)} ms vs eStargz ${u.estargzMs.toFixed(0)} ms = ${x(u.ratio)} (median of ${u.runs}) | (README figure) | |`);
  }
  if (r.notes.length) l.push('', ...r.notes.map((n) => `- ${n}`));
  return `${l.join('\n')}\n`;
}

/** Issue 9's warm 1 GiB read (bench/large-read.ts). */
export function renderLargeRead(l: LargeReadReport): string {
  const gib = l.fileBytes / 2 ** 30;
  const rate = (ms: number) => `${(gib / (ms / 1000)).toFixed(2)} GiB/s`;
  return [
    '## Warm sequential read of a 1 GiB file (issue 9)',
    '',
    `One ${gib} GiB file of zeros in an eStargz layer, mounted with --prefetch none and read once (cold: ${l.coldMs.toFixed(0)} ms, ${rate(l.coldMs)}); then \`dd bs=1M\` over it ${l.runs} times through the mount and ${l.runs} times over the same file on local disk, both page-cached (medians).`,
    '',
    `| read | time ms | throughput |`,
    `| --- | --- | --- |`,
    `| native, page-cached | ${l.nativeMs.toFixed(0)} | ${rate(l.nativeMs)} |`,
    `| lazysnap, warm | ${l.lazysnapMs.toFixed(0)} | ${rate(l.lazysnapMs)} |`,
    '',
    `**${l.ratio.toFixed(2)}x native throughput**; goal >= ${l.goalRatio}: ${met(l.ratio >= l.goalRatio)}.`,
    '',
  ].join('\n');
}

/** Issue 9's memory figure (bench/daemon-memory.ts). */
export function renderMemory(m: MemoryReport): string {
  const both = (p: { rssBytes: number; anonBytes: number }) => `${mb(p.anonBytes)} (RSS ${mb(p.rssBytes)})`;
  const servers = m.servers.map((p, i) => `${m.images[i]} ${both(p)}`).join(', ');
  return [
    '## Daemon memory per mounted file (issue 9)',
    '',
    `One daemon; ${m.images.join(' and ')} mounted (--prefetch none), walked with \`find\` and one file of each read: ${m.files} files. Memory is anonymous memory (heap, malloc, WebAssembly: what a process holds itself), RSS in brackets.`,
    `Fixed base, per process: the daemon with ${m.baseImage} (a small image) mounted, walked and settled ${both(m.daemonBase)} (idle before any mount: RSS ${mb(m.baseRssBytes)}); a mount server: the server of that small image, ${both(m.serverBase)}; a spare server serves nothing (all base).`,
    `Settled ${((m.settleMs ?? 0) / 1000).toFixed(0)} s after the walks: daemon ${both(m.daemon)}, servers ${servers}; memory chunk cache ${mb(m.memoryCacheBytes)}.`,
    `Per file in RSS: ${m.bytesPerFileRss} bytes. Every process (${m.processes}) in RSS against the idle daemon's, as runs before this split counted: ${m.bytesPerFileAllProcesses} bytes per file settled; walk only (RSS after the walks - right after the mounts): ${m.walkOnlyBytesPerFile} bytes per file.`,
    '',
    ...(m.allRunsBytesPerFile ? [`The figures above are those of the median run of ${m.allRunsBytesPerFile.length}, each with a fresh daemon (per file: ${m.allRunsBytesPerFile.join(', ')} bytes): what a process keeps after the same work differs somewhat from run to run.`] : []),
    '',
    `**${m.bytesPerFile} bytes per file** above the base, settled${m.bytesPerFileWithoutCache !== undefined ? ` (${m.bytesPerFileWithoutCache} without the chunk cache's bytes)` : ''}; goal <= ${m.goalBytesPerFile}: ${met(m.bytesPerFile <= m.goalBytesPerFile)}.`,
    '',
  ].join('\n');
}
