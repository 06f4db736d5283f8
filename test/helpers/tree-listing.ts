// The tree-digest.sh listing of an in-memory Tree, so a lazily opened image can be
// compared with `umoci unpack` without mounting anything (the Tree oracle of STYLE.md).
// Field by field as tree-digest.sh prints them; sorted bytewise like `LC_ALL=C sort`.

import { createHash } from 'node:crypto';
import type { Tree, TreeNode } from '../../src/tree/tree-node.js';

const ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function esc(s: string): string {
  return s.replace(/[\\\x00-\x1f\x7f]/g, (c) => ESC[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const TYPE: Record<TreeNode['type'], string> = { reg: 'f', dir: 'd', symlink: 'l', fifo: 'p', char: 'c', block: 'b' };

export type ReadAll = (node: TreeNode) => AsyncIterable<Buffer>;

export async function treeListing(tree: Tree, readAll: ReadAll): Promise<string> {
  const lines: string[] = [];
  const walk = async (node: TreeNode, path: string): Promise<void> => {
    const type = TYPE[node.type];
    let nlink = '-';
    let size = '-';
    const mtime = node.type === 'dir' ? '-' : String(Math.floor(node.mtimeMs / 1000));
    let last = '-';
    if (node.type === 'reg') {
      nlink = String(node.nlink);
      size = String(node.size);
      const h = createHash('sha256');
      let n = 0;
      for await (const piece of readAll(node)) {
        h.update(piece);
        n += piece.length;
      }
      if (n !== node.size) throw new Error(`${path}: read ${n} bytes of ${node.size}`);
      last = h.digest('hex');
    } else if (node.type === 'symlink') {
      last = esc(node.linkName);
    } else if (node.type === 'char' || node.type === 'block') {
      last = `${node.devMajor}:${node.devMinor}`;
    }
    const mode = (node.mode & 0o7777).toString(8).padStart(4, '0');
    lines.push([esc(path), type, mode, node.uid, node.gid, nlink, size, mtime, last].join('\t'));
    if (node.children) {
      for (const [name, child] of node.children) await walk(child, path === '.' ? name : `${path}/${name}`);
    }
  };
  await walk(tree.root, '.');
  lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `${lines.join('\n')}\n`;
}
