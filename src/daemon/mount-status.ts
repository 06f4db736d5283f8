// The `status` entry of one mount, from what its serving process knows: the record, the
// opened image (describe + counters) and the FUSE adapter's stats. Built where the mount
// is served (a mount server, or the daemon itself in-process) and sent as is.

import type { OpenedImage } from './backend.js';
import type { MountRecord } from './mount-records.js';
import type { MountStatus } from './protocol.js';
import type { TreeMountStats } from './tree-mount.js';

export function mountStatus(record: MountRecord, image: OpenedImage, fs: TreeMountStats, serverPid: number): MountStatus {
  const d = image.describe();
  const c = image.counters();
  const lookups = c.cacheHits + c.cacheMisses;
  return {
    mountpoint: record.mountpoint,
    image: d.image,
    digest: d.digest,
    kind: 'view',
    bytesFetched: c.bytesFetched,
    requests: c.requests,
    cacheHits: c.cacheHits,
    cacheMisses: c.cacheMisses,
    reference: record.reference,
    ...(record.platform ? { platform: record.platform } : {}),
    prefetch: record.prefetch,
    mountedAt: record.mountedAt,
    layers: d.layers,
    compressedBytes: d.compressedBytes,
    cacheHitRate: lookups === 0 ? 0 : c.cacheHits / lookups,
    readLatencyMs: fs.readLatencyMs,
    errors: fs.errors,
    fetchErrors: c.errors,
    fsOps: fs.ops,
    serverPid,
  };
}
