// The uncompressed tar of a layer blob as a stream, whatever its compression: what
// convert feeds the eStargz writer. The blob's digest is checked by the source's stream.

import { invalidArgument } from '../errors.js';
import { decompressStream } from '../formats/streamed/decompress.js';
import type { ImageSource } from '../image/image-source.js';
import { MEDIA_TYPES, type Descriptor } from '../image/oci-types.js';

export function layerCompression(desc: Descriptor): 'gzip' | 'zstd' | 'none' {
  switch (desc.mediaType) {
    case MEDIA_TYPES.ociLayerGzip:
    case MEDIA_TYPES.dockerLayerGzip:
      return 'gzip';
    case MEDIA_TYPES.ociLayerZstd:
      return 'zstd';
    case MEDIA_TYPES.ociLayerTar:
    case MEDIA_TYPES.dockerLayerTar:
      return 'none';
    default:
      throw invalidArgument(`layer ${desc.digest} has media type ${desc.mediaType}, which is not a tar layer`);
  }
}

export async function openUncompressedLayer(source: ImageSource, desc: Descriptor, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  const compression = layerCompression(desc);
  const blob = (await source.openBlobStream(desc, 0, signal)) as AsyncIterable<Uint8Array>;
  return compression === 'none' ? blob : decompressStream(compression, blob, `layer ${desc.digest}`);
}
