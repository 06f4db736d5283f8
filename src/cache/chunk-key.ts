// Naming and checking chunks for the cache.
//
// Key: a chunk with a digest is keyed by that digest (`sha256:<hex>`): the content is
// verified before it is stored, so identical chunks of different layers or images share
// one cache entry. A chunk without a digest is keyed by where it comes from:
// `<keyPrefix>:<blobOffset>:<innerOffset>:<size>`, with the blob digest as prefix (a blob
// digest names immutable bytes, so the position names immutable content). The two forms
// cannot collide: a digest key has one ':' and hex has none.

import type { ChunkRef } from '../formats/layer-index.js';
import { LIMITS } from '../formats/layer-index.js';
import { decodeChunkContent } from '../formats/decode.js';

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

export function chunkKey(keyPrefix: string, c: ChunkRef): string {
  return c.digest ?? `${keyPrefix}:${c.blobOffset}:${c.innerOffset}:${c.size}`;
}

/** Why `c` cannot be fetched from a blob of `blobSize` bytes, or undefined when it can. */
export function chunkProblem(c: ChunkRef, blobSize: number): string | undefined {
  // Field by field, no array: this runs for every chunk of a layer when its blob order is built.
  if (!(isCount(c.fileOffset) && isCount(c.size) && isCount(c.blobOffset) && isCount(c.blobLength) && isCount(c.innerOffset))) {
    return 'has a non-integer or negative field';
  }
  if (c.digest !== undefined && !SHA256_DIGEST.test(c.digest)) return `has digest ${JSON.stringify(c.digest)}, not sha256:<64 hex>`;
  if (c.encoding === 'zeros') return undefined;
  if (c.blobLength > LIMITS.maxChunkBytes || c.innerOffset + c.size > LIMITS.maxChunkBytes) {
    return `is larger than ${LIMITS.maxChunkBytes} bytes`;
  }
  if (c.blobOffset + c.blobLength > blobSize) return `lies past the end of the blob (${blobSize} bytes)`;
  return undefined;
}

export function describeChunk(what: string, c: ChunkRef): string {
  return `chunk at blob offset ${c.blobOffset} (+${c.blobLength}, ${c.encoding}) of ${what}`;
}

/** Fetched blob bytes -> the chunk's verified content (see decodeChunkContent). */
export function decodeAndVerify(what: string, c: ChunkRef, raw: Buffer): Buffer {
  return decodeChunkContent(c, raw, () => describeChunk(what, c));
}
