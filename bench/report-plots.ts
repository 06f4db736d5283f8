// The plots: vega-lite specs compiled and rendered to SVG headless (vega View, renderer none).

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchReport, CaseResult } from './types.js';

interface Row {
  workload: string;
  series: string;
  link: string;
  rttMs?: number;
  ms: number;
}

function series(c: CaseResult): string {
  if (c.system === 'lazysnap') return `lazysnap ${c.mode}${c.format && c.format !== 'estargz' ? ` ${c.format}` : ''}${c.prefetch && c.prefetch !== 'landmark' ? ` prefetch ${c.prefetch}` : ''}`;
  if (c.system === 'stargz-peer') return `stargz peer ${c.mode}`;
  return c.system;
}

function rows(cases: CaseResult[], keep: (c: CaseResult) => boolean): Row[] {
  return cases
    .filter((c) => !c.skipped && c.ms && keep(c))
    .map((c) => ({ workload: c.workload, series: series(c), link: c.link, rttMs: c.rttMs, ms: c.ms!.median }));
}

function title(text: string, data: Row[]): string {
  return data.length ? text : `${text} (no data yet: those rows were skipped)`;
}

function bars(text: string, data: Row[], groupBy: 'workload' | 'link'): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title(text, data),
    width: { step: 14 },
    height: 260,
    data: { values: data },
    mark: 'bar',
    encoding: {
      x: { field: groupBy, type: 'nominal', title: groupBy },
      xOffset: { field: 'series', type: 'nominal' },
      y: { field: 'ms', type: 'quantitative', title: 'median time to first result (ms, log)', scale: { type: 'symlog' } },
      color: { field: 'series', type: 'nominal', title: null },
      tooltip: [{ field: 'series' }, { field: 'ms', format: '.0f' }],
    },
  } as TopLevelSpec;
}

function rttLines(data: Row[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title("cold start (python -c 'import json') against round-trip time", data),
    width: 420,
    height: 260,
    data: { values: data },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'rttMs', type: 'quantitative', title: 'added round-trip time (ms)' },
      y: { field: 'ms', type: 'quantitative', title: 'median time to first result (ms)' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** file name -> SVG text */
export async function renderPlots(r: BenchReport): Promise<Map<string, string>> {
  const coldWarm = rows(r.cases, (c) => (c.system === 'lazysnap' || c.system === 'stargz-peer' || c.system === 'native') && c.link !== 'sweep' && (c.link === 'loopback' || c.link === 'local') && (c.prefetch ?? 'landmark') === 'landmark' && (c.format === undefined || c.format.startsWith('estargz')));
  const lazyFull = rows(r.cases, (c) => c.workload === 'python-import-json' && c.link !== 'sweep' && (c.mode === 'cold' || c.mode === 'full-pull') && (c.prefetch ?? 'landmark') === 'landmark');
  const sweep = rows(r.cases, (c) => c.link === 'sweep');
  const out = new Map<string, string>();
  out.set('cold-vs-warm.svg', await toSvg(bars('cold vs warm (loopback; native = unpacked tree on local disk)', coldWarm, 'workload')));
  out.set('lazy-vs-full-pull.svg', await toSvg(bars("python -c 'import json': lazy mount vs full pull vs the stargz peer", lazyFull, 'link')));
  out.set('rtt-sweep.svg', await toSvg(rttLines(sweep)));
  return out;
}
