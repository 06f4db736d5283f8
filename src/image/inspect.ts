// `inspect`: what an image is and how lazily each of its layers can be read. The lazy
// format is what lazysnap would use: eStargz and zstd:chunked are confirmed by reading
// their TOC (a layer whose TOC does not parse is reported as its plain compression),
// so the answer is the same one `mount` acts on.

import { openLayerIndex } from '../formats/open-layer.js';
import { IndexReadCache } from '../cache/index-read-cache.js';
import type { ChunkStore } from '../cache/chunk-store.js';
import { formatPlatform } from './platform.js';
import { forEachLimited } from '../worker-pool.js';
import type { ImageSource } from './image-source.js';
import type { Platform } from './oci-types.js';
import type { LayerDescription } from '../daemon/backend.js';

/** A layer as `status` describes it, plus its manifest annotations. */
export interface InspectedLayer extends LayerDescription {
  annotations?: Record<string, string>;
}

export interface InspectResult {
  reference: string;
  digest: string;
  manifestDigest: string;
  mediaType: string;
  platform: string;
  created?: string;
  config: { digest: string; size: number; mediaType: string };
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  user: string;
  diffIds: string[];
  compressedSize: number;
  layers: InspectedLayer[];
}

/**
 * With `store`, the index reads (footers, TOCs) are kept in the chunk cache, so a later
 * mount or read of the image does not fetch them again (what `pull` relies on).
 */
export async function inspectImage(source: ImageSource, opts: { platform?: Platform; signal?: AbortSignal; store?: ChunkStore } = {}): Promise<InspectResult> {
  const r = await source.resolve(opts.platform, opts.signal);
  const layers: InspectedLayer[] = new Array(r.manifest.layers.length);
  await forEachLimited(r.manifest.layers, 4, async (desc, i) => {
    const blob = source.blob(desc);
    const opened = await openLayerIndex(desc, opts.store ? new IndexReadCache(blob, opts.store, desc.digest) : blob);
    layers[i] = {
      digest: desc.digest,
      size: desc.size,
      mediaType: desc.mediaType,
      format: opened.kind === 'indexed' ? opened.index.format : opened.format,
      lazy: opened.kind === 'indexed',
      ...(opened.kind === 'stream' ? { reason: opened.reason } : {}),
      ...(desc.annotations ? { annotations: desc.annotations } : {}),
    };
  });
  const c = r.config.config ?? {};
  return {
    reference: r.reference,
    digest: r.digest,
    manifestDigest: r.manifestDigest,
    mediaType: r.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    platform: formatPlatform(r.platform),
    ...(r.config.created ? { created: r.config.created } : {}),
    config: { digest: r.manifest.config.digest, size: r.manifest.config.size, mediaType: r.manifest.config.mediaType },
    env: c.Env ?? [],
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    workingDir: c.WorkingDir ?? '',
    user: c.User ?? '',
    diffIds: r.config.rootfs?.diff_ids ?? [],
    compressedSize: r.manifest.layers.reduce((s, l) => s + l.size, 0),
    layers,
  };
}
