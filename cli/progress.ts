// Progress on stderr: bars on a TTY (cli-progress), plain lines otherwise, nothing with
// --quiet. Commands report through this one small interface.

import cliProgress from 'cli-progress';
import { humanBytes } from './output.js';
import { silentProgress, type Progress } from '../src/progress.js';

export type { Progress };

export function createProgress(opts: { quiet: boolean; json: boolean }): Progress {
  if (opts.quiet) return silent;
  if (process.stderr.isTTY) return new BarProgress();
  return new LineProgress();
}

const silent = silentProgress;

class LineProgress implements Progress {
  private readonly tasks = new Map<string, { label: string; total: number; done: number; lastPct: number }>();
  start(id: string, label: string, total: number): void {
    this.tasks.set(id, { label, total, done: 0, lastPct: 0 });
    process.stderr.write(`${label}: started${total ? ` (${humanBytes(total)})` : ''}\n`);
  }
  update(id: string, done: number): void {
    const t = this.tasks.get(id);
    if (!t) return;
    t.done = done;
    if (!t.total) return;
    // One line per 25% keeps logs readable.
    const pct = Math.floor((done / t.total) * 4) * 25;
    if (pct > t.lastPct && pct < 100) {
      t.lastPct = pct;
      process.stderr.write(`${t.label}: ${pct}% (${humanBytes(done)} of ${humanBytes(t.total)})\n`);
    }
  }
  finish(id: string, note?: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    process.stderr.write(`${t.label}: ${note ?? 'done'}\n`);
    this.tasks.delete(id);
  }
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  close(): void {}
}

class BarProgress implements Progress {
  private readonly multi = new cliProgress.MultiBar(
    {
      clearOnComplete: false,
      hideCursor: true,
      stream: process.stderr,
      format: ' {bar} {percentage}% | {label} | {doneH}/{totalH}',
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; total: number }>();
  start(id: string, label: string, total: number): void {
    const bar = this.multi.create(Math.max(total, 1), 0, { label, doneH: humanBytes(0), totalH: total ? humanBytes(total) : '?' });
    this.bars.set(id, { bar, total });
  }
  update(id: string, done: number): void {
    const b = this.bars.get(id);
    b?.bar.update(Math.min(done, Math.max(b.total, 1)), { doneH: humanBytes(done) });
  }
  finish(id: string, note?: string): void {
    const b = this.bars.get(id);
    if (!b) return;
    b.bar.update(Math.max(b.total, 1), note ? { doneH: note } : {});
    b.bar.stop();
  }
  note(text: string): void {
    this.multi.log(`${text}\n`);
  }
  close(): void {
    this.multi.stop();
  }
}
