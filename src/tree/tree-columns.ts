// The storage behind a CompactTree: the fields of node `ino` at index ino - 1 of typed
// arrays, the rare fields in sparse Maps keyed by ino, and directories as contiguous
// ranges of edges (child ino + name bytes in one shared pool). Shaped for memory per file:
// no object per node, per name or per directory (an object graph cost ~250 bytes a node,
// this ~50 plus the name's UTF-8 bytes). Written once by writeColumns, then read only.

import type { LayerEntry } from '../formats/layer-entry.js';
import type { NodeSource, NodeType } from './tree-node.js';

/** Type codes: the top 4 bits of a typeMode slot (the low 12 are the permission bits). */
export const NODE_TYPES: readonly NodeType[] = ['reg', 'dir', 'symlink', 'char', 'block', 'fifo'];
const TYPE_SHIFT = 12;
const DIR_BITS = 1 << TYPE_SHIFT;

/** The typeMode slot of a node: its type's index in NODE_TYPES, then its permission bits. */
export function packTypeMode(type: NodeType, mode: number): number {
  // A switch, not a Record lookup: string keys made this a slow keyed load in the build loop.
  switch (type) {
    case 'reg': return mode;
    case 'dir': return DIR_BITS | mode;
    case 'symlink': return (2 << TYPE_SHIFT) | mode;
    case 'char': return (3 << TYPE_SHIFT) | mode;
    case 'block': return (4 << TYPE_SHIFT) | mode;
    case 'fifo': return (5 << TYPE_SHIFT) | mode;
  }
}

/** A uid/gid slot holding this may have its real value in `wideIds` (it did not fit 32 bits). */
export const U32_MAX = 0xffffffff;

export interface Device {
  readonly major: number;
  readonly minor: number;
}

export interface WideIds {
  readonly uid: number;
  readonly gid: number;
}

/** The entry at position `pos` of layer `layer` (what a node's source names). */
export type EntryResolver = (layer: number, pos: number) => LayerEntry;

/** The arrays and maps of a TreeColumns, written by writeColumns. */
export interface ColumnArrays {
  /** Type and permission bits: packTypeMode. */
  readonly typeMode: Uint16Array;
  readonly uid: Uint32Array;
  readonly gid: Uint32Array;
  readonly mtimeMs: Float64Array;
  readonly size: Float64Array;
  readonly nlink: Uint32Array;
  /** Layer of a regular file's content; `noSource` for nodes without content. */
  readonly sourceLayer: Uint8Array | Uint16Array;
  readonly noSource: number;
  /** Position of the content's entry in that layer's entries. */
  readonly sourcePos: Uint32Array;
  /** nodes + 1 slots: the edges of ino i are [firstEdge[i - 1], firstEdge[i]) (empty for non-dirs). */
  readonly firstEdge: Uint32Array;
  /** Per edge: the child's ino. A directory's edges are sorted by name bytes (binary search). */
  readonly edgeIno: Uint32Array;
  /** edges + 1 slots: the name of edge e is names[nameStart[e], nameStart[e + 1]). */
  readonly nameStart: Uint32Array;
  /** Every edge's name, UTF-8, back to back in edge order. */
  readonly names: Buffer;
  /** Symlink targets (non-empty ones). */
  readonly linkNames: ReadonlyMap<number, string>;
  /** Only nodes that have extended attributes. */
  readonly xattrs: ReadonlyMap<number, Readonly<Record<string, Buffer>>>;
  /** Only devices with a non-zero number. */
  readonly devices: ReadonlyMap<number, Device>;
  /** uid/gid pairs that do not fit 32 bits (tar allows any size; their slots hold U32_MAX). */
  readonly wideIds: ReadonlyMap<number, WideIds>;
}

// The class carries the arrays as fields of its own (declared by this interface, copied in
// by the constructor): the hot paths read `this.typeMode[...]`, one property load less
// than through a holder object.
export interface TreeColumns extends ColumnArrays {}

export class TreeColumns {
  readonly nodeCount: number;

  /** `entryAt` gives back the entries the tree was built from: a source is materialised from it. */
  constructor(private readonly entryAt: EntryResolver, a: ColumnArrays) {
    this.nodeCount = a.typeMode.length;
    Object.assign(this, a);
  }

  typeOf(ino: number): NodeType {
    return NODE_TYPES[this.typeMode[ino - 1]! >>> TYPE_SHIFT]!;
  }

  isDir(ino: number): boolean {
    return (this.typeMode[ino - 1]! & ~0o7777) === DIR_BITS;
  }

  modeOf(ino: number): number {
    return this.typeMode[ino - 1]! & 0o7777;
  }

  uidOf(ino: number): number {
    const v = this.uid[ino - 1]!;
    return v === U32_MAX ? (this.wideIds.get(ino)?.uid ?? v) : v;
  }

  gidOf(ino: number): number {
    const v = this.gid[ino - 1]!;
    return v === U32_MAX ? (this.wideIds.get(ino)?.gid ?? v) : v;
  }

  sourceOf(ino: number): NodeSource | undefined {
    const layer = this.sourceLayer[ino - 1]!;
    if (layer === this.noSource) return undefined;
    return { layer, entry: this.entryAt(layer, this.sourcePos[ino - 1]!) };
  }

  /**
   * The child of `dirIno` whose name is the UTF-8 bytes key[start, end), or 0. Non-dirs
   * have no edges, so a path through a file finds nothing without a type check.
   */
  childIno(dirIno: number, key: Uint8Array, start: number, end: number): number {
    let lo = this.firstEdge[dirIno - 1]!;
    let hi = this.firstEdge[dirIno]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(key, start, end, this.names, this.nameStart[mid]!, this.nameStart[mid + 1]!);
      if (c === 0) return this.edgeIno[mid]!;
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return 0;
  }

  /** The child of `dirIno` named `name`, or 0. */
  childNamed(dirIno: number, name: string): number {
    const n = scratch.encode(name);
    return this.childIno(dirIno, scratch.bytes, 0, n);
  }

  /** The name of edge `e`, decoded (names are stored as bytes only). */
  edgeName(e: number): string {
    return this.names.toString('utf8', this.nameStart[e], this.nameStart[e + 1]);
  }
}

/**
 * a[as, ae) against b[bs, be), bytewise like Buffer.compare: < 0, 0 or > 0. A JS loop:
 * names are short, and Buffer#compare (a call into C++ per probe) made lookups 2-3x slower.
 */
function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return (ae - as) - (be - bs);
}

/**
 * A reusable buffer to encode a looked-up name or path into, so a lookup allocates no
 * bytes. Shared: every use is synchronous and done before the next one starts.
 */
class ScratchKey {
  bytes = Buffer.allocUnsafeSlow(1024);

  /** Writes `s` as UTF-8 at the start of `bytes`; returns its byte length. */
  encode(s: string): number {
    // 3 bytes per UTF-16 unit at most (a surrogate pair: 4 bytes for 2 units).
    if (s.length * 3 > this.bytes.length) this.bytes = Buffer.allocUnsafeSlow(Math.max(s.length * 3, this.bytes.length * 2));
    return this.bytes.write(s, 0);
  }
}

export const scratch = new ScratchKey();
