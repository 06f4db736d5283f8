// Digests as the content store accepts them: `sha256:` + 64 lower-case hex, nothing else.
// A digest becomes a file name under blobs/, so it is checked here, before any path is
// built from it: this grammar has no '/', '.' or NUL, so no name can leave the store.

import { invalidArgument } from '../errors.js';

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** The hex part of a valid sha256 digest; INVALID_ARGUMENT naming `what` otherwise. */
export function sha256Hex(digest: unknown, what: string): string {
  if (typeof digest !== 'string' || !SHA256_RE.test(digest)) {
    const shown = typeof digest === 'string' ? JSON.stringify(digest.slice(0, 100)) : typeof digest;
    throw invalidArgument(`${what}: bad digest ${shown} (the content store takes sha256:<64 hex>)`);
  }
  return digest.slice('sha256:'.length);
}

/** Checks a descriptor size where it enters: a safe, non-negative integer. */
export function checkSize(size: unknown, what: string): number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalidArgument(`${what}: bad size ${JSON.stringify(size)}`);
  }
  return size;
}
