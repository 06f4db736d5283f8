// ContentStore: the local content store, an OCI image layout directory (STATE/content):
//
//   oci-layout            {"imageLayoutVersion":"1.0.0"}
//   index.json            tags: manifests annotated org.opencontainers.image.ref.name
//   blobs/sha256/<hex>    committed blobs, each verified against its digest
//   ingest/               partial blobs (<hex>.partial), lock files, temp files
//
// Vocabulary and lifecycle (containerd's content store): a blob is written either whole
// (`put`, for manifests and configs) or through a resumable `ingest` writer (layers);
// either way it becomes visible in blobs/ only after its digest is checked, by an atomic
// rename. Tags point at manifests already in the store; index.json is replaced atomically.
// Several processes (the daemon, a CLI command) may share one store: writers of a digest
// and updates of index.json are serialised by lock files as well as in-process.

import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, digestMismatch, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { FileRangeReader } from '../formats/file-range-reader.js';
import { ANNOTATIONS, type Descriptor, type ImageIndex } from '../image/oci-types.js';
import { FileBlobWriter, type BlobWriter } from './blob-writer.js';
import { readFileCapped } from './capped-file.js';
import { fsyncDir, pidAlive, pidOfTempName, writeFileAtomic } from './durable-file.js';
import { acquireFileLock } from './file-lock.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  checkLayoutFile, emptyIndex, INDEX_FILE, LAYOUT_FILE, LAYOUT_VERSION,
  readLayoutIndex, refNameOf, serializeIndex, tagsOf,
} from './oci-layout.js';
import { checkSize, sha256Hex } from './store-digest.js';
import { blobDirOf, storedBlobsIn, type StoredBlobs } from './stored-blobs.js';
import { sha256Digest } from '../reference/digest.js';
import { checkDescriptor } from '../image/descriptor.js';

export type { BlobWriter } from './blob-writer.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface TagInfo {
  name: string;
  descriptor: Descriptor;
}

export interface StoreUsage {
  /** Bytes and number of committed blobs. */
  bytes: number;
  count: number;
  /** Bytes held by partial (interrupted) ingests. */
  ingestBytes: number;
}

/** A tag is a free-form name (`host/repo:tag`, `oci:/path:tag`) kept in JSON, never a path. */
const MAX_TAG_LENGTH = 1024;
const INDEX_LOCK_KEY = '\0index';

export class ContentStore implements StoredBlobs {
  private readonly blobDir: string;
  private readonly blobs: StoredBlobs;
  private readonly ingestDir: string;
  private readonly mutex = new KeyedMutex();
  private readonly writers = new Set<BlobWriter>();
  private closed = false;

  private constructor(readonly root: string) {
    this.blobDir = blobDirOf(root);
    this.ingestDir = join(root, 'ingest');
    this.blobs = storedBlobsIn(root);
  }

  /** Opens the store at `root`, creating the layout when absent. */
  static async open(root: string): Promise<ContentStore> {
    const store = new ContentStore(root);
    await mkdir(store.blobDir, { recursive: true });
    await mkdir(store.ingestDir, { recursive: true });
    try {
      await checkLayoutFile(root);
    } catch (err) {
      if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
      await writeFileAtomic(store.ingestDir, join(root, LAYOUT_FILE), root,
        Buffer.from(`${JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION })}\n`));
    }
    await store.updateIndex(async (index) => index);
    await store.removeDeadTemps();
    return store;
  }

  /** Path of a blob file (the digest is validated first). For readers outside this module. */
  blobPath(digest: string): string {
    return this.blobs.blobPath(digest);
  }

  has(digest: string): Promise<boolean> {
    return this.blobs.has(digest);
  }

  /** Size of a committed blob; NOT_FOUND when absent. */
  async size(digest: string): Promise<number> {
    const path = this.blobPath(digest);
    try {
      return (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest} is not in the store`, err);
      throw err;
    }
  }

  /** Random access to a committed blob by positional reads. The caller closes it. */
  async reader(digest: string): Promise<FileRangeReader> {
    this.checkOpen();
    const path = this.blobPath(digest);
    try {
      return await FileRangeReader.open(path);
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') throw notFound(`blob ${digest} is not in the store`, err);
      throw err;
    }
  }

  /** A whole small blob, verified; INVALID_ARGUMENT when it is larger than `maxBytes`. */
  async get(digest: string, maxBytes: number): Promise<Buffer> {
    this.checkOpen();
    const path = this.blobPath(digest);
    checkSize(maxBytes, `reading blob ${digest}: maxBytes`);
    let bytes: Buffer;
    try {
      bytes = await readFileCapped(path, maxBytes, `blob ${digest}`);
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') throw notFound(`blob ${digest} is not in the store`, err);
      throw err;
    }
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw digestMismatch(`blob ${digest} in the store has digest ${actual} (store corrupted)`);
    return bytes;
  }

  /** Stores `bytes` atomically (verified against `expectedDigest` when given); returns the digest. */
  async put(bytes: Uint8Array, expectedDigest?: string): Promise<string> {
    this.checkOpen();
    if (expectedDigest !== undefined) sha256Hex(expectedDigest, 'put');
    const digest = sha256Digest(bytes);
    if (expectedDigest !== undefined && digest !== expectedDigest) {
      throw digestMismatch(`put: content has digest ${digest}, expected ${expectedDigest}; nothing stored`);
    }
    if (await this.has(digest)) return digest;
    await writeFileAtomic(this.ingestDir, this.blobPath(digest), this.blobDir, bytes);
    return digest;
  }

  /**
   * A writer for the blob `desc` names, resuming any partial data an interrupted run left
   * (its `offset`). Waits while another writer (here or in another process) holds the
   * digest; ALREADY_EXISTS when the blob is already committed.
   */
  async ingest(desc: { digest: string; size: number }, signal?: AbortSignal): Promise<BlobWriter> {
    this.checkOpen();
    const hex = sha256Hex(desc.digest, 'ingest');
    const size = checkSize(desc.size, `ingest of ${desc.digest}`);
    const releaseMutex = await this.mutex.lock(desc.digest, signal);
    let releaseFile: (() => Promise<void>) | undefined;
    try {
      releaseFile = await acquireFileLock(join(this.ingestDir, `${hex}.lock`), signal);
      this.checkOpen();
      if (await this.has(desc.digest)) throw alreadyExists(`blob ${desc.digest} is already in the store`);
      const releaseAll = async () => {
        this.writers.delete(writer);
        try {
          await releaseFile!();
        } finally {
          releaseMutex();
        }
      };
      const writer: BlobWriter = await FileBlobWriter.open(desc.digest, size, {
        partial: join(this.ingestDir, `${hex}.partial`),
        target: join(this.blobDir, hex),
        blobDir: this.blobDir,
      }, releaseAll);
      this.writers.add(writer);
      return writer;
    } catch (err) {
      await releaseFile?.();
      releaseMutex();
      throw err;
    }
  }

  /** Removes a blob; NOT_FOUND when absent, FAILED_PRECONDITION while a tag points at it. */
  async delete(digest: string): Promise<void> {
    this.checkOpen();
    const path = this.blobPath(digest);
    const tags = (await this.listTags()).filter((t) => t.descriptor.digest === digest).map((t) => t.name);
    if (tags.length > 0) throw failedPrecondition(`blob ${digest} is tagged (${tags.join(', ')}); untag it first`);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest} is not in the store`, err);
      throw err;
    }
    await fsyncDir(this.blobDir);
  }

  async listBlobs(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for (const name of (await readdir(this.blobDir)).sort()) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue; // not ours: ignore, never trust as a digest
      const st = await stat(join(this.blobDir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ digest: `sha256:${name}`, size: st.size });
    }
    return out;
  }

  async usage(): Promise<StoreUsage> {
    const blobs = await this.listBlobs();
    let ingestBytes = 0;
    for (const name of await readdir(this.ingestDir)) {
      if (!name.endsWith('.partial')) continue;
      ingestBytes += (await stat(join(this.ingestDir, name)).catch(() => undefined))?.size ?? 0;
    }
    return { bytes: blobs.reduce((n, b) => n + b.size, 0), count: blobs.length, ingestBytes };
  }

  /**
   * Points tag `name` at the manifest `desc` (replacing what it pointed at). The blob must
   * be in the store with the descriptor's size: a tag never dangles.
   */
  async tag(name: string, desc: Descriptor): Promise<void> {
    this.checkOpen();
    checkTagName(name);
    checkDescriptor(desc, `tag ${name}`);
    sha256Hex(desc.digest, `tag ${name}`);
    let size: number;
    try {
      size = await this.size(desc.digest);
    } catch (err) {
      throw failedPrecondition(`tag ${name}: manifest ${desc.digest} is not in the store`, err);
    }
    if (size !== desc.size) throw invalidArgument(`tag ${name}: manifest ${desc.digest} has ${size} bytes, the descriptor says ${desc.size}`);
    const entry: Descriptor = {
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      annotations: { ...desc.annotations, [ANNOTATIONS.refName]: name },
    };
    if (desc.platform) entry.platform = desc.platform;
    await this.updateIndex(async (index) => ({
      ...index,
      manifests: [...index.manifests.filter((d) => refNameOf(d) !== name), entry],
    }));
  }

  /** The descriptor tag `name` points at; NOT_FOUND naming the tags there are. */
  async resolveTag(name: string): Promise<Descriptor> {
    checkTagName(name);
    const index = await readLayoutIndex(this.root);
    const found = index.manifests.find((d) => refNameOf(d) === name);
    if (!found) {
      const tags = tagsOf(index);
      throw notFound(`no image tagged "${name}" in the store (tags: ${tags.length ? tags.join(', ') : 'none'})`);
    }
    return found;
  }

  async listTags(): Promise<TagInfo[]> {
    const index = await readLayoutIndex(this.root);
    const out: TagInfo[] = [];
    for (const d of index.manifests) {
      const name = refNameOf(d);
      if (name !== undefined) out.push({ name, descriptor: d });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Removes tag `name` (the blobs stay); NOT_FOUND when there is no such tag. */
  async untag(name: string): Promise<void> {
    this.checkOpen();
    checkTagName(name);
    await this.updateIndex(async (index) => {
      const kept = index.manifests.filter((d) => refNameOf(d) !== name);
      if (kept.length === index.manifests.length) throw notFound(`no image tagged "${name}" in the store`);
      return { ...index, manifests: kept };
    });
  }

  /** Closes open writers (keeping their partial data). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.writers].map((w) => w.close()));
  }

  /** Read-modify-write of index.json under the index lock; written atomically. */
  private async updateIndex(change: (index: ImageIndex) => Promise<ImageIndex>): Promise<void> {
    const releaseMutex = await this.mutex.lock(INDEX_LOCK_KEY);
    try {
      const releaseFile = await acquireFileLock(join(this.ingestDir, 'index.json.lock'));
      try {
        let index: ImageIndex;
        let existed = true;
        try {
          index = await readLayoutIndex(this.root);
        } catch (err) {
          if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
          index = emptyIndex();
          existed = false;
        }
        const next = await change(index);
        if (existed && next === index) return;
        await writeFileAtomic(this.ingestDir, join(this.root, INDEX_FILE), this.root, serializeIndex(next));
      } finally {
        await releaseFile();
      }
    } finally {
      releaseMutex();
    }
  }

  /** Temp files of processes that died mid-put (never a live process's). */
  private async removeDeadTemps(): Promise<void> {
    for (const name of await readdir(this.ingestDir)) {
      const pid = pidOfTempName(name);
      if (pid !== undefined && !pidAlive(pid)) await rm(join(this.ingestDir, name), { force: true });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw failedPrecondition(`content store ${this.root} is closed`);
  }
}


function checkTagName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TAG_LENGTH || /[\0-\x1f\x7f]/.test(name)) {
    throw invalidArgument(`bad tag ${JSON.stringify(name)}: want 1 to ${MAX_TAG_LENGTH} printable characters`);
  }
}
