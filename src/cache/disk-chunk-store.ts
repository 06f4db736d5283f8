// DiskChunkStore: the second cache level, one self-verifying file per chunk under `dir`,
// bounded in bytes with least-recently-used eviction. Recency lives in memory (an
// lru-cache keyed by file name, sized by file bytes, whose evictions unlink files); on
// open the index is rebuilt from the files present with mtime as recency (a disk hit
// touches its file so the order survives a restart), then trimmed to the limit.
//
// Layout: dir/<first 2 hex>/<64 hex> (sha256 of the key; a fan-out so that a cache of a
// million chunks does not make one huge directory). Writes go to a temp file beside the
// final name and are renamed into place, so a reader sees an old file, a new one or none.
// We do not fsync: a file torn by a power cut fails verification and reads as a miss,
// which is all a cache needs. Files that are not ours (other names) are never touched.

import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink, utimes } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { unavailable } from '../errors.js';
import { LIMITS } from '../formats/layer-index.js';
import { checkKey, checkLimit, closedError, type ChunkStore, type ChunkStoreStats, type RecencyTouch } from './chunk-store.js';
import { chunkFileBytes, chunkFileName, decodeChunkFile, encodeChunkFileHead } from './disk-chunk-file.js';

/** Largest chunk the disk store keeps: the largest chunk any reader fetches in one piece. */
export const MAX_DISK_CHUNK_BYTES = LIMITS.maxChunkBytes;

const FILE_NAME = /^[0-9a-f]{64}$/;
const SUBDIR_NAME = /^[0-9a-f]{2}$/;
const TEMP_NAME = /^[0-9a-f]{64}\.tmp-[0-9a-f]+$/;

/** One file in the index; a new object per write so stale cleanups can tell it apart. */
interface FileEntry {
  readonly bytes: number;
}

export class DiskChunkStore implements ChunkStore, RecencyTouch {
  private readonly index: LRUCache<string, FileEntry>;
  /** Per-file queue: every create/unlink of one file name runs in order. */
  private readonly locks = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly madeSubdirs = new Map<string, Promise<void>>();
  private closing: Promise<void> | undefined;

  private constructor(readonly dir: string, readonly limitBytes: number) {
    this.index = new LRUCache<string, FileEntry>({
      maxSize: limitBytes,
      sizeCalculation: (e) => e.bytes,
      dispose: (_e, name, reason) => {
        // 'delete' and 'set' are handled by the operation that caused them.
        if (reason === 'evict') void this.serial(name, () => this.unlinkUnlessIndexed(name)).catch(() => {});
      },
    });
  }

  /** Opens (creating if needed) a cache directory and indexes what it already holds. */
  static async open(dir: string, limitBytes: number): Promise<DiskChunkStore> {
    checkLimit(limitBytes, 'diskCacheBytes');
    const store = new DiskChunkStore(dir, limitBytes);
    try {
      await mkdir(dir, { recursive: true });
      await store.rebuild();
    } catch (err) {
      throw unavailable(`chunk cache directory ${dir}: ${(err as Error).message}`, err);
    }
    return store;
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check(key);
    const name = chunkFileName(key);
    const entry = this.index.get(name); // bumps recency
    if (!entry) return undefined;
    const path = this.pathOf(name);
    const data = await readExactly(path, entry.bytes).then((file) => file && decodeChunkFile(file, key), () => undefined);
    if (!data) {
      // Corrupt, truncated, replaced or gone: forget it (unless a newer write replaced it meanwhile).
      void this.serial(name, async () => {
        if (this.index.peek(name) !== entry) return;
        this.index.delete(name);
        await unlinkQuietly(path);
      }).catch(() => {});
      return undefined;
    }
    // Best effort: keep recency across restarts (mtime is the recency of a rebuilt index).
    const now = new Date();
    this.track(utimes(path, now, now).catch(() => {}));
    return data;
  }

  async set(key: string, data: Buffer): Promise<void> {
    this.check(key);
    const name = chunkFileName(key);
    const bytes = chunkFileBytes(key, data.length);
    if (data.length > MAX_DISK_CHUNK_BYTES || bytes > this.limitBytes) {
      // Cannot be kept; an older value of the key must not survive as if it were this one.
      await this.delete(key);
      return;
    }
    await this.serial(name, async () => {
      const sub = join(this.dir, name.slice(0, 2));
      const path = join(sub, name);
      const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
      try {
        await this.subdir(sub);
        const fh = await open(temp, 'wx', 0o600);
        try {
          await fh.writev([encodeChunkFileHead(key, data), data]);
        } finally {
          await fh.close();
        }
        await rename(temp, path);
      } catch (err) {
        await unlinkQuietly(temp);
        throw unavailable(`chunk cache ${this.dir}: cannot write ${name}: ${(err as Error).message}`, err);
      }
      this.index.set(name, { bytes }); // may evict others (their unlinks queue behind their own locks)
    });
  }

  /**
   * Makes a fan-out directory once: the writes of a prefetch (a thousand chunks over 256
   * directories, many at once) share one mkdir + lstat per directory instead of each
   * making its own (~10 ms of a cold start's JS thread). A failure is not remembered.
   */
  private subdir(sub: string): Promise<void> {
    let made = this.madeSubdirs.get(sub);
    if (!made) {
      made = (async () => {
        await mkdir(sub, { recursive: true });
        // A symlink planted in place of a fan-out directory must not carry writes elsewhere.
        if (!(await lstat(sub)).isDirectory()) throw new Error(`${sub} is not a directory`);
      })();
      made.catch(() => this.madeSubdirs.delete(sub));
      this.madeSubdirs.set(sub, made);
    }
    return made;
  }

  async has(key: string): Promise<boolean> {
    this.check(key);
    return this.index.has(chunkFileName(key));
  }

  async delete(key: string): Promise<boolean> {
    this.check(key);
    const name = chunkFileName(key);
    return this.serial(name, async () => {
      const had = this.index.delete(name);
      await unlinkQuietly(this.pathOf(name));
      return had;
    });
  }

  /** Marks a key as used (in memory only: the file's mtime moves on the next disk hit). */
  touch(key: string): void {
    if (!this.closing) this.index.get(chunkFileName(key));
  }

  stats(): ChunkStoreStats {
    return { bytes: this.index.calculatedSize, entries: this.index.size, limitBytes: this.limitBytes };
  }

  /** Waits for writes and unlinks under way; idempotent. The files stay for the next open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    })();
    return this.closing;
  }

  private async rebuild(): Promise<void> {
    const found: { name: string; bytes: number; mtimeMs: number }[] = [];
    for (const sub of await readdir(this.dir)) {
      if (!SUBDIR_NAME.test(sub)) continue;
      const subPath = join(this.dir, sub);
      const st = await lstat(subPath);
      if (!st.isDirectory()) continue;
      this.madeSubdirs.set(subPath, Promise.resolve());
      // One directory's files at a time, in parallel: a big cache opens in a few seconds.
      await Promise.all((await readdir(subPath)).map(async (file) => {
        const path = join(subPath, file);
        if (TEMP_NAME.test(file)) {
          await unlinkQuietly(path); // a write cut short by a crash
          return;
        }
        if (!FILE_NAME.test(file) || file.slice(0, 2) !== sub) return;
        const fst = await lstat(path).catch(() => undefined);
        if (!fst?.isFile()) return;
        if (fst.size > this.limitBytes || fst.size > MAX_DISK_CHUNK_BYTES + 64 * 1024) {
          await unlinkQuietly(path); // can never be kept (a smaller limit than last time)
          return;
        }
        found.push({ name: file, bytes: fst.size, mtimeMs: fst.mtimeMs });
      }));
    }
    // Oldest first: inserting in recency order makes the lru evict the oldest past the limit.
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) this.index.set(f.name, { bytes: Math.max(1, f.bytes) });
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async unlinkUnlessIndexed(name: string): Promise<void> {
    // A write of the same name may have landed after the eviction was decided.
    if (this.index.has(name)) return;
    await unlinkQuietly(this.pathOf(name));
  }

  private pathOf(name: string): string {
    return join(this.dir, name.slice(0, 2), name);
  }

  private serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(() => {}, () => {});
    this.locks.set(name, tail);
    this.track(tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return run;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
  }

  private check(key: string): void {
    if (this.closing) throw closedError(`disk chunk store ${this.dir}`);
    checkKey(key);
  }
}

/** The whole file when its size is `bytes`, else undefined (bounded: never more than bytes). */
async function readExactly(path: string, bytes: number): Promise<Buffer | undefined> {
  // O_NOFOLLOW: a symlink planted in the cache must not make us read another file.
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size !== bytes) return undefined;
    const buf = Buffer.allocUnsafeSlow(bytes);
    let off = 0;
    while (off < bytes) {
      const { bytesRead } = await fh.read(buf, off, bytes - off, off);
      if (bytesRead === 0) return undefined;
      off += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}
