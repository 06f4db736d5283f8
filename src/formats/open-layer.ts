// Choosing a layer's reader from its descriptor and its bytes. The media type names the
// compression; annotations and the blob's footer say whether a lazy index is there:
//   tar                          -> the tar index (Range reads of the headers)
//   gzip + eStargz TOC/footer    -> eStargz
//   zstd + zstd:chunked position -> zstd:chunked
//   gzip/zstd without one        -> 'stream': the caller runs the streamed fallback.
// A wrong guess never serves wrong bytes: a footer look-alike whose TOC does not parse or
// verify falls back to 'stream' (which checks the blob digest), and every chunk a lazy
// index serves is verified against its digest.

import { codeOf, invalidArgument } from '../errors.js';
import { ANNOTATIONS, MEDIA_TYPES, type Descriptor } from '../image/oci-types.js';
import { openEstargz } from './estargz/open-estargz.js';
import { NO_FOOTER as NO_ESTARGZ_FOOTER } from './estargz/read-toc.js';
import type { LayerIndex } from './layer-index.js';
import type { RangeReader } from './range-reader.js';
import { openTarIndex } from './tar/open-tar-index.js';
import { openZstdChunked } from './zstd-chunked/open-zstd-chunked.js';
import { NO_FOOTER as NO_ZSTD_CHUNKED_FOOTER } from './zstd-chunked/read-toc.js';

export type OpenedLayer =
  | { readonly kind: 'indexed'; readonly index: LayerIndex }
  | { readonly kind: 'stream'; readonly format: 'gzip' | 'zstd'; readonly reason: string };

const NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar';

/**
 * How much of a layer's tail to read first. An annotated eStargz layer has a TOC: a
 * small TOC and its footer come in one request, a large one in two (the rest of the TOC,
 * never twice). A gzip or zstd layer without annotations is most likely a plain one:
 * probing its footer costs a few KiB, not a window of file data that a full streamed
 * fetch would download again (the bench counted 1 MB fetched twice with 512 KiB windows).
 */
const ANNOTATED_TAIL_WINDOW_BYTES = 64 * 1024;
const PROBE_TAIL_WINDOW_BYTES = 4 * 1024;

const COMPRESSION: Readonly<Record<string, 'none' | 'gzip' | 'zstd'>> = {
  [MEDIA_TYPES.ociLayerTar]: 'none',
  [MEDIA_TYPES.dockerLayerTar]: 'none',
  [NONDISTRIBUTABLE]: 'none',
  [MEDIA_TYPES.ociLayerGzip]: 'gzip',
  [MEDIA_TYPES.dockerLayerGzip]: 'gzip',
  [`${NONDISTRIBUTABLE}+gzip`]: 'gzip',
  [MEDIA_TYPES.ociLayerZstd]: 'zstd',
  [`${NONDISTRIBUTABLE}+zstd`]: 'zstd',
};

export async function openLayerIndex(desc: Descriptor, reader: RangeReader,
  opts: { signal?: AbortSignal; onPrefetchEnd?: (end: number) => void } = {}): Promise<OpenedLayer> {
  const compression = COMPRESSION[desc.mediaType];
  if (compression === undefined) {
    throw invalidArgument(`layer ${desc.digest} has media type ${JSON.stringify(desc.mediaType)}, which is not a tar layer lazysnap can read`);
  }
  const annotations = desc.annotations ?? {};
  if (compression === 'none') return { kind: 'indexed', index: await openTarIndex(reader, { signal: opts.signal }) };
  if (compression === 'gzip') {
    const tocDigest = annotations[ANNOTATIONS.estargzTocDigest];
    const size = Number(annotations[ANNOTATIONS.estargzUncompressedSize] ?? NaN);
    return lazyOrStream('gzip', 'an eStargz TOC', NO_ESTARGZ_FOOTER, () => openEstargz(reader, {
      tailWindowBytes: tocDigest !== undefined ? ANNOTATED_TAIL_WINDOW_BYTES : PROBE_TAIL_WINDOW_BYTES,
      ...(tocDigest !== undefined ? { tocDigest } : {}),
      ...(Number.isSafeInteger(size) && size >= 0 ? { uncompressedSize: size } : {}),
      ...(opts.onPrefetchEnd ? { onPrefetchEnd: opts.onPrefetchEnd } : {}),
      signal: opts.signal,
    }));
  }
  return lazyOrStream('zstd', 'a zstd:chunked TOC', NO_ZSTD_CHUNKED_FOOTER, () => openZstdChunked(reader, {
    annotations, tailWindowBytes: PROBE_TAIL_WINDOW_BYTES, signal: opts.signal,
  }));
}

/**
 * Tries the lazy reader. Input that is not (or not validly) in the lazy format gives
 * 'stream' with the reason; transport errors (UNAVAILABLE, ...) propagate.
 */
async function lazyOrStream(format: 'gzip' | 'zstd', what: string, notThere: string, open: () => Promise<LayerIndex>): Promise<OpenedLayer> {
  try {
    return { kind: 'indexed', index: await open() };
  } catch (err) {
    const code = codeOf(err);
    if (code !== 'INVALID_ARGUMENT' && code !== 'DIGEST_MISMATCH') throw err;
    const message = (err as Error).message;
    const reason = message === notThere ? `${format} layer without ${what}` : `${format} layer whose ${what.slice(what.indexOf(' ') + 1)} is unusable: ${message}`;
    return { kind: 'stream', format, reason };
  }
}
