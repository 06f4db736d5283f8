// Naming and checking chunks for the cache.
//
// Key: a chunk with a digest is keyed by that digest (`sha256:<hex>`): the content is
// verified before it is stored, so identical chunks of different layers or images share
// one cache entry. A chunk without a digest is keyed by where it comes from:
// `<keyPrefix>:<blobOffset>:<innerOffset>:<size>`, with the blob digest as prefix (a blob
// digest names immutable bytes, so the position names immutable content). The two forms
// cannot collide: a digest key has one ':' and hex has none.

import type { ChunkRef } from '../formats/layer-index.js';
import { decodeChunkContent } from '../formats/decode.js';


export function chunkKey(keyPrefix: string, c: ChunkRef): string {
  return c.digest ?? `${keyPrefix}:${c.blobOffset}:${c.innerOffset}:${c.size}`;
}

export function describeChunk(what: string, c: ChunkRef): string {
  return `chunk at blob offset ${c.blobOffset} (+${c.blobLength}, ${c.encoding}) of ${what}`;
}

/** Fetched blob bytes -> the chunk's verified content (see decodeChunkContent). */
export function decodeAndVerify(what: string, c: ChunkRef, raw: Buffer): Buffer {
  return decodeChunkContent(c, raw, () => describeChunk(what, c));
}
