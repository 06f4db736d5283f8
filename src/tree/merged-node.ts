// The mutable node class behind a merged Tree. Compact on purpose (memory per file
// matters for big images): plain fields, no closures; `children` only on directories,
// `source` only on regular files with content.

import type { LayerEntry } from '../formats/layer-entry.js';
import type { NodeSource, NodeType, TreeNode } from './tree-node.js';

const NO_XATTRS: Readonly<Record<string, Buffer>> = Object.freeze({});

export class MergedNode implements TreeNode {
  ino = 0;
  nlink = 1;
  type: NodeType;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  linkName: string;
  devMajor: number;
  devMinor: number;
  xattrs: Readonly<Record<string, Buffer>>;
  children?: Map<string, MergedNode>;
  source?: NodeSource;

  private constructor(type: NodeType) {
    this.type = type;
    this.mode = 0o755;
    this.uid = this.gid = 0;
    this.mtimeMs = 0;
    this.size = 0;
    this.linkName = '';
    this.devMajor = this.devMinor = 0;
    this.xattrs = NO_XATTRS;
    if (type === 'dir') this.children = new Map();
  }

  /** A directory the tar implies but does not list (0755, root, mtime 0). */
  static implicitDir(): MergedNode {
    return new MergedNode('dir');
  }

  /** A node for a non-hardlink entry of layer `layer`. */
  static fromEntry(entry: LayerEntry, layer: number): MergedNode {
    const n = new MergedNode(entry.type === 'hardlink' ? 'reg' : entry.type);
    n.setAttributes(entry);
    if (entry.type === 'reg') {
      n.size = entry.size;
      if (entry.size > 0) n.source = { layer, entry };
    } else if (entry.type === 'symlink') {
      n.linkName = entry.linkName;
      n.size = Buffer.byteLength(entry.linkName);
    } else if (entry.type === 'char' || entry.type === 'block') {
      n.devMajor = entry.devMajor;
      n.devMinor = entry.devMinor;
    }
    return n;
  }

  /** Takes an entry's attributes (dir over dir keeps the children, takes the rest). */
  setAttributes(entry: LayerEntry): void {
    this.mode = entry.mode & 0o7777;
    this.uid = entry.uid;
    this.gid = entry.gid;
    this.mtimeMs = entry.mtimeMs;
    this.xattrs = Object.keys(entry.xattrs).length ? entry.xattrs : NO_XATTRS;
  }
}
