// The on-disk form of one cached chunk, self-verifying so that a torn write, a flipped
// bit or a file truncated by a crash reads back as a miss instead of wrong bytes:
//
//   offset  size  field
//   0       8     magic "LZSCHNK1"
//   8       4     key length K (uint32 BE)
//   12      8     data length N (uint64 BE, a safe integer)
//   20      32    sha256 of the data
//   52      K     key (UTF-8), so a file names what it holds (a hash collision or a file
//                 copied under the wrong name is a miss, not another chunk's bytes)
//   52+K    N     data
//
// File names are the sha256 of the key: keys never reach the file system, so no key can
// name a path outside the cache directory.

import { createHash } from 'node:crypto';
import { SHA256_DIGEST } from '../formats/layer-index.js';

const MAGIC = Buffer.from('LZSCHNK1', 'latin1');
export const CHUNK_FILE_HEADER_BYTES = 52;

/** The file name (64 hex characters) for a key. */
export function chunkFileName(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Header + key for `data`; the caller writes [head, data] so data is not copied. */
export function encodeChunkFileHead(key: string, data: Buffer): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const head = Buffer.alloc(CHUNK_FILE_HEADER_BYTES + keyBytes.length);
  MAGIC.copy(head, 0);
  head.writeUInt32BE(keyBytes.length, 8);
  head.writeBigUInt64BE(BigInt(data.length), 12);
  dataHash(key, data).copy(head, 20);
  keyBytes.copy(head, CHUNK_FILE_HEADER_BYTES);
  return head;
}

/**
 * The data hash a file's header holds. A chunk keyed by its sha256 digest was verified
 * against that key before it was stored (chunk-key.ts), so the key's digest is the hash:
 * one sha256 of every chunk's bytes less per cache fill (a cold start's prefetch hashes
 * ~15 MB). Safe whatever a caller passes: decodeChunkFile hashes the data it reads and
 * compares, so data that does not match its key reads back as a miss, never as that key.
 */
function dataHash(key: string, data: Buffer): Buffer {
  return SHA256_DIGEST.test(key) ? Buffer.from(key.slice('sha256:'.length), 'hex') : createHash('sha256').update(data).digest();
}

/** Total file size for a key and a data length. */
export function chunkFileBytes(key: string, dataLength: number): number {
  return CHUNK_FILE_HEADER_BYTES + Buffer.byteLength(key, 'utf8') + dataLength;
}

/** The data of a chunk file, or undefined when the file is not a valid chunk of `key`. */
export function decodeChunkFile(file: Buffer, key: string): Buffer | undefined {
  if (file.length < CHUNK_FILE_HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) return undefined;
  const keyLength = file.readUInt32BE(8);
  const dataLength = Number(file.readBigUInt64BE(12));
  const dataStart = CHUNK_FILE_HEADER_BYTES + keyLength;
  if (!Number.isSafeInteger(dataLength) || dataStart + dataLength !== file.length) return undefined;
  if (file.toString('utf8', CHUNK_FILE_HEADER_BYTES, dataStart) !== key) return undefined;
  const data = file.subarray(dataStart);
  const want = file.subarray(20, 52);
  if (!createHash('sha256').update(data).digest().equals(want)) return undefined;
  return data;
}
