// Hardlinks inside one layer: a hardlink entry names an earlier entry of the same layer
// (the latest one by that name, itself possibly a hardlink). Every index needs the entry
// that holds the content; this is the one place that rule lives.

import type { LayerEntry } from './layer-entry.js';

/** Hardlink entry -> the non-hardlink entry holding its content (dangling ones absent). */
export function hardlinkTargets<E extends LayerEntry>(entries: readonly E[]): Map<E, E> {
  const targets = new Map<E, E>();
  // Most layers have no hardlinks and the rest a few: remember only the names they link
  // to, not every name of the layer (a map of 8000 paths cost a cold mount ~8 ms).
  const linked = new Set<string>();
  for (const entry of entries) if (entry.type === 'hardlink') linked.add(entry.linkName);
  if (linked.size === 0) return targets;
  const latest = new Map<string, E>();
  for (const entry of entries) {
    if (entry.type === 'hardlink') {
      const t = latest.get(entry.linkName);
      const target = t?.type === 'hardlink' ? targets.get(t) : t;
      if (target) targets.set(entry, target);
    }
    if (linked.has(entry.name)) latest.set(entry.name, entry);
  }
  return targets;
}
