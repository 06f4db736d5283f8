// mountTree: serves a Tree as a read-only FUSE filesystem. The image is immutable, so the
// kernel is told to cache everything it can (page cache across opens, long attr/entry and
// negative timeouts): each callback costs tens of microseconds of JS, a cache hit nothing.

import { stat } from 'node:fs/promises';
import { failedPrecondition, internal, LazysnapError, unavailable } from '../src/errors.js';
import type { MountTree, TreeMount, TreeMountOptions } from '../src/daemon/tree-mount.js';
import { prepareMountpoint, unmountPath } from '../src/daemon/mountpoint.js';
import { ReadOnlyFuse } from './fuse-native.js';
import { treeOps } from './tree-ops.js';

export interface MountTreeTuning {
  /** Seconds the kernel keeps attributes and name lookups (including misses). */
  cacheTimeoutSec?: number;
  /** A read that takes longer is aborted and answered EIO. */
  readTimeoutMs?: number;
  /** Mount and first-stat deadline. */
  mountTimeoutMs?: number;
  /** Let other users (containers' uids) in; needs root or user_allow_other. */
  allowOther?: boolean;
}

const DEFAULT_CACHE_TIMEOUT_SEC = 60;
const DEFAULT_READ_TIMEOUT_MS = 120_000;
const DEFAULT_MOUNT_TIMEOUT_MS = 10_000;
/** The kernel never asks for more than 128 KiB per FUSE read. */
const MAX_READ = 128 * 1024;

export const mountTree: MountTree = (opts) => mountTreeWith(opts, {});

export async function mountTreeWith(opts: TreeMountOptions, tuning: MountTreeTuning): Promise<TreeMount> {
  const mountpoint = await (opts.prepared ?? prepareMountpoint(opts.mountpoint));
  const closing = new AbortController();
  const onError = opts.onError ?? ((err, op, path) => process.stderr.write(`lazysnap fs: ${op} ${path}: ${String((err as Error)?.stack ?? err)}\n`));
  const { ops, counters } = treeOps({
    tree: opts.tree,
    read: opts.read,
    signal: closing.signal,
    readTimeoutMs: tuning.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
    onError,
  });
  const fuse = new ReadOnlyFuse(mountpoint, ops, mountOptions(opts.fsName ?? 'image', tuning));

  const timeoutMs = tuning.mountTimeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS;
  try {
    await withDeadline(new Promise<void>((done, fail) => fuse.mount((err) => (err ? fail(err) : done()))), timeoutMs, `mounting ${mountpoint}`);
    // The mount is ready when the kernel reaches our root (not the directory underneath).
    const st = await withDeadline(stat(mountpoint), timeoutMs, `first stat of ${mountpoint}`);
    if (st.ino !== opts.tree.root.ino) throw internal(`mount at ${mountpoint} answers with inode ${st.ino}, not the tree's root`);
  } catch (err) {
    closing.abort();
    await unmountPath(mountpoint).catch(() => {});
    throw err instanceof LazysnapError ? err : failedPrecondition(`cannot mount at ${mountpoint}: ${(err as Error).message}`, err);
  }

  let unmounted: Promise<void> | undefined;
  return {
    mountpoint,
    unmount() {
      unmounted ??= new Promise<void>((done, fail) => {
        closing.abort();
        fuse.close((err) => (err ? fail(err) : done()));
      }).catch((err: unknown) => {
        unmounted = undefined; // a failed unmount (still mounted) may be retried
        throw err;
      });
      return unmounted;
    },
    stats: () => ({
      ops: counters.ops,
      errors: counters.errors,
      readLatencyMs: { p50: counters.readLatency.quantile(0.5), p99: counters.readLatency.quantile(0.99) },
    }),
  };
}

function mountOptions(fsName: string, tuning: MountTreeTuning): string[] {
  // Zero must be spelled out: libfuse reads a missing timeout as its default (1 s).
  const t = String(tuning.cacheTimeoutSec ?? DEFAULT_CACHE_TIMEOUT_SEC);
  return [
    'ro',
    `fsname=lazysnap:${fsName.replace(/[^A-Za-z0-9._:/@+-]/g, '_')}`,
    'subtype=lazysnap',
    ...(tuning.allowOther ?? true ? ['allow_other'] : []),
    'default_permissions', // the kernel checks modes against the caller
    'use_ino', //             st_ino is the tree's ino (hardlinks share one)
    'kernel_cache', //        keep the page cache across opens: the content never changes
    `entry_timeout=${t}`,
    `attr_timeout=${t}`,
    `negative_timeout=${t}`,
    `max_read=${MAX_READ}`,
  ];
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_done, fail) => {
    timer = setTimeout(() => fail(unavailable(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
