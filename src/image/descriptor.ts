// Checking a descriptor read from a document (manifest, index, index.json) before its
// digest names a URL or a file and its size sizes a buffer. Registry and layout alike.

import { invalidArgument } from '../errors.js';
import { digestProblem } from '../reference/digest.js';
import type { Descriptor } from './oci-types.js';

export function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  const v = d as Partial<Descriptor> | null;
  if (v === null || typeof v !== 'object') throw invalidArgument(`${what}: not a descriptor`);
  if (typeof v.mediaType !== 'string') throw invalidArgument(`${what}: no mediaType`);
  if (typeof v.digest !== 'string' || digestProblem(v.digest)) throw invalidArgument(`${what}: bad digest ${JSON.stringify(v.digest)}`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw invalidArgument(`${what}: bad size ${JSON.stringify(v.size)}`);
  if (v.annotations !== undefined && (v.annotations === null || typeof v.annotations !== 'object')) {
    throw invalidArgument(`${what}: annotations is not an object`);
  }
}
