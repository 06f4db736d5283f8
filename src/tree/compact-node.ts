// The TreeNode and children views over TreeColumns: small objects made per lookup that
// read their fields from the columns, so the tree itself keeps no object per file. Two
// views of one node are different objects: compare nodes by `ino`, never by identity.

import { NO_XATTRS } from '../formats/layer-entry.js';
import type { TreeColumns } from './tree-columns.js';
import type { NodeSource, NodeType, TreeNode } from './tree-node.js';

export class CompactNode implements TreeNode {
  constructor(private readonly cols: TreeColumns, readonly ino: number) {}

  get type(): NodeType {
    return this.cols.typeOf(this.ino);
  }

  get mode(): number {
    return this.cols.modeOf(this.ino);
  }

  get uid(): number {
    return this.cols.uidOf(this.ino);
  }

  get gid(): number {
    return this.cols.gidOf(this.ino);
  }

  get mtimeMs(): number {
    return this.cols.mtimeMs[this.ino - 1]!;
  }

  get size(): number {
    return this.cols.size[this.ino - 1]!;
  }

  get nlink(): number {
    return this.cols.nlink[this.ino - 1]!;
  }

  get linkName(): string {
    return this.cols.linkNames.get(this.ino) ?? '';
  }

  get devMajor(): number {
    return this.cols.devices.get(this.ino)?.major ?? 0;
  }

  get devMinor(): number {
    return this.cols.devices.get(this.ino)?.minor ?? 0;
  }

  get xattrs(): Readonly<Record<string, Buffer>> {
    return this.cols.xattrs.get(this.ino) ?? NO_XATTRS;
  }

  /** A view over the directory's edges (made per read); undefined for other nodes. */
  get children(): ReadonlyMap<string, TreeNode> | undefined {
    return this.cols.isDir(this.ino) ? new DirectoryView(this.cols, this.ino) : undefined;
  }

  /** Made per read from the layer number and entry position the columns keep. */
  get source(): NodeSource | undefined {
    return this.cols.sourceOf(this.ino);
  }
}

/** A directory's children as a ReadonlyMap, in name-byte order; names decoded on demand. */
class DirectoryView implements ReadonlyMap<string, TreeNode> {
  private readonly first: number;
  private readonly end: number;

  constructor(private readonly cols: TreeColumns, private readonly dirIno: number) {
    this.first = cols.firstEdge[dirIno - 1]!;
    this.end = cols.firstEdge[dirIno]!;
  }

  get size(): number {
    return this.end - this.first;
  }

  get(name: string): TreeNode | undefined {
    const ino = this.cols.childNamed(this.dirIno, name);
    return ino === 0 ? undefined : new CompactNode(this.cols, ino);
  }

  has(name: string): boolean {
    return this.cols.childNamed(this.dirIno, name) !== 0;
  }

  *keys(): MapIterator<string> {
    for (let e = this.first; e < this.end; e++) yield this.cols.edgeName(e);
  }

  *values(): MapIterator<TreeNode> {
    for (let e = this.first; e < this.end; e++) yield new CompactNode(this.cols, this.cols.edgeIno[e]!);
  }

  *entries(): MapIterator<[string, TreeNode]> {
    for (let e = this.first; e < this.end; e++) yield [this.cols.edgeName(e), new CompactNode(this.cols, this.cols.edgeIno[e]!)];
  }

  [Symbol.iterator](): MapIterator<[string, TreeNode]> {
    return this.entries();
  }

  forEach(fn: (value: TreeNode, key: string, map: ReadonlyMap<string, TreeNode>) => void, thisArg?: unknown): void {
    for (const [name, node] of this.entries()) fn.call(thisArg, node, name, this);
  }
}
