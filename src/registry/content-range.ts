// `Content-Range: bytes FIRST-LAST/COMPLETE` (RFC 9110 14.4) of a 206 answer, checked
// against what we asked for: a registry that answers another range gets an error, so
// wrong bytes are never served.

import { unavailable } from '../errors.js';

export interface ContentRange { first: number; last: number; complete?: number }

export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const complete = m[3] === '*' ? undefined : Number(m[3]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return undefined;
  if (complete !== undefined && (!Number.isSafeInteger(complete) || last >= complete)) return undefined;
  return complete === undefined ? { first, last } : { first, last, complete };
}

/**
 * Checks a 206's Content-Range against the request `[offset, offset+length)` of a blob
 * of `size` bytes (`length` undefined: open-ended, to the end). UNAVAILABLE naming `what`.
 */
export function checkContentRange(value: string | undefined, offset: number, length: number | undefined, size: number, what: string): void {
  const r = parseContentRange(value);
  if (!r) throw unavailable(`${what}: registry answered 206 with a missing or malformed Content-Range "${value ?? ''}"`);
  const last = length === undefined ? size - 1 : offset + length - 1;
  if (r.first !== offset || r.last !== last || (r.complete !== undefined && r.complete !== size)) {
    throw unavailable(`${what}: registry answered Content-Range "${value}" to a request for bytes ${offset}-${last}/${size}`);
  }
}
