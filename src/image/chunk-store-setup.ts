// The chunk cache of one lazysnap process: memory (LRU, bounded in bytes) over disk
// (STATE/cache, bounded in bytes, LRU eviction, survives restarts). Sizes come from the
// environment so operators can set a budget without flags on every command.

import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import { DiskChunkStore } from '../cache/disk-chunk-store.js';
import { MemoryChunkStore } from '../cache/memory-chunk-store.js';
import { TwoLevelChunkStore } from '../cache/two-level-chunk-store.js';

export const DEFAULT_MEMORY_CACHE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_DISK_CACHE_BYTES = 10 * 1024 * 1024 * 1024;

export interface ChunkStoreSizes {
  memoryBytes: number;
  diskBytes: number;
}

function envBytes(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument(`${name}=${raw}: want a positive number of bytes`);
  return n;
}

export function chunkStoreSizes(env: NodeJS.ProcessEnv = process.env): ChunkStoreSizes {
  return {
    memoryBytes: envBytes('LAZYSNAP_MEMORY_CACHE_BYTES', DEFAULT_MEMORY_CACHE_BYTES, env),
    diskBytes: envBytes('LAZYSNAP_DISK_CACHE_BYTES', DEFAULT_DISK_CACHE_BYTES, env),
  };
}

export async function openProcessChunkStore(stateDir: string, sizes: ChunkStoreSizes = chunkStoreSizes()): Promise<TwoLevelChunkStore> {
  const disk = await DiskChunkStore.open(join(stateDir, 'cache'), sizes.diskBytes);
  return new TwoLevelChunkStore(new MemoryChunkStore(sizes.memoryBytes), disk);
}
