// The usual ReadNodeContent for unpack: a node's bytes from the LayerIndex of the layer
// named by node.source, read in pieces of at most `pieceBytes` (bounded memory).

import { internal } from '../errors.js';
import type { LayerIndex } from '../formats/layer-index.js';
import type { TreeNode } from '../tree/tree-node.js';
import type { ReadNodeContent } from './unpack-tree.js';

export const DEFAULT_PIECE_BYTES = 1024 * 1024;

export function layerContentReader(indexes: readonly LayerIndex[], pieceBytes = DEFAULT_PIECE_BYTES): ReadNodeContent {
  return async function* read(node: TreeNode, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const src = node.source;
    if (!src || node.size === 0) return;
    const index = indexes[src.layer];
    if (!index) throw internal(`node ${node.ino} names layer ${src.layer}, but there are ${indexes.length} layers`);
    for (let off = 0; off < node.size; off += pieceBytes) {
      yield await index.read(src.entry, off, Math.min(pieceBytes, node.size - off), signal);
    }
  };
}
