// TreeNode -> the stat fuse-native hands to the kernel. Pure translation: type bits from
// node.type, the node's own permission bits, ino, nlink and times as the tree says.

import type { NodeType, TreeNode } from '../src/tree/tree-node.js';
import type { FuseStat, FuseStatfs } from './fuse-native.js';
import type { Tree } from '../src/tree/tree-node.js';

const TYPE_BITS: Readonly<Record<NodeType, number>> = {
  reg: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

export const BLOCK_SIZE = 4096;

/**
 * glibc's makedev: minor's low byte, major's low 12 bits at 8, minor's upper bits at 20.
 * The 32 bits fuse-native passes are the kernel's new_encode_dev, which agrees for
 * major < 4096 and minor < 2^20 (the kernel's own limits for a 32-bit dev_t).
 */
export function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & 0xfff00) << 12)) >>> 0;
}

export function nodeStat(node: TreeNode): FuseStat {
  // Negative (pre-1970) or fractional times: the native side takes whole, unsigned milliseconds.
  const ms = Math.max(0, Math.floor(node.mtimeMs));
  return {
    mode: TYPE_BITS[node.type] | (node.mode & 0o7777),
    uid: node.uid,
    gid: node.gid,
    size: node.size,
    nlink: node.nlink,
    ino: node.ino,
    rdev: node.type === 'char' || node.type === 'block' ? makedev(node.devMajor, node.devMinor) : 0,
    blksize: BLOCK_SIZE,
    blocks: Math.ceil(node.size / 512),
    atime: ms,
    mtime: ms,
    ctime: ms,
  };
}

const U32_MAX = 0xffffffff;

/** A read-only filesystem: size of the regular content, no free space, one inode per node. */
export function treeStatfs(tree: Tree, contentBytes: number): FuseStatfs {
  const blocks = Math.min(U32_MAX, Math.ceil(contentBytes / BLOCK_SIZE));
  return {
    bsize: BLOCK_SIZE, frsize: BLOCK_SIZE, blocks, bfree: 0, bavail: 0,
    files: Math.min(U32_MAX, tree.size), ffree: 0, favail: 0, fsid: 0, flag: 1 /* ST_RDONLY */, namemax: 255,
  };
}
