// latest.md: the machine, then one table row per case (skipped rows say why).

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
    'Times in ms as min / median, from the start of mount (or pull) to the end of the workload. Ratios are of medians',
    'against baselines of this same run: full pull = skopeo copy + umoci unpack, native = the unpacked tree on local disk, peer = stargz-snapshotter.',
    '',
    '| workload | case | link | time ms (min / median) | mount ms | vs full pull | vs native | vs peer | bytes fetched | of compressed | bytes vs peer | requests | daemon RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of r.cases) {
    if (c.skipped) {
      lines.push(`| ${c.workload} | ${what(c)} | ${link(c)} | skipped: ${c.skipped.replace(/\|/g, '\\|')} | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${c.workload} | ${what(c)} | ${link(c)} | ${ms(c.ms)} | ${c.setupMs ? c.setupMs.median.toFixed(0) : ''} | ${x(c.ratios.timeVsFullPull)} | ${x(c.ratios.timeVsNative)} | ${x(c.ratios.timeVsPeer)} | ${mb(c.bytesFetched?.median)} | ${pct(c.ratios.bytesVsCompressed)} | ${x(c.ratios.bytesVsPeer)} | ${c.requests ? c.requests.median.toFixed(0) : ''} | ${mb(c.daemonRssBytes?.median)} |`,
    );
  }
  if (r.notes.length) lines.push('', 'Notes:', '', ...r.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}
