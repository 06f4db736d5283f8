// `push IMAGE [DST]`: copies an image from the local store (a tag written by pull or
// convert) or from an `oci:` layout to a registry (or another layout): blobs first, the
// manifest last, so the destination never names a half-copied image.

import { isCode, failedPrecondition } from '../errors.js';
import { formatReference, parseReference } from '../reference/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { ContentStore } from '../store/content-store.js';
import { statePaths } from '../state-dir.js';
import { openOciLayoutSource } from './oci-layout-source.js';
import { openSink } from './open-sink.js';
import type { ImageSource } from './image-source.js';
import { MAX_CONFIG_BYTES } from '../registry/client.js';

export interface PushResult {
  source: string;
  reference: string;
  manifestDigest: string;
  blobs: number;
}

async function localSource(image: string, stateDir: string): Promise<ImageSource> {
  const ref = parseReference(image);
  if (ref.kind === 'oci') return openOciLayoutSource(ref.path, ref.tag);
  // The local store tags images by their canonical reference.
  const content = statePaths(stateDir).content;
  const name = formatReference(ref);
  const store = await ContentStore.open(content);
  try {
    await store.resolveTag(name);
  } catch (err) {
    if (isCode(err, 'NOT_FOUND')) throw failedPrecondition(`${name} is not in the local store: pull --all or convert it first`, err);
    throw err;
  } finally {
    await store.close();
  }
  return openOciLayoutSource(content, name);
}

export async function pushImage(image: string, dst: string, opts: { client: RegistryClient; stateDir: string; signal?: AbortSignal }): Promise<PushResult> {
  const source = await localSource(image, opts.stateDir);
  const sink = await openSink(dst, opts.client);
  try {
    const r = await source.resolve(undefined, opts.signal);
    for (const desc of r.manifest.layers) {
      await sink.putBlob(desc, { open: async () => (await source.openBlobStream(desc, 0, opts.signal)) as AsyncIterable<Uint8Array> }, opts.signal);
    }
    await sink.putBlob(r.manifest.config, { bytes: await source.fetchBlob(r.manifest.config, MAX_CONFIG_BYTES, opts.signal) }, opts.signal);
    await sink.putManifest(r.manifestBytes, { mediaType: r.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: r.manifestDigest, size: r.manifestBytes.length }, opts.signal);
    return { source: r.reference, reference: sink.reference, manifestDigest: r.manifestDigest, blobs: r.manifest.layers.length + 1 };
  } finally {
    await sink.close();
    await source.close();
  }
}
