// Copies the Builder's merged MergedNode graph into TreeColumns in one depth-first walk,
// numbering the nodes as it goes (root = 1, children in JS string order of their names,
// a hardlinked node at its first name). One walk, arrays sized from upper bounds the
// Builder counted and trimmed at the end: the copy is on the cold mount path, and a
// counting walk plus per-directory listings cost more than the trim's copies.
//
// A directory's edges are written when it is numbered, before its children, so edges
// lie in ino order of their directories; the child inos are filled in after each child
// is numbered. Edges are in JS string order, which is the name-byte order lookups
// binary-search in unless a name has a surrogate (outside the BMP): such directories are
// written again, sorted by bytes, once the walk is done.

import { invalidArgument } from '../errors.js';
import { NO_SOURCE, type MergedNode } from './merged-node.js';
import { TreeColumns, U32_MAX, packTypeMode, type ColumnArrays, type Device, type EntryResolver, type WideIds } from './tree-columns.js';

/** Upper bounds of the merged graph, counted by the Builder as it adds names. */
export interface GraphBounds {
  /** Names ever added to a directory: at least the edges, and the nodes but the root. */
  readonly names: number;
  /** Their UTF-16 lengths summed: the name bytes if all are ASCII. */
  readonly nameChars: number;
}

/** Lone or paired surrogates: the only names whose UTF-16 order differs from their UTF-8 byte order. */
const SURROGATE = /[\uD800-\uDFFF]/;

export function writeColumns(root: MergedNode, bounds: GraphBounds, layerCount: number, entryAt: EntryResolver): TreeColumns {
  const w = new ColumnWriter(bounds, layerCount);
  w.visit(root);
  return new TreeColumns(entryAt, w.finish());
}

/** A directory whose edges must be rewritten in name-byte order. */
interface ByteOrderFixup {
  readonly firstEdge: number;
  readonly names: readonly string[];
  readonly children: ReadonlyMap<string, MergedNode>;
}

class ColumnWriter {
  private nodes = 0;
  private edges = 0;
  private readonly typeMode: Uint16Array;
  private readonly uid: Uint32Array;
  private readonly gid: Uint32Array;
  private readonly mtimeMs: Float64Array;
  private readonly size: Float64Array;
  private readonly nlink: Uint32Array;
  private readonly sourceLayer: Uint8Array | Uint16Array;
  private readonly noSource: number;
  private readonly sourcePos: Uint32Array;
  private readonly firstEdge: Uint32Array;
  private readonly edgeIno: Uint32Array;
  private readonly nameStart: Uint32Array;
  private readonly pool: NamePool;
  private readonly linkNames = new Map<number, string>();
  private readonly xattrs = new Map<number, Readonly<Record<string, Buffer>>>();
  private readonly devices = new Map<number, Device>();
  private readonly wideIds = new Map<number, WideIds>();
  private readonly fixups: ByteOrderFixup[] = [];

  constructor(bounds: GraphBounds, layerCount: number) {
    const nodes = bounds.names + 1;
    this.typeMode = new Uint16Array(nodes);
    this.uid = new Uint32Array(nodes);
    this.gid = new Uint32Array(nodes);
    this.mtimeMs = new Float64Array(nodes);
    this.size = new Float64Array(nodes);
    this.nlink = new Uint32Array(nodes);
    // One byte a node for the usual chains (an image rarely has more than ~100 layers).
    if (layerCount < 0xff) {
      this.sourceLayer = new Uint8Array(nodes);
      this.noSource = 0xff;
    } else if (layerCount < 0xffff) {
      this.sourceLayer = new Uint16Array(nodes);
      this.noSource = 0xffff;
    } else {
      throw invalidArgument(`an image of ${layerCount} layers is more than the ${0xffff - 1} a tree supports`);
    }
    this.sourcePos = new Uint32Array(nodes);
    this.firstEdge = new Uint32Array(nodes + 1);
    this.edgeIno = new Uint32Array(bounds.names);
    this.nameStart = new Uint32Array(bounds.names + 1);
    this.pool = new NamePool(bounds.nameChars);
  }

  /** Numbers `node` (not yet numbered), copies it, then its subtree. */
  visit(node: MergedNode): void {
    const i = this.nodes++;
    node.ino = i + 1;
    this.firstEdge[i] = this.edges;
    this.copyFields(i, node);
    const children = node.children;
    if (!children) return;
    const names = [...children.keys()].sort();
    const first = this.edges;
    let inBmp = true;
    for (const name of names) {
      this.nameStart[this.edges++] = this.pool.length;
      if (this.pool.add(name) !== name.length && SURROGATE.test(name)) inBmp = false;
    }
    let dirs = 0;
    for (let j = 0; j < names.length; j++) {
      const child = children.get(names[j]!)!;
      if (child.ino === 0) this.visit(child); // else: a second name of a hardlinked file
      this.edgeIno[first + j] = child.ino;
      if (child.type === 'dir') dirs++;
    }
    this.nlink[i] = 2 + dirs;
    if (!inBmp) this.fixups.push({ firstEdge: first, names, children });
  }

  private copyFields(i: number, node: MergedNode): void {
    const ino = i + 1;
    this.typeMode[i] = packTypeMode(node.type, node.mode);
    if (fitsIdSlot(node.uid) && fitsIdSlot(node.gid)) {
      this.uid[i] = node.uid;
      this.gid[i] = node.gid;
    } else {
      this.uid[i] = this.gid[i] = U32_MAX;
      this.wideIds.set(ino, { uid: node.uid, gid: node.gid });
    }
    this.mtimeMs[i] = node.mtimeMs;
    this.size[i] = node.size;
    this.nlink[i] = node.nlink;
    if (node.sourceLayer === NO_SOURCE) {
      this.sourceLayer[i] = this.noSource;
    } else {
      this.sourceLayer[i] = node.sourceLayer;
      this.sourcePos[i] = node.sourcePos;
    }
    if (node.linkName !== '') this.linkNames.set(ino, node.linkName);
    if (node.hasXattrs) this.xattrs.set(ino, node.xattrs);
    if (node.devMajor !== 0 || node.devMinor !== 0) this.devices.set(ino, { major: node.devMajor, minor: node.devMinor });
  }

  /** Rewrites one directory's edges (same names, so the same byte range) in name-byte order. */
  private rewriteInByteOrder(f: ByteOrderFixup): void {
    const sorted = f.names.map((name) => ({ name, bytes: Buffer.from(name) })).sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    let at = this.nameStart[f.firstEdge]!;
    sorted.forEach(({ name, bytes }, j) => {
      this.nameStart[f.firstEdge + j] = at;
      at += bytes.copy(this.pool.bytes, at);
      this.edgeIno[f.firstEdge + j] = f.children.get(name)!.ino;
    });
  }

  /** The columns, trimmed to the nodes and edges written. */
  finish(): ColumnArrays {
    for (const f of this.fixups) this.rewriteInByteOrder(f);
    const n = this.nodes;
    const e = this.edges;
    this.firstEdge[n] = e;
    this.nameStart[e] = this.pool.length;
    return {
      typeMode: trim(this.typeMode, n),
      uid: trim(this.uid, n),
      gid: trim(this.gid, n),
      mtimeMs: trim(this.mtimeMs, n),
      size: trim(this.size, n),
      nlink: trim(this.nlink, n),
      sourceLayer: trim(this.sourceLayer, n),
      noSource: this.noSource,
      sourcePos: trim(this.sourcePos, n),
      firstEdge: trim(this.firstEdge, n + 1),
      edgeIno: trim(this.edgeIno, e),
      nameStart: trim(this.nameStart, e + 1),
      names: this.pool.finish(),
      linkNames: this.linkNames,
      xattrs: this.xattrs,
      devices: this.devices,
      wideIds: this.wideIds,
    };
  }
}

/** An id a Uint32Array slot holds as is (U32_MAX itself marks ids kept in wideIds). */
const fitsIdSlot = (id: number): boolean => id >>> 0 === id && id !== U32_MAX;

/** `a` itself when it has exactly `n` slots, else a copy of its first `n` (the rest would stay allocated). */
function trim<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, n: number): T {
  return a.length === n ? a : (a.slice(0, n) as T);
}

/**
 * The names buffer, grown as written. ASCII names are copied by a JS loop (a native
 * Buffer#write per name cost more than the rest of the copy); others go through
 * Buffer#write.
 */
class NamePool {
  bytes: Buffer;
  /** Bytes written. */
  length = 0;

  /** `capacity`: the bytes the names take if all ASCII (their UTF-16 length). */
  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafeSlow(capacity);
  }

  /** Appends `name` as UTF-8; returns its byte length. */
  add(name: string): number {
    const at = this.length;
    let bytes = this.bytes;
    if (at + name.length <= bytes.length) {
      let j = 0;
      for (; j < name.length; j++) {
        const c = name.charCodeAt(j);
        if (c >= 0x80) break;
        bytes[at + j] = c;
      }
      if (j === name.length) {
        this.length = at + j;
        return j;
      }
    }
    const need = Buffer.byteLength(name);
    if (at + need > bytes.length) {
      bytes = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, at + need));
      this.bytes.copy(bytes, 0, 0, at);
      this.bytes = bytes;
    }
    this.length = at + bytes.write(name, at);
    return need;
  }

  /** The names, in a buffer of exactly their size. */
  finish(): Buffer {
    if (this.length === this.bytes.length) return this.bytes;
    const exact = Buffer.allocUnsafeSlow(this.length);
    this.bytes.copy(exact, 0, 0, this.length);
    return exact;
  }
}
