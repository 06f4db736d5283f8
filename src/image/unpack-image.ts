// `unpack IMAGE DIR`: the non-lazy path. The same LazyImage as the mount (the same tar
// reader, the same overlay rules), written out by unpackTree, which never writes outside DIR.

import { resolve } from 'node:path';
import type { ChunkStore } from '../cache/chunk-store.js';
import type { ContentStore } from '../store/content-store.js';
import { unpackTree } from '../unpack/unpack-tree.js';
import { silentProgress, type Progress } from '../progress.js';
import type { ImageSource } from './image-source.js';
import { LazyImage, layersDir } from './lazy-image.js';
import type { Platform } from './oci-types.js';

export interface UnpackSummary {
  reference: string;
  digest: string;
  dir: string;
  files: number;
  bytesWritten: number;
  bytesFetched: number;
  requests: number;
  warnings: string[];
}

export async function unpackImage(source: ImageSource, dir: string, opts: {
  stateDir: string; store: ChunkStore; platform?: Platform; progress?: Progress; signal?: AbortSignal;
  /** Blobs already pulled (`pull --all`) are read from here. */
  localStore?: ContentStore;
}): Promise<UnpackSummary> {
  const progress = opts.progress ?? silentProgress;
  const image = await LazyImage.open(source, {
    platform: opts.platform, layersDir: layersDir(opts.stateDir), store: opts.store, progress, signal: opts.signal,
    ...(opts.localStore ? { localStore: opts.localStore } : {}),
  });
  try {
    const id = 'unpack';
    let started = false;
    const result = await unpackTree(image.tree, dir, (node, signal) => image.readAll(node, undefined, signal), {
      signal: opts.signal,
      onProgress: (done, total) => {
        if (!started) {
          progress.start(id, `unpack ${image.resolved.reference}`, total);
          started = true;
        }
        progress.update(id, done);
      },
    });
    if (started) progress.finish(id);
    return {
      reference: image.resolved.reference,
      digest: image.resolved.manifestDigest,
      dir: resolve(dir),
      files: image.tree.size,
      bytesWritten: result.bytesWritten,
      bytesFetched: source.counters.bytesFetched,
      requests: source.counters.requests,
      warnings: [...image.tree.warnings, ...result.warnings],
    };
  } finally {
    await image.close();
  }
}
