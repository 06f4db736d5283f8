// The FUSE callbacks over a Tree: each one looks the node up, asks the Tree or the reader,
// and maps the outcome to an errno. Write-ish operations answer EROFS.
//
// open, opendir, release and releasedir are left to libfuse on purpose: its defaults
// answer them in C (fh 0, kernel_cache still applied), where a callback costs a hop into
// JS each time a file or directory is opened, the largest part of a warm `find` or
// `import json`. Nothing is lost: the mount is read-only (MS_RDONLY), so the kernel
// answers EROFS to every open for writing (or with O_TRUNC) before asking us, reads find
// their node by path, and the tree is immutable, so no handle table is needed.

import { constants } from 'node:fs';
import { errnoOf, internal } from '../src/errors.js';
import { regularBytes, type Tree, type TreeNode } from '../src/tree/tree-node.js';
import type { NodeReader } from '../src/daemon/tree-mount.js';
import { errno, type FuseOps } from './fuse-native.js';
import { nodeStat, treeStatfs } from './node-stat.js';
import { LatencyHistogram } from './latency.js';

export interface OpsContext {
  tree: Tree;
  read: NodeReader;
  /** Aborted on unmount: in-flight reads stop fetching. */
  signal: AbortSignal;
  readTimeoutMs: number;
  onError(err: unknown, op: string, path: string): void;
}

export interface OpsCounters {
  ops: number;
  errors: number;
  readLatency: LatencyHistogram;
}

const OK = 0;
// flush and fsync are left unimplemented on purpose: close() calls flush, and the
// kernel takes ENOSYS for both as "nothing to do", where EROFS would fail every close.
const WRITE_OPS = ['write', 'create', 'mkdir', 'unlink', 'rmdir', 'rename', 'chmod', 'chown', 'truncate', 'ftruncate',
  'utimens', 'setxattr', 'removexattr', 'symlink', 'link', 'mknod'] as const;

/** FUSE paths are absolute ('/a/b'); Tree paths are clean relative ones ('a/b', '' = root). */
const treePath = (path: string) => path.slice(1);

export function treeOps(ctx: OpsContext): { ops: FuseOps; counters: OpsCounters } {
  const { tree } = ctx;
  const counters: OpsCounters = { ops: 0, errors: 0, readLatency: new LatencyHistogram() };
  // Summed on the first statfs, not at mount: a walk of every node costs a cold mount ~10 ms.
  let contentBytes: number | undefined;
  const EROFS = errno('EROFS');
  const ENOENT = errno('ENOENT');

  /** Counts and logs a real failure (not an ENOENT-style answer) and returns its errno. */
  const fail = (err: unknown, op: string, path: string): number => {
    counters.errors++;
    ctx.onError(err, op, path);
    return errno(errnoOf(err));
  };
  /** Runs a synchronous handler body; a throw is a bug in the tree or here: counted, EIO-class. */
  const guard = <A extends unknown[]>(op: string, path: string, cb: (err: number, ...rest: A) => void, body: () => void) => {
    counters.ops++;
    try {
      body();
    } catch (err) {
      (cb as unknown as (err: number) => void)(fail(err, op, path));
    }
  };
  const lookup = (path: string): TreeNode | undefined => tree.lookup(treePath(path));

  const ops: FuseOps = {
    init: (cb) => cb(OK),
    getattr: (path, cb) => guard('getattr', path, cb, () => {
      const node = lookup(path);
      return node ? cb(OK, nodeStat(node)) : cb(ENOENT);
    }),
    readdir: (path, cb) => guard('readdir', path, cb, () => {
      const node = lookup(path);
      if (!node) return cb(ENOENT);
      if (!node.children) return cb(errno('ENOTDIR'));
      cb(OK, ['.', '..', ...node.children.keys()]);
    }),
    read: (path, _fh, buf, len, pos, cb) => {
      counters.ops++;
      const node = lookup(path);
      if (!node) return cb(ENOENT);
      if (pos >= node.size || len <= 0) return cb(0);
      const want = Math.min(len, node.size - pos);
      const started = performance.now();
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.readTimeoutMs)]);
      ctx.read(node, pos, want, signal).then((data) => {
        // A short answer inside the file would be taken by the kernel as EOF: wrong bytes.
        if (data.length < want) throw internal(`reader returned ${data.length} of ${want} bytes at ${pos} of ${path}`);
        data.copy(buf, 0, 0, want);
        counters.readLatency.record(performance.now() - started);
        cb(want);
      }).catch((err: unknown) => cb(fail(err, 'read', path)));
    },
    readlink: (path, cb) => guard('readlink', path, cb, () => {
      const node = lookup(path);
      if (!node) return cb(ENOENT);
      return node.type === 'symlink' ? cb(OK, node.linkName) : cb(errno('EINVAL'));
    }),
    statfs: (path, cb) => guard('statfs', path, cb, () => cb(OK, treeStatfs(tree, (contentBytes ??= regularBytes(tree.root))))),
    getxattr: (path, name, _position, cb) => guard('getxattr', path, cb, () => {
      const node = lookup(path);
      if (!node) return cb(ENOENT);
      const value = Object.hasOwn(node.xattrs, name) ? node.xattrs[name] : undefined;
      return value ? cb(OK, value) : cb(errno('ENODATA'));
    }),
    listxattr: (path, cb) => guard('listxattr', path, cb, () => {
      const node = lookup(path);
      return node ? cb(OK, Object.keys(node.xattrs)) : cb(ENOENT);
    }),
    access: (path, mode, cb) => guard('access', path, cb, () => {
      if (!lookup(path)) return cb(ENOENT);
      // Permission bits are the kernel's job (default_permissions); only writing is refused here.
      cb(mode & constants.W_OK ? EROFS : OK);
    }),
  };
  for (const op of WRITE_OPS) {
    // The callback is always the last argument, whatever the operation's signature.
    ops[op] = (...args: never[]) => {
      counters.ops++;
      (args[args.length - 1] as unknown as (err: number) => void)(EROFS);
    };
  }
  return { ops, counters };
}
