// Builds the eStargz TOC JSON while the writer emits the blob, with the fields the
// reference writer (stargz-snapshotter estargz.Writer) records: names (cleaned), type,
// size, modtime (RFC 3339, whole seconds, omitted for 0), mode, uid/gid, owner names
// (only when they change for an id), devices, xattrs (base64), the file digest, and per
// chunk offset, chunkOffset, chunkSize (omitted on a last, short chunk) and chunkDigest.

import { invalidArgument } from '../../errors.js';
import type { LayerEntry } from '../layer-entry.js';
import { LIMITS } from '../layer-index.js';

type JsonEntry = Record<string, string | number | Record<string, string>>;

export class TocBuilder {
  private readonly list: JsonEntry[] = [];
  private readonly lastUser = new Map<number, string>();
  private readonly lastGroup = new Map<number, string>();

  /** Adds a non-chunk entry; returns it so the writer can add data fields. */
  addEntry(entry: LayerEntry, uname: string, gname: string): JsonEntry {
    if (this.list.length >= LIMITS.maxEntries) throw invalidArgument(`layer has more than ${LIMITS.maxEntries} entries`);
    const e: JsonEntry = { name: entry.name, type: entry.type };
    if (entry.type === 'reg' && entry.size > 0) e.size = entry.size;
    const modtime = formatModtime(entry.mtimeMs);
    if (modtime) e.modtime = modtime;
    if (entry.linkName) e.linkName = entry.linkName;
    if (entry.mode) e.mode = entry.mode;
    if (entry.uid) e.uid = entry.uid;
    if (entry.gid) e.gid = entry.gid;
    if (uname && this.lastUser.get(entry.uid) !== uname) {
      e.userName = uname;
      this.lastUser.set(entry.uid, uname);
    }
    if (gname && this.lastGroup.get(entry.gid) !== gname) {
      e.groupName = gname;
      this.lastGroup.set(entry.gid, gname);
    }
    if (entry.devMajor) e.devMajor = entry.devMajor;
    if (entry.devMinor) e.devMinor = entry.devMinor;
    const keys = Object.keys(entry.xattrs);
    if (keys.length > 0) e.xattrs = Object.fromEntries(keys.map((k) => [k, entry.xattrs[k]!.toString('base64')]));
    this.list.push(e);
    return e;
  }

  /** A `chunk` entry (second and later chunks of a file). */
  addChunk(name: string): JsonEntry {
    const e: JsonEntry = { name, type: 'chunk' };
    this.list.push(e);
    return e;
  }

  /** The TOC JSON, checked against the cap readers enforce. */
  toJSON(): Buffer {
    const json = Buffer.from(JSON.stringify({ version: 1, entries: this.list }), 'utf8');
    if (json.length > LIMITS.maxTocBytes) {
      throw invalidArgument(`eStargz TOC would be ${json.length} bytes, over the cap of ${LIMITS.maxTocBytes}`);
    }
    return json;
  }
}

/** Go's time.RFC3339 in UTC, rounded to whole seconds; '' for the epoch or out-of-range years. */
function formatModtime(mtimeMs: number): string {
  if (!Number.isFinite(mtimeMs)) return '';
  const seconds = Math.round(mtimeMs / 1000);
  if (seconds === 0) return '';
  const date = new Date(seconds * 1000);
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) return '';
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
