// Content digests (`algorithm:encoded`, OCI image-spec descriptor grammar): validation,
// computing sha256 over bytes, and incremental verification of streamed content.

import { createHash, type Hash } from 'node:crypto';
import { digestMismatch, invalidArgument } from '../errors.js';

// image-spec: algorithm-component(separator algorithm-component)* ':' encoded
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Registered algorithms have a fixed encoded form; others only need the grammar. */
const ENCODED: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};
/** What node:crypto calls the algorithms we can verify. */
const HASHES: Readonly<Record<string, string>> = { sha256: 'sha256', sha512: 'sha512' };

/** Why `digest` is malformed, or undefined when it is well formed. */
export function digestProblem(digest: string): string | undefined {
  if (!DIGEST_RE.test(digest)) return 'not of the form algorithm:hex';
  const i = digest.indexOf(':');
  const algorithm = digest.slice(0, i);
  const re = ENCODED[algorithm];
  if (re && !re.test(digest.slice(i + 1))) return `bad ${algorithm} value`;
  return undefined;
}

/** Throws INVALID_ARGUMENT naming `what` unless `digest` is a well formed, verifiable digest. */
export function checkDigest(digest: string, what: string): void {
  const problem = digestProblem(digest);
  if (problem) throw invalidArgument(`${what}: bad digest "${digest}" (${problem})`);
  if (!HASHES[digest.slice(0, digest.indexOf(':'))]) {
    throw invalidArgument(`${what}: unsupported digest algorithm in "${digest}"`);
  }
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Digest of `data` with the algorithm `expected` uses. */
export function digestOf(data: Uint8Array, expected: string): string {
  const v = new DigestVerifier(expected, 'data');
  v.update(data);
  return v.actual();
}

/** Incremental hash of streamed content, compared with an expected digest at the end. */
export class DigestVerifier {
  private readonly hash: Hash;
  private readonly algorithm: string;
  constructor(readonly expected: string, private readonly what: string) {
    checkDigest(expected, what);
    this.algorithm = expected.slice(0, expected.indexOf(':'));
    this.hash = createHash(HASHES[this.algorithm]!);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  actual(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
  /** DIGEST_MISMATCH naming the content unless what was hashed matches. Call once. */
  verify(): void {
    const actual = this.actual();
    if (actual !== this.expected) {
      throw digestMismatch(`${this.what}: content has digest ${actual}, expected ${this.expected}`);
    }
  }
}

/** Verifies whole bytes against a digest (DIGEST_MISMATCH naming `what`). */
export function verifyDigest(data: Uint8Array, expected: string, what: string): void {
  const v = new DigestVerifier(expected, what);
  v.update(data);
  v.verify();
}
