// Merges a layer chain into one Tree with the OCI overlay rules (FORMATS.md):
// - `.wh.NAME` deletes NAME from the lower layers; `.wh..wh..opq` hides every lower
//   child of its directory. Both apply before the layer's other entries, whatever their
//   position in the tar, so they never touch what the same layer adds. They never appear.
// - The same path twice in one layer: the later entry wins. A dir over a dir keeps the
//   children and takes the new attributes; anything else replaces (dropping a subtree).
// - Missing parent directories are made (0755, root, mtime 0) and take a real entry's
//   attributes when one comes. An entry whose parent is not a directory (a symlink, say)
//   is dropped with a warning: symlinks are never followed.
// - Hardlinks share their target's node (nlink counts names); one to a missing target
//   is dropped with a warning.
// Inodes: root = 1, then depth-first with children in name order, so they are stable.
// The Builder merges into MergedNodes (easy to change in place), then finish() copies them
// into a CompactTree (typed arrays, no object per file): the graph is only transient.

import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, type LayerEntry } from '../formats/layer-entry.js';
import { CompactTree } from './compact-tree.js';
import type { EntryResolver } from './tree-columns.js';
import type { GraphBounds } from './write-columns.js';
import { MergedNode } from './merged-node.js';
import type { Tree } from './tree-node.js';

/** A Tree plus what was dropped while merging (additive to the Tree contract). */
export interface MergedTree extends Tree {
  readonly warnings: readonly string[];
}

/** aufs metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not whiteouts, never shown. */
const AUFS_META_PREFIX = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`;

/**
 * `entryAt`: how a node's source finds its entry again (layer, position in that layer's
 * list) once the tree is built; by default the lists given here are kept for it. A caller
 * whose indexes can give an entry by position passes that instead, and the lists (and
 * whatever objects they hold) go once the tree is built.
 */
export function buildTree(layers: ReadonlyArray<ReadonlyArray<LayerEntry>>,
  entryAt: EntryResolver = (layer, pos) => layers[layer]![pos]!): MergedTree {
  const b = new Builder();
  layers.forEach((entries, layer) => b.applyLayer(entries, layer));
  return b.finish(layers.length, entryAt);
}

// Directory part and last component of a clean name ('' for a top-level name): two
// functions rather than one returning a pair, since they run for every entry twice.
const dirOf = (name: string): string => name.slice(0, Math.max(0, name.lastIndexOf('/')));
const baseOf = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

/** Names an entry in warnings (built only when one is given). */
const described = (layer: number, e: LayerEntry): string => `layer ${layer}: ${JSON.stringify(e.name)}`;

class Builder {
  readonly root = MergedNode.implicitDir();
  readonly warnings: string[] = [];
  /** The directory the previous entry went into (cleared when a directory is replaced). */
  private lastParent: { dir: string; node: MergedNode } | undefined;
  /** Counted at every name added, to size the CompactTree's arrays (finish trims them). */
  private readonly bounds = { names: 0, nameChars: 0 } satisfies GraphBounds;

  applyLayer(entries: ReadonlyArray<LayerEntry>, layer: number): void {
    this.lastParent = undefined;
    // Whiteouts first: they describe the lower layers, not this one.
    for (const e of entries) {
      const base = baseOf(e.name);
      if (!base.startsWith(WHITEOUT_PREFIX)) continue;
      const parent = this.findDir(dirOf(e.name));
      if (!parent?.children) continue; // nothing below to hide
      if (base === OPAQUE_WHITEOUT) {
        for (const child of parent.children.values()) this.unlinkSubtree(child);
        parent.children.clear();
      } else if (!base.startsWith(AUFS_META_PREFIX)) {
        const name = base.slice(WHITEOUT_PREFIX.length);
        const victim = parent.children.get(name);
        if (victim) {
          this.unlinkSubtree(victim);
          parent.children.delete(name);
        }
      }
    }
    // By position: a node keeps (layer, position) of its entry rather than the entry.
    for (let pos = 0; pos < entries.length; pos++) {
      const e = entries[pos]!;
      const base = baseOf(e.name);
      if (base.startsWith(WHITEOUT_PREFIX)) continue;
      this.applyEntry(e, layer, pos, dirOf(e.name), base);
    }
  }

  private applyEntry(e: LayerEntry, layer: number, pos: number, dir: string, base: string): void {
    if (e.name === '') {
      if (e.type === 'dir') this.root.setAttributes(e);
      else this.warnings.push(`${described(layer, e)}: a non-directory entry for the root was dropped`);
      return;
    }
    const parent = this.makeParents(dir, layer, e);
    if (!parent) return;
    const children = parent.children!;
    const existing = children.get(base);
    if (e.type === 'dir' && existing?.type === 'dir') {
      existing.setAttributes(e);
      return;
    }
    let node: MergedNode;
    if (e.type === 'hardlink') {
      const target = this.lookupNode(e.linkName);
      if (!target || target.type === 'dir') {
        this.warnings.push(`${described(layer, e)}: hardlink to ${target ? 'a directory' : 'a missing path'} ${JSON.stringify(e.linkName)} was dropped`);
        return;
      }
      if (target === existing) return; // a link to itself changes nothing
      node = target;
      node.nlink++;
    } else {
      node = MergedNode.fromEntry(e, layer, pos);
    }
    if (existing) {
      this.unlinkSubtree(existing);
      if (existing.type === 'dir') this.lastParent = undefined; // it may be the remembered one
    }
    this.addName(children, base, node);
  }

  /** Walks to directory `dir`, making missing ones; undefined (warned) through a non-dir. */
  private makeParents(dir: string, layer: number, e: LayerEntry): MergedNode | undefined {
    let node = this.root;
    if (dir === '') return node;
    // Layers list a directory's entries together: remember the last one walked to.
    if (this.lastParent?.dir === dir) return this.lastParent.node;
    for (const part of dir.split('/')) {
      let child = node.children!.get(part);
      if (!child) {
        child = MergedNode.implicitDir();
        this.addName(node.children!, part, child);
      } else if (child.type !== 'dir') {
        this.warnings.push(`${described(layer, e)}: dropped, its parent ${JSON.stringify(part)} is a ${child.type}, not a directory (not followed)`);
        return undefined;
      }
      node = child;
    }
    this.lastParent = { dir, node };
    return node;
  }

  private addName(children: Map<string, MergedNode>, name: string, node: MergedNode): void {
    children.set(name, node);
    this.bounds.names++;
    this.bounds.nameChars += name.length;
  }

  private findDir(dir: string): MergedNode | undefined {
    const n = this.lookupNode(dir);
    return n?.type === 'dir' ? n : undefined;
  }

  lookupNode(path: string): MergedNode | undefined {
    let node: MergedNode | undefined = this.root;
    if (path === '') return node;
    for (const part of path.split('/')) {
      node = node.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  /** A name of `node` goes away: hardlinked files lose one link, dirs lose their names. */
  private unlinkSubtree(node: MergedNode): void {
    if (node.children) {
      for (const c of node.children.values()) this.unlinkSubtree(c);
    } else {
      node.nlink--;
    }
  }

  /** Numbers the nodes (see the header) and copies them into a CompactTree. */
  finish(layerCount: number, entryAt: EntryResolver): MergedTree {
    return CompactTree.of(this.root, this.bounds, layerCount, entryAt, this.warnings);
  }
}
