// LayerEntry: one entry of one layer, as the layer's tar (or its TOC) lists it, before any
// overlay rule is applied. Whiteouts (`.wh.NAME`, `.wh..wh..opq`) appear here as the
// regular empty files they are in the tar; src/tree applies them.

export type EntryType = 'reg' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /**
   * Clean relative path: no leading `./` or `/`, no trailing `/`, no `.` or `..`
   * components, no empty components. The layer root itself is `""` (rare; tars may
   * carry `./`). Parsers reject (or skip with a warning) names that cannot be cleaned.
   */
  readonly name: string;
  readonly type: EntryType;
  /** Size of a regular file's content in bytes; 0 for every other type. */
  readonly size: number;
  /** Permission bits including setuid/setgid/sticky (mask 0o7777); no file-type bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time, milliseconds since the epoch (may be fractional from PAX). */
  readonly mtimeMs: number;
  /**
   * Symlink: the target exactly as stored. Hardlink: the cleaned path (same rules as
   * `name`) of an earlier entry of the same layer.
   */
  readonly linkName: string;
  readonly devMajor: number;
  readonly devMinor: number;
  /** Extended attributes (PAX SCHILY.xattr.*, TOC xattrs), values as raw bytes. */
  readonly xattrs: Readonly<Record<string, Buffer>>;
  /** Optional sha256 of the whole file content (`sha256:hex`), when the index knows it. */
  readonly digest?: string;
}

/** The xattrs of an entry (or node) that has none: one frozen object shared by every reader. */
export const NO_XATTRS: Readonly<Record<string, Buffer>> = Object.freeze({});

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
