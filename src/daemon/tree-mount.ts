// The contract between the daemon and the FUSE adapter. fs/ implements it (fs/mount-tree.ts);
// the daemon receives the implementation at construction, because nothing in src/ imports
// fs/. Lifecycle: mount (returns once the kernel answers stat on the mountpoint), serve,
// unmount (idempotent).

import type { Tree, TreeNode } from '../tree/tree-node.js';

/** File bytes of a regular node, clamped at EOF like pread; rejects with a LazysnapError. */
export type NodeReader = (node: TreeNode, offset: number, length: number, signal?: AbortSignal) => Promise<Buffer>;

export interface TreeMountOptions {
  /** Absolute path of an existing, empty-or-not directory that is not already a mount. */
  mountpoint: string;
  tree: Tree;
  read: NodeReader;
  /** Called with the full error whenever an operation fails with something other than a plain answer (EIO etc.). */
  onError?(err: unknown, op: string, path: string): void;
  /** Shown as the mount's source in /proc/mounts (`lazysnap:NAME`). */
  fsName?: string;
  /**
   * The mountpoint already checked and resolved (prepareMountpoint), when the caller ran
   * the checks while it did other work; otherwise they run at mount.
   */
  prepared?: Promise<string>;
}

export interface TreeMountStats {
  /** FUSE callbacks answered. */
  ops: number;
  /** Callbacks that failed (read errors, internal faults); ENOENT/EROFS answers are not errors. */
  errors: number;
  readLatencyMs: { p50: number; p99: number };
}

export interface TreeMount {
  readonly mountpoint: string;
  /** Unmounts (lazily when busy) and releases the FUSE session; idempotent. */
  unmount(): Promise<void>;
  stats(): TreeMountStats;
}

export type MountTree = (opts: TreeMountOptions) => Promise<TreeMount>;
