// `convert SRC DST --format estargz`: every layer is rewritten as eStargz (streamed:
// decompress -> eStargz writer -> spool file -> destination), the config gets the new
// diff_ids, the manifest the TOC-digest and uncompressed-size annotations. The output is
// still a plain tar.gz image to every other tool, and lazily mountable.

import { mkdir, rm, mkdtemp } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { RegistryClient } from '../registry/client.js';
import { writeEstargz } from '../formats/estargz/write-estargz.js';
import type { ImageSource } from '../image/image-source.js';
import { openSink } from '../image/open-sink.js';
import { ANNOTATIONS, MEDIA_TYPES, type Descriptor, type ImageConfig, type ImageManifest, type Platform } from '../image/oci-types.js';
import { silentProgress, type Progress } from '../progress.js';
import { openUncompressedLayer } from './layer-stream.js';
import { sha256Digest } from '../reference/digest.js';

export interface ConvertOptions {
  client: RegistryClient;
  stateDir: string;
  prefetchFiles?: readonly string[];
  platform?: Platform;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface ConvertedLayer {
  digest: string;
  size: number;
  diffId: string;
  tocDigest: string;
  uncompressedSize: number;
  sourceDigest: string;
  missedPrioritizedFiles: number;
}

export interface ConvertResult {
  source: string;
  reference: string;
  manifestDigest: string;
  configDigest: string;
  layers: ConvertedLayer[];
}


export async function convertImage(source: ImageSource, dst: string, opts: ConvertOptions): Promise<ConvertResult> {
  const progress = opts.progress ?? silentProgress;
  const resolved = await source.resolve(opts.platform, opts.signal);
  const sink = await openSink(dst, opts.client);
  const spoolRoot = join(opts.stateDir, 'spool');
  await mkdir(spoolRoot, { recursive: true, mode: 0o700 });
  const spool = await mkdtemp(join(spoolRoot, 'convert-'));
  try {
    const layers: ConvertedLayer[] = [];
    const newLayers: Descriptor[] = [];
    const n = resolved.manifest.layers.length;
    // One layer at a time: each is CPU-bound gzip work, and memory stays bounded.
    for (const [i, desc] of resolved.manifest.layers.entries()) {
      const id = `convert-${i}`;
      progress.start(id, `layer ${i + 1}/${n} ${desc.digest.slice(7, 19)} -> eStargz`, 0);
      const input = await openUncompressedLayer(source, desc, opts.signal);
      const file = join(spool, `layer-${i}.tar.gz`);
      const out = createWriteStream(file, { mode: 0o600 });
      let written = 0;
      const result = await writeEstargz(countingInput(input, (b) => progress.update(id, (written += b))), out, {
        prioritizedFiles: opts.prefetchFiles ?? [],
        spoolDir: spool,
      });
      out.end();
      await once(out, 'close');
      const annotations: Record<string, string> = {
        [ANNOTATIONS.estargzTocDigest]: result.tocDigest,
        [ANNOTATIONS.estargzUncompressedSize]: String(result.uncompressedSize),
      };
      const newDesc: Descriptor = { mediaType: MEDIA_TYPES.ociLayerGzip, digest: result.blobDigest, size: result.blobSize, annotations };
      await sink.putBlob(newDesc, { file }, opts.signal);
      await rm(file, { force: true });
      newLayers.push(newDesc);
      layers.push({
        digest: result.blobDigest, size: result.blobSize, diffId: result.diffId, tocDigest: result.tocDigest,
        uncompressedSize: result.uncompressedSize, sourceDigest: desc.digest, missedPrioritizedFiles: result.missedPrioritizedFiles.length,
      });
      progress.finish(id, `${result.blobSize} bytes`);
    }
    const config: ImageConfig = { ...resolved.config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDesc: Descriptor = { mediaType: MEDIA_TYPES.ociConfig, digest: sha256Digest(configBytes), size: configBytes.length };
    await sink.putBlob(configDesc, { bytes: configBytes }, opts.signal);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: configDesc,
      layers: newLayers,
      ...(resolved.manifest.annotations ? { annotations: resolved.manifest.annotations } : {}),
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDesc: Descriptor = { mediaType: MEDIA_TYPES.ociManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length };
    await sink.putManifest(manifestBytes, manifestDesc, opts.signal);
    return { source: resolved.reference, reference: sink.reference, manifestDigest: manifestDesc.digest, configDigest: configDesc.digest, layers };
  } finally {
    await sink.close();
    await rm(spool, { recursive: true, force: true });
  }
}

/** Reports uncompressed bytes as they pass (the total is not known in advance). */
async function* countingInput(input: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    onBytes(chunk.length);
    yield chunk;
  }
}
