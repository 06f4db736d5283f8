// Hardlinks inside one layer: a hardlink entry names an earlier entry of the same layer
// (the latest one by that name, itself possibly a hardlink). Every index needs the entry
// that holds the content; this is the one place that rule lives.

import type { LayerEntry } from './layer-entry.js';

/** Hardlink entry -> the non-hardlink entry holding its content (dangling ones absent). */
export function hardlinkTargets(entries: Iterable<LayerEntry>): Map<LayerEntry, LayerEntry> {
  const targets = new Map<LayerEntry, LayerEntry>();
  const latest = new Map<string, LayerEntry>();
  for (const entry of entries) {
    if (entry.type === 'hardlink') {
      const t = latest.get(entry.linkName);
      const target = t?.type === 'hardlink' ? targets.get(t) : t;
      if (target) targets.set(entry, target);
    }
    latest.set(entry.name, entry);
  }
  return targets;
}
