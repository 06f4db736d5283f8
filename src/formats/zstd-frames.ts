// Decoding zstd frames whose decoded size is known (a chunk's, a TOC's) with the reference
// decoder: zstd 1.5 compiled to WebAssembly (the zstddec package).
//
// Why not fzstd alone: it is pure JS, and on the frames containers/storage and skopeo
// write for zstd:chunked it decodes at about 14 MB/s (a 17 MB layer took 3.3 s, the zstd
// tool 0.06 s), which made a cold zstd:chunked start several times slower than eStargz.
// Why only for a known size: zstddec checks nothing itself. Its one-shot decode takes an
// output capacity, and a decoder error comes back as a length that is never the capacity
// (negative: an empty copy); its streaming decode loops forever on a corrupt frame and is
// not used. So the capacity is exactly the size wanted, the zstd library bounds every
// write by it (a bomb stops there), and anything but exactly that many bytes is refused.
// Callers fall back to fzstd (slow, but streaming and bounded) on undefined.

import { ZSTDDecoder } from 'zstddec';

const decoder = new ZSTDDecoder();
await withoutGlobalFetch(() => decoder.init());

/**
 * Runs `start` with globalThis.fetch hidden. zstddec loads its WebAssembly with fetch() of
 * a data: URL whenever fetch exists, and in node the first use of fetch loads undici's
 * whole web layer: 34 ms of every mount server's start (this module is loaded before the
 * first mount answers) and 4 MB it keeps, for a 60 KB base64 string. Without fetch, it
 * takes its other path (Buffer + WebAssembly.instantiate, under a millisecond). zstddec
 * decides which during the call itself, so fetch is back before the promise settles.
 */
function withoutGlobalFetch<T>(start: () => T): T {
  const own = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (!own?.configurable) return start();
  delete (globalThis as { fetch?: unknown }).fetch;
  try {
    return start();
  } finally {
    Object.defineProperty(globalThis, 'fetch', own);
  }
}

/**
 * `data` (whole zstd frames) decoded, when it decodes to exactly `size` bytes; undefined
 * when it does not (corrupt, shorter, longer, a dictionary it lacks): decode another way.
 */
export function decodeZstdExactly(data: Uint8Array, size: number): Buffer | undefined {
  if (!Number.isSafeInteger(size) || size <= 0) return undefined;
  const out = decoder.decode(data, size);
  return out.length === size ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : undefined;
}
