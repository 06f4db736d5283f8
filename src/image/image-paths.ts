// Paths inside an image as a user types them (`/etc/os-release`, `usr/bin/../lib`),
// resolved in the merged tree the way the kernel would inside a chroot: `..` stops at
// the image root, and symlinks (absolute ones relative to the image root) are followed
// up to a bounded depth. Nothing here touches the host filesystem.

import { invalidArgument, notFound } from '../errors.js';
import type { Tree, TreeNode } from '../tree/tree-node.js';

/** Linux's MAXSYMLINKS: more hops than this is ELOOP. */
const MAX_SYMLINK_HOPS = 40;

export interface ResolvedPath {
  node: TreeNode;
  /** Clean path of the node from the image root ('' = root). */
  path: string;
}

/**
 * Resolves `input` in `tree`. With `followLast` false a final symlink is returned itself
 * (like lstat); intermediate symlinks are always followed.
 */
export function resolveImagePath(tree: Tree, input: string, followLast = true): ResolvedPath {
  if (input.includes('\0')) throw invalidArgument(`path ${JSON.stringify(input)} contains a NUL byte`);
  const pending = splitComponents(input);
  const stack: { name: string; node: TreeNode }[] = [];
  let hops = 0;
  const current = () => (stack.length ? stack[stack.length - 1]!.node : tree.root);
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      stack.pop();
      continue;
    }
    const dir = current();
    if (dir.type !== 'dir' || !dir.children) {
      throw notFound(`${input}: ${joinStack(stack)} is not a directory in the image`);
    }
    const child = dir.children.get(name);
    if (!child) throw notFound(`${input}: no such file or directory in the image`);
    const isLast = pending.length === 0;
    if (child.type === 'symlink' && (!isLast || followLast)) {
      if (++hops > MAX_SYMLINK_HOPS) throw invalidArgument(`${input}: too many levels of symbolic links`);
      const target = child.linkName;
      if (target.startsWith('/')) stack.length = 0;
      pending.unshift(...splitComponents(target));
      continue;
    }
    stack.push({ name, node: child });
  }
  return { node: current(), path: joinStack(stack) };
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

function joinStack(stack: readonly { name: string }[]): string {
  return stack.map((s) => s.name).join('/');
}
