// StoredBlobs: the committed blobs of a content store (content-store.ts), for a reader
// that only asks whether a layer is there and where (a mount server: a layer `pull --all`
// stored is read from disk, not fetched). Nothing is opened or created: a blob becomes
// visible in blobs/sha256/ only by an atomic rename after its digest was checked, so a
// stat of its path is a safe answer without the store's locks, and a state dir that has
// no store yet simply has no blobs (opening the store on a fresh state dir creates its
// layout, ~20-30 ms of file work on a cold mount's path).

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from './store-digest.js';

export interface StoredBlobs {
  /** Whether the blob is committed in the store. */
  has(digest: string): Promise<boolean>;
  /** Where it is (or would be) on disk. */
  blobPath(digest: string): string;
}

/** Where a content store at `root` keeps its committed blobs (an OCI layout's blobs/sha256). */
export function blobDirOf(root: string): string {
  return join(root, 'blobs', 'sha256');
}

/** The blobs of the content store at `root` (a state dir's STATE/content). */
export function storedBlobsIn(root: string): StoredBlobs {
  const blobDir = blobDirOf(root);
  const blobPath = (digest: string): string => join(blobDir, sha256Hex(digest, 'blob'));
  return {
    blobPath,
    async has(digest) {
      try {
        return (await stat(blobPath(digest))).isFile();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    },
  };
}
