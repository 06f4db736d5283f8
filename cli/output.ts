// Output conventions (CLI.md): results on stdout (`--json`: one JSON document and nothing
// else there); progress and diagnostics on stderr; nothing on stderr with --quiet except
// the final error line.

import { codeOf, exitCodeOf } from '../src/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** One clear line on stderr naming what is wrong; the process exits 1 (user) or 2 (ours). */
export function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`lazysnap: ${message}\n`);
  if (process.env.LAZYSNAP_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
  if (codeOf(err) === 'INTERNAL' && err instanceof Error && !process.env.LAZYSNAP_DEBUG) {
    process.stderr.write('lazysnap: (internal error; LAZYSNAP_DEBUG=1 shows the stack)\n');
  }
  process.exit(exitCodeOf(err));
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

/** Parses `10G`, `512MiB`, `1048576` into bytes; INVALID_ARGUMENT-style Error otherwise. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(text.trim());
  if (!m) throw new Error(`bad size "${text}": want a number with an optional K, M, G or T suffix`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new Error(`size "${text}" is too large`);
  return n;
}
