// Cleaning entry names into LayerEntry's form: relative, no `.`/`..`/empty components.
// A `..` that would climb above the layer root is a breakout attempt: rejected, as
// containerd and moby reject it, rather than silently rewritten.

import { invalidArgument } from '../../errors.js';

/** A NUL, a `.` or `..` component, an empty component (`//`, leading or trailing `/`). */
const NEEDS_CLEANING = /\0|(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;

/** Cleans a tar name (or a hardlink target). `named` names the entry in errors. */
export function cleanTarName(raw: string, named: string | (() => string) = 'tar entry'): string {
  // Nearly every name is already clean; splitting and joining each would cost a TOC of
  // 10^5 entries several milliseconds.
  if (!NEEDS_CLEANING.test(raw)) return raw;
  const what = typeof named === 'string' ? named : named();
  if (raw.includes('\0')) throw invalidArgument(`${what} name ${JSON.stringify(raw)} contains a NUL byte`);
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw invalidArgument(`${what} name ${JSON.stringify(raw)} climbs above the layer root`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}
