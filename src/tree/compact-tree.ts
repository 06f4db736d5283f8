// The merged tree as a mounted image keeps it: TreeColumns (typed arrays, ~50 bytes a node
// plus its name) behind the Tree interface, nodes handed out as views made per call.
// Built once from the Builder's merged MergedNode graph, which is garbage afterwards.
//
// lookup() is on the FUSE hot path (fuse-native passes a full path for every getattr,
// read and readlink): the path is encoded once into a scratch buffer and each component
// binary-searched in its directory's sorted edges, with no allocation but the view.
// (Remembering the previous lookup's directory, as the Builder does, did not pay: no
// faster on paths in directory order, 20% slower on shuffled ones.)

import type { MergedNode } from './merged-node.js';
import { scratch, type EntryResolver, type TreeColumns } from './tree-columns.js';
import { writeColumns, type GraphBounds } from './write-columns.js';
import { CompactNode } from './compact-node.js';
import type { Tree, TreeNode } from './tree-node.js';

const ROOT_INO = 1;
const SLASH = 0x2f; // never a byte of a multi-byte UTF-8 sequence: paths split on bytes

export class CompactTree implements Tree {
  readonly root: TreeNode;
  readonly size: number;

  private constructor(private readonly cols: TreeColumns, readonly warnings: readonly string[]) {
    this.size = cols.nodeCount;
    this.root = new CompactNode(cols, ROOT_INO);
  }

  /** Numbers and copies the Builder's merged graph (see writeColumns); `entryAt` gives `source` its entry. */
  static of(root: MergedNode, bounds: GraphBounds, layerCount: number, entryAt: EntryResolver, warnings: readonly string[]): CompactTree {
    return new CompactTree(writeColumns(root, bounds, layerCount, entryAt), warnings);
  }

  lookup(path: string): TreeNode | undefined {
    const ino = this.resolve(path);
    return ino === 0 ? undefined : new CompactNode(this.cols, ino);
  }

  byIno(ino: number): TreeNode | undefined {
    return Number.isSafeInteger(ino) && ino >= 1 && ino <= this.size ? new CompactNode(this.cols, ino) : undefined;
  }

  /** The ino of a clean relative path ('' = root), or 0. Symlinks are not followed. */
  private resolve(path: string): number {
    if (path === '') return ROOT_INO;
    const n = scratch.encode(path);
    const key = scratch.bytes;
    let ino = ROOT_INO;
    // An empty component (a leading, doubled or trailing '/') matches no name: not found.
    for (let start = 0; ; ) {
      let end = start;
      while (end < n && key[end] !== SLASH) end++;
      ino = this.cols.childIno(ino, key, start, end);
      if (ino === 0 || end === n) return ino;
      start = end + 1;
    }
  }
}
