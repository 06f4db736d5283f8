// ChunkStore: where decoded chunks (file bytes, not blob bytes) are kept between reads.
// Vocabulary: a `key` names one chunk's content (see chunk-key.ts); the value is the
// chunk's bytes, exactly as they are served. Lifecycle: a store is built (or opened, for
// the disk store), shared by every layer reader of the process, and closed once;
// close() is idempotent and any other call after it is FAILED_PRECONDITION.
//
// Ownership: `set` hands the buffer to the store; callers must not change it afterwards,
// nor change a buffer `get` returns (the memory store serves the very same object).
// Stores are caches: `set` may drop the value (too big, disk full) and `get` may miss
// for any reason; neither is an error the reader has to handle.

import { failedPrecondition, invalidArgument } from '../errors.js';

export interface ChunkStoreStats {
  /** Bytes held (for the disk store: bytes of its files, headers included). */
  readonly bytes: number;
  /** Chunks held. */
  readonly entries: number;
  /** The byte bound the store evicts down to. */
  readonly limitBytes: number;
}

export interface ChunkStore {
  /** The chunk's bytes, or undefined on a miss (never bytes that failed verification). */
  get(key: string): Promise<Buffer | undefined>;
  /** Stores (or replaces) a chunk; may silently keep nothing (a cache, not a database). */
  set(key: string, data: Buffer): Promise<void>;
  has(key: string): Promise<boolean>;
  /** Drops a chunk; true when it was there. */
  delete(key: string): Promise<boolean>;
  stats(): ChunkStoreStats;
  close(): Promise<void>;
}

/** Longest key we accept: keys are a digest or a blob digest plus three numbers. */
export const MAX_KEY_LENGTH = 1024;

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalidArgument(`chunk key ${JSON.stringify(String(key).slice(0, 64))} is empty or longer than ${MAX_KEY_LENGTH}`);
  }
}

/** Checks a byte bound given to a store's constructor. */
export function checkLimit(limitBytes: number, what: string): void {
  if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) {
    throw invalidArgument(`${what} must be a positive integer number of bytes, got ${limitBytes}`);
  }
}

export function closedError(what: string): Error {
  return failedPrecondition(`${what} is closed`);
}

/**
 * Optional power: mark a key as just used without reading it. A two-level store calls it
 * on the lower level for hits served by the upper one, so that what is hot in memory is
 * not the first thing evicted from disk.
 */
export interface RecencyTouch {
  touch(key: string): void;
}
