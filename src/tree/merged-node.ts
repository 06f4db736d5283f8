// The mutable node the Builder merges layers into. Transient: finish() copies the graph
// into a CompactTree (typed arrays, no object per file) and drops it, so the fields here
// are shaped for merging (a Map per directory, attributes replaced in place), not for
// memory. `children` only on directories; a source only on regular files with content.

import { NO_XATTRS, type LayerEntry } from '../formats/layer-entry.js';
import type { NodeType } from './tree-node.js';


/** sourceLayer of a node without content (not a regular file, or an empty one). */
export const NO_SOURCE = -1;

export class MergedNode {
  /** Set when writeColumns numbers the node, once merging is done (0 = not yet numbered). */
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
  /** The layer holding the content, or NO_SOURCE. */
  sourceLayer = NO_SOURCE;
  /** Position of the content's entry in that layer's entries (a hardlink shares its target's node). */
  sourcePos = 0;

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

  /** A node for a non-hardlink entry, the one at position `pos` of layer `layer`. */
  static fromEntry(entry: LayerEntry, layer: number, pos: number): MergedNode {
    const n = new MergedNode(entry.type === 'hardlink' ? 'reg' : entry.type);
    n.setAttributes(entry);
    if (entry.type === 'reg') {
      n.size = entry.size;
      if (entry.size > 0) {
        n.sourceLayer = layer;
        n.sourcePos = pos;
      }
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

  /** True when the node carries extended attributes. */
  get hasXattrs(): boolean {
    return this.xattrs !== NO_XATTRS;
  }
}
