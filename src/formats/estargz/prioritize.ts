// Reordering a tar for prefetch, as stargz-snapshotter's estargz.Build does: each
// prioritised path moves to the front together with its parent directories (parents
// first) and, for a hardlink, its target; everything else keeps its order. Every entry of
// a moved name moves, in its original order, so "last entry wins" still holds.

import { cleanTarName } from '../tar/tar-name.js';

export interface OrderedEntry {
  readonly name: string;
  readonly type: string;
  readonly linkName: string;
}

export interface PrefetchOrder {
  /** Indices of the entries to write first (before `.prefetch.landmark`). */
  readonly first: readonly number[];
  /** Indices of the rest, in tar order. */
  readonly rest: readonly number[];
  /** Prioritised paths that are not in the layer. */
  readonly missed: readonly string[];
}

export function prefetchOrder(entries: readonly OrderedEntry[], prioritized: readonly string[]): PrefetchOrder {
  const byName = new Map<string, number[]>();
  entries.forEach((e, i) => {
    const list = byName.get(e.name);
    if (list) list.push(i);
    else byName.set(e.name, [i]);
  });
  const moved = new Set<number>();
  const visiting = new Set<string>();
  const first: number[] = [];
  const missed: string[] = [];

  const move = (name: string): void => {
    if (visiting.has(name)) return; // a hardlink loop: stop
    visiting.add(name);
    if (name !== '') move(parentOf(name));
    for (const i of byName.get(name) ?? []) {
      if (moved.has(i)) continue;
      const e = entries[i]!;
      if (e.type === 'hardlink') move(e.linkName);
      if (moved.has(i)) continue;
      moved.add(i);
      first.push(i);
    }
    visiting.delete(name);
  };

  for (const raw of prioritized) {
    let name: string;
    try {
      name = cleanTarName(raw, 'prioritised file');
    } catch {
      missed.push(raw);
      continue;
    }
    if (!byName.has(name)) {
      missed.push(raw);
      continue;
    }
    move(name);
  }
  const rest = entries.map((_, i) => i).filter((i) => !moved.has(i));
  return { first, rest, missed };
}

function parentOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}
