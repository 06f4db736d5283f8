// The merged view of a layer chain: one TreeNode per visible path after overlay rules
// (whiteouts applied, opaque dirs, later layer wins, dir-over-dir merges). Hardlinks are
// one node (one ino) reachable under several names (nlink counts them). Built from
// LayerIndex entries only: no file data is read to build it. A Tree may hand out a new
// TreeNode object per call (the merged tree does: it keeps typed arrays, not objects), so
// callers tell nodes apart by `ino`, never by object identity.

import type { EntryType, LayerEntry } from '../formats/layer-entry.js';

/** The node types of a merged tree: a hardlink is not a type, it is a shared node. */
export type NodeType = Exclude<EntryType, 'hardlink'>;

export interface NodeSource {
  /** Position of the layer in the chain (0 = bottom). */
  readonly layer: number;
  /** The entry in that layer's index holding the content (for a hardlink: its target). */
  readonly entry: LayerEntry;
}

export interface TreeNode {
  /** Stable inode number within one tree (root = 1). */
  readonly ino: number;
  readonly type: NodeType;
  readonly mode: number; // permission bits incl. setuid/setgid/sticky (0o7777)
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  /** Regular file size; symlink: byte length of the target; others 0. */
  readonly size: number;
  readonly linkName: string; // symlink target, '' otherwise
  readonly devMajor: number;
  readonly devMinor: number;
  readonly xattrs: Readonly<Record<string, Buffer>>;
  /** Names linking to this node (hardlinks); for dirs: 2 + number of child dirs. */
  readonly nlink: number;
  /** Children of a directory, by name (iteration order not guaranteed to be sorted). */
  readonly children?: ReadonlyMap<string, TreeNode>;
  /** Where a regular file's content lives; absent for empty files and non-regular nodes. */
  readonly source?: NodeSource;
}

export interface Tree {
  readonly root: TreeNode;
  /** Looks up a clean relative path ('' = root); symlinks are not followed. */
  lookup(path: string): TreeNode | undefined;
  /** The node with inode number `ino`. */
  byIno(ino: number): TreeNode | undefined;
  /** Number of nodes (for status and memory figures). */
  readonly size: number;
}

/** Bytes of the regular files below `root` (root included), a hardlinked file's once. */
export function regularBytes(root: TreeNode): number {
  const seen = new Set<number>(); // inos: a Tree may hand out a new object per lookup
  let total = 0;
  const stack: TreeNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.children) stack.push(...n.children.values());
    else if (n.type === 'reg' && !seen.has(n.ino)) {
      seen.add(n.ino);
      total += n.size;
    }
  }
  return total;
}
