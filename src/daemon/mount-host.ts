// MountHost: where the daemon's mounts are served. The daemon decides what is mounted and
// keeps the records; a host makes a mount serve and reports on it.
//   processHost (process-host.ts, production): one detached mount-server process per
//     mount, so the control side can be killed, restarted or upgraded under serving mounts.
//   inProcessHost (here, for tests and embedding): the daemon serves FUSE itself; its
//     mounts end with it.
// Lifecycle of a HostedMount: start (or attach, after a daemon restart) -> report ... ->
// unmount (stops serving) or release (the daemon goes away; the mount may stay).

import type { CacheFigures, MountBackend, OpenedImage } from './backend.js';
import type { DaemonLog } from './log.js';
import type { MountRecord } from './mount-records.js';
import { mountStatus } from './mount-status.js';
import { prepareMountpoint } from './mountpoint.js';
import type { MountServerStats } from './protocol.js';
import type { MountTree, TreeMount } from './tree-mount.js';

export interface HostedMount {
  /** What mounts.json keeps for this mount (with serverPid/serverSocket when process-hosted). */
  readonly record: MountRecord;
  /** The mount's status and its process's cache; rejects (UNAVAILABLE) when its server is dead or silent. */
  report(): Promise<MountServerStats>;
  /** The report its server sent the moment it was ready (a new mount): the answer to the mount request. */
  readonly readyStats?: MountServerStats;
  /** Stops serving and detaches the mountpoint, even when the server is dead or hung. */
  unmount(): Promise<void>;
  /** The daemon is closing: a mount server keeps serving; an in-process mount cannot, so it unmounts. */
  release(): Promise<void>;
}

export interface MountHost {
  /** Mounts `record`; resolves once the mountpoint answers stat. */
  start(record: MountRecord): Promise<HostedMount>;
  /**
   * A mount that a previous daemon left serving, or undefined when nothing serves it any
   * more (a dead endpoint it left is cleaned, so that `start` can mount there again).
   */
  attach(record: MountRecord): Promise<HostedMount | undefined>;
  /** The cache figures for `status`, from the reports of the mounts that answered. */
  cacheFigures(reports: readonly MountServerStats[]): CacheFigures;
  /** Releases what the host holds for itself (not the mounts); idempotent. */
  close?(): Promise<void>;
}

export interface ServedMount {
  image: OpenedImage;
  fuse: TreeMount;
  /** Unmounts, then closes the image; idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the image and mounts it: what a mount server does, and the in-process host too.
 * The caller starts the image's background work (image.startBackground) once it has
 * reported the mount as ready.
 */
export async function serveRecord(record: MountRecord, backend: MountBackend, mountTree: MountTree, log: DaemonLog): Promise<ServedMount> {
  // The mountpoint's checks (statfs, stat, mountinfo: 13-56 ms on a cold mount, traced,
  // behind the opening's file work) run while the image opens; their outcome counts at mount.
  const prepared = prepareMountpoint(record.mountpoint);
  prepared.catch(() => {});
  const image = await backend.openImage(record.reference, { platform: record.platform, prefetch: record.prefetch });
  let fuse: TreeMount;
  try {
    fuse = await mountTree({
      prepared,
      mountpoint: record.mountpoint,
      tree: image.tree,
      read: (node, offset, length, signal) => image.read(node, offset, length, signal),
      onError: (err, op, path) => log.warn(`${record.mountpoint}: ${op} ${path} failed`, err),
      fsName: image.describe().image,
    });
  } catch (err) {
    await image.close().catch((e: unknown) => log.warn(`closing ${record.reference} after a failed mount`, e));
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    image,
    fuse,
    close: () => (closed ??= (async () => {
      await fuse.unmount();
      await image.close().catch((err: unknown) => log.warn(`closing ${record.reference}`, err));
    })().catch((err: unknown) => {
      closed = undefined; // still mounted: a later umount may retry
      throw err;
    })),
  };
}

/** What a served mount reports: its status and the cache of the process serving it. */
export function servedStats(record: MountRecord, served: ServedMount, backend: MountBackend): MountServerStats {
  return { mount: mountStatus(record, served.image, served.fuse.stats(), process.pid), cache: backend.cacheFigures() };
}

/** The daemon serves FUSE itself (tests, embedding): a daemon's exit ends its mounts. */
export function inProcessHost(backend: MountBackend, mountTree: MountTree, log: DaemonLog): MountHost {
  return {
    async start(record) {
      const served = await serveRecord(record, backend, mountTree, log);
      served.image.startBackground();
      return {
        record,
        report: async () => servedStats(record, served, backend),
        unmount: () => served.close(),
        release: () => served.close(),
      };
    },
    // Nothing outlives an in-process daemon: whatever it left is a dead endpoint, which
    // mountTree cleans before mounting again.
    attach: async () => undefined,
    cacheFigures: () => backend.cacheFigures(),
  };
}
