// Min and median of each figure over a case's runs.

import type { Sample, Stat } from './types.js';

export function stat(values: number[]): Stat | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median };
}

export function statOf(runs: Sample[], field: keyof Sample): Stat | undefined {
  return stat(runs.map((r) => r[field]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
}
