// `prune`: gives disk back. The disk chunk cache is trimmed to a byte budget (least
// recently used first); local copies of plain gzip/zstd layers that no current mount
// uses are removed, and so are content-store blobs that no tag reaches and leftover
// spool files. What a running daemon's mounts use is kept.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskChunkStore } from '../cache/disk-chunk-store.js';
import { ContentStore } from '../store/content-store.js';
import { statePaths } from '../state-dir.js';
import { MEDIA_TYPES, type ImageIndex, type ImageManifest } from './oci-types.js';

export interface PruneOptions {
  /** Disk cache budget after pruning (0: empty it). */
  cacheLimitBytes: number;
  /** Layer digests the daemon's mounts use now (their local copies are kept). */
  layersInUse: ReadonlySet<string>;
  /** True while a daemon serves this state dir (its cache is then trimmed, not removed). */
  daemonRunning: boolean;
}

export interface PruneResult {
  cacheBytesBefore: number;
  cacheBytesAfter: number;
  layerCopiesRemoved: number;
  layerBytesFreed: number;
  blobsRemoved: number;
  blobBytesFreed: number;
}

const MAX_DOC_BYTES = 4 * 1024 * 1024;

export async function pruneState(stateDir: string, opts: PruneOptions): Promise<PruneResult> {
  const paths = statePaths(stateDir);
  const result: PruneResult = { cacheBytesBefore: 0, cacheBytesAfter: 0, layerCopiesRemoved: 0, layerBytesFreed: 0, blobsRemoved: 0, blobBytesFreed: 0 };

  // The chunk cache: opening it with a smaller budget evicts down to it.
  const before = await DiskChunkStore.open(paths.cache, Number.MAX_SAFE_INTEGER);
  result.cacheBytesBefore = before.stats().bytes;
  await before.close();
  if (opts.cacheLimitBytes === 0 && !opts.daemonRunning) {
    await rm(paths.cache, { recursive: true, force: true });
  } else {
    const trimmed = await DiskChunkStore.open(paths.cache, Math.max(1, opts.cacheLimitBytes));
    result.cacheBytesAfter = trimmed.stats().bytes;
    await trimmed.close();
  }

  // Local copies of streamed layers: `<hex>.tar` and `<hex>.entries.json`.
  for (const name of await readdir(paths.layers).catch(() => [] as string[])) {
    const m = /^([0-9a-f]{64})\./.exec(name);
    if (!m || opts.layersInUse.has(`sha256:${m[1]}`)) continue;
    const p = join(paths.layers, name);
    const st = await stat(p).catch(() => undefined);
    await rm(p, { force: true });
    if (name.endsWith('.tar')) result.layerCopiesRemoved++;
    result.layerBytesFreed += st?.size ?? 0;
  }

  if (!opts.daemonRunning) await rm(paths.spool, { recursive: true, force: true });

  // Content-store blobs no tag reaches.
  const store = await ContentStore.open(paths.content);
  try {
    const reachable = new Set<string>();
    const visit = async (digest: string, mediaType: string): Promise<void> => {
      if (reachable.has(digest) || !(await store.has(digest))) return;
      reachable.add(digest);
      if (mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList) {
        const index = JSON.parse((await store.get(digest, MAX_DOC_BYTES)).toString('utf8')) as ImageIndex;
        for (const d of index.manifests ?? []) await visit(d.digest, d.mediaType);
      } else if (mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest) {
        const manifest = JSON.parse((await store.get(digest, MAX_DOC_BYTES)).toString('utf8')) as ImageManifest;
        reachable.add(manifest.config.digest);
        for (const l of manifest.layers ?? []) reachable.add(l.digest);
      }
    };
    for (const t of await store.listTags()) await visit(t.descriptor.digest, t.descriptor.mediaType);
    for (const b of await store.listBlobs()) {
      if (reachable.has(b.digest)) continue;
      await store.delete(b.digest);
      result.blobsRemoved++;
      result.blobBytesFreed += b.size;
    }
  } finally {
    await store.close();
  }
  return result;
}
