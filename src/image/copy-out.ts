// `cp IMAGE:PATH DEST`: one file (its bytes fetched lazily, written as a new file), one
// symlink, or a directory subtree (written by unpackTree, with its never-outside-DEST rules).

import { chmod, open, symlink } from 'node:fs/promises';
import { failedPrecondition, invalidArgument } from '../errors.js';
import type { Tree, TreeNode } from '../tree/tree-node.js';
import { unpackTree } from '../unpack/unpack-tree.js';
import type { LazyImage } from './lazy-image.js';

export interface CopyResult {
  type: string;
  bytesWritten: number;
  warnings: readonly string[];
}

export async function copyOut(img: LazyImage, node: TreeNode, dest: string): Promise<CopyResult> {
  switch (node.type) {
    case 'reg': {
      // Like `docker cp` and cp(1), an existing file at DEST is overwritten.
      const fh = await open(dest, 'w', node.mode & 0o777).catch((err: NodeJS.ErrnoException) => {
        throw failedPrecondition(`cannot write ${dest}: ${err.message}`, err);
      });
      let written = 0;
      try {
        for await (const piece of img.readAll(node)) {
          await fh.write(piece);
          written += piece.length;
        }
      } finally {
        await fh.close();
      }
      await chmod(dest, node.mode & 0o777);
      return { type: 'reg', bytesWritten: written, warnings: [] };
    }
    case 'symlink':
      await symlink(node.linkName, dest);
      return { type: 'symlink', bytesWritten: 0, warnings: [] };
    case 'dir': {
      const r = await unpackTree(subtree(node), dest, (n, signal) => img.readAll(n, undefined, signal));
      return { type: 'dir', bytesWritten: r.bytesWritten, warnings: r.warnings };
    }
    default:
      throw invalidArgument(`cannot copy a ${node.type} node out of an image (only files, symlinks and directories)`);
  }
}

/** A Tree view rooted at `root` (unpackTree walks from the root only). */
function subtree(root: TreeNode): Tree {
  return {
    root,
    lookup: () => undefined,
    byIno: () => undefined,
    size: 0,
  };
}
