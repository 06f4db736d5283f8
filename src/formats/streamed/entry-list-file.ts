// The streamed fallback's completion record: the entry list and payload offsets of the
// local uncompressed tar, as JSON next to it. Written (atomically) only after the tar is
// complete and its blob digest verified, so its presence means "no refetch needed".

import { readFile, rename, writeFile } from 'node:fs/promises';
import type { EntryType, LayerEntry } from '../layer-entry.js';
import { LIMITS } from '../layer-index.js';
import type { PlacedEntry } from '../tar/plain-index.js';

const VERSION = 1;
const TYPES: ReadonlySet<string> = new Set(['reg', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo']);

export interface EntryListRecord {
  readonly blobDigest: string;
  readonly format: 'gzip' | 'zstd';
  readonly tarSize: number;
  readonly compressedSize: number;
  readonly placed: readonly PlacedEntry[];
}

interface JsonEntry {
  name: string; type: string; size: number; mode: number; uid: number; gid: number; mtimeMs: number;
  linkName: string; devMajor: number; devMinor: number; xattrs?: Record<string, string>; dataOffset: number;
}

export async function writeEntryList(path: string, rec: EntryListRecord): Promise<void> {
  const entries: JsonEntry[] = rec.placed.map(({ entry: e, dataOffset }) => {
    const x = Object.keys(e.xattrs);
    return {
      name: e.name, type: e.type, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs,
      linkName: e.linkName, devMajor: e.devMajor, devMinor: e.devMinor, dataOffset,
      ...(x.length ? { xattrs: Object.fromEntries(x.map((k) => [k, e.xattrs[k]!.toString('base64')])) } : {}),
    };
  });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const body = { version: VERSION, blobDigest: rec.blobDigest, format: rec.format, tarSize: rec.tarSize, compressedSize: rec.compressedSize, entries };
  await writeFile(tmp, JSON.stringify(body), { flag: 'wx' });
  await rename(tmp, path);
}

/** Reads a record; undefined when absent or not a record we wrote (then the caller refetches). */
export async function readEntryList(path: string, blobDigest: string): Promise<EntryListRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as { version?: unknown; blobDigest?: unknown; format?: unknown; tarSize?: unknown; compressedSize?: unknown; entries?: unknown };
    if (v.version !== VERSION || v.blobDigest !== blobDigest || (v.format !== 'gzip' && v.format !== 'zstd')) return undefined;
    if (!isCount(v.tarSize) || !isCount(v.compressedSize) || !Array.isArray(v.entries) || v.entries.length > LIMITS.maxEntries) return undefined;
    const placed: PlacedEntry[] = [];
    for (const j of v.entries as JsonEntry[]) {
      if (typeof j.name !== 'string' || !TYPES.has(j.type) || typeof j.linkName !== 'string' || !isCount(j.dataOffset) ||
          ![j.size, j.mode, j.uid, j.gid, j.devMajor, j.devMinor].every(isCount) || typeof j.mtimeMs !== 'number') return undefined;
      const xattrs = j.xattrs ? Object.fromEntries(Object.entries(j.xattrs).map(([k, b]) => [k, Buffer.from(b, 'base64')])) : {};
      const entry: LayerEntry = {
        name: j.name, type: j.type as EntryType, size: j.size, mode: j.mode, uid: j.uid, gid: j.gid, mtimeMs: j.mtimeMs,
        linkName: j.linkName, devMajor: j.devMajor, devMinor: j.devMinor, xattrs,
      };
      placed.push({ entry, dataOffset: j.dataOffset });
    }
    return { blobDigest, format: v.format, tarSize: v.tarSize, compressedSize: v.compressedSize, placed };
  } catch {
    return undefined;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
