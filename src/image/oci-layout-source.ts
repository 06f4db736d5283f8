// ImageSource over an OCI image layout on local disk (`oci:PATH[:TAG]`), made by any tool
// (umoci, skopeo, lazysnap's own store). The layout is read in place, lazily: documents
// are read whole and verified; layer blobs are read at random from their files. Counters
// count bytes read from the layout (CLI.md: `bytesFetched` for oci: sources).

import { configPlatform, parseImageConfig } from './image-config.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { Transform, pipeline, type Readable } from 'node:stream';
import { digestMismatch, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import type { RangeReader } from '../formats/range-reader.js';
import { checkDigest, verifyDigest } from '../reference/digest.js';
import { formatReference } from '../reference/reference.js';
import { parseDocument, type FetchedDocument } from '../registry/manifests.js';
import { readFileCapped } from '../store/capped-file.js';
import { LayoutBlobReader, type ReadMeter } from '../store/layout-blob-reader.js';
import { checkLayoutFile, readLayoutIndex, refNameOf, tagsOf } from '../store/oci-layout.js';
import type { ImageSource, ResolvedImage, TransferCounters } from './image-source.js';
import type { Descriptor, ImageManifest, Platform } from './oci-types.js';
import { hostPlatform, selectManifest } from './platform.js';

export interface OciLayoutSourceOptions {
  /** Largest manifest or index read (default MAX_MANIFEST_BYTES). */
  maxManifestBytes?: number;
  /** Largest image config read (default MAX_CONFIG_BYTES). */
  maxConfigBytes?: number;
}

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** index -> index -> ... -> manifest: deeper than this is a loop or an abuse. */
const MAX_INDEX_DEPTH = 4;
/** The tag a layout's only image need not have, and the one chosen among several. */
const DEFAULT_TAG = 'latest';

export class OciLayoutSource implements ImageSource {
  readonly counters: TransferCounters = { bytesFetched: 0, requests: 0 };
  private readonly meter: ReadMeter = {
    request: () => { this.counters.requests++; },
    bytes: (n) => { this.counters.bytesFetched += n; },
  };
  private readonly readers = new Set<LayoutBlobReader>();
  private readonly streams = new Set<Readable>();
  private readonly maxManifestBytes: number;
  private readonly maxConfigBytes: number;
  private closed = false;

  constructor(readonly path: string, readonly tag: string | undefined, opts: OciLayoutSourceOptions = {}) {
    this.maxManifestBytes = checkCap(opts.maxManifestBytes ?? MAX_MANIFEST_BYTES, 'maxManifestBytes');
    this.maxConfigBytes = checkCap(opts.maxConfigBytes ?? MAX_CONFIG_BYTES, 'maxConfigBytes');
  }

  get reference(): string {
    return formatReference(this.tag === undefined ? { kind: 'oci', path: this.path } : { kind: 'oci', path: this.path, tag: this.tag });
  }

  async resolve(platform: Platform = hostPlatform(), signal?: AbortSignal, onManifest?: (manifest: ImageManifest) => void): Promise<ResolvedImage> {
    this.checkOpen();
    const name = this.reference;
    await checkLayoutFile(this.path);
    const index = await readLayoutIndex(this.path);
    this.meter.request();
    const top = this.pickEntry(index.manifests, platform, name);

    let doc = await this.readDocument(top, name, signal);
    const topDigest = doc.digest;
    for (let depth = 0; doc.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw invalidArgument(`${name}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
      const chosen = selectManifest(doc.index.manifests, platform, `${name} (index ${doc.digest})`);
      doc = await this.readDocument(chosen, name, signal);
    }
    const manifest = doc.manifest;
    onManifest?.(manifest);
    const configBytes = await this.fetchBlob(manifest.config, this.maxConfigBytes, signal);
    const config = parseImageConfig(configBytes, name, manifest.config.digest);
    const actual = configPlatform(config, platform);
    return {
      reference: name,
      digest: topDigest,
      manifestDigest: doc.digest,
      manifest,
      manifestBytes: doc.bytes,
      config,
      configBytes,
      platform: actual,
    };
  }

  blob(desc: Descriptor): RangeReader {
    this.checkOpen();
    const path = this.blobFile(desc);
    const reader = new LayoutBlobReader(path, desc.size, `blob ${desc.digest} of ${this.reference}`, this.meter);
    this.readers.add(reader);
    return reader;
  }

  async fetchBlob(desc: Descriptor, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    this.checkOpen();
    const what = `blob ${desc.digest} of ${this.reference}`;
    const path = this.blobFile(desc);
    checkCap(maxBytes, `${what}: maxBytes`);
    if (desc.size > maxBytes) throw invalidArgument(`${what}: ${desc.size} bytes, above the ${maxBytes}-byte limit`);
    signal?.throwIfAborted();
    await this.checkFileSize(path, desc, what);
    this.meter.request();
    const bytes = await readFileCapped(path, desc.size, what);
    this.meter.bytes(bytes.length);
    if (bytes.length !== desc.size) throw digestMismatch(`${what}: file has ${bytes.length} bytes, its descriptor says ${desc.size}`);
    verifyDigest(bytes, desc.digest, what);
    return bytes;
  }

  /** The blob's bytes from `offset`, unverified (the consumer verifies the whole blob). */
  async openBlobStream(desc: Descriptor, offset = 0, signal?: AbortSignal): Promise<Readable> {
    this.checkOpen();
    const what = `blob ${desc.digest} of ${this.reference}`;
    const path = this.blobFile(desc);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > desc.size) {
      throw invalidArgument(`${what}: stream offset ${offset} is outside the blob (${desc.size} bytes)`);
    }
    signal?.throwIfAborted();
    await this.checkFileSize(path, desc, what);
    this.meter.request();
    const meter = this.meter;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        meter.bytes(chunk.length);
        cb(null, chunk);
      },
    });
    // An empty range: createReadStream cannot express it (end < start), so end at once.
    if (offset === desc.size) {
      counted.end();
      return counted;
    }
    const file = createReadStream(path, { start: offset, end: desc.size - 1, signal });
    pipeline(file, counted, () => {});
    this.streams.add(counted);
    counted.on('close', () => this.streams.delete(counted));
    return counted;
  }

  /** Closes every reader and stream handed out. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams) s.destroy();
    await Promise.all([...this.readers].map((r) => r.close()));
  }

  /** Chooses the index.json entry the tag names (or the default one). */
  private pickEntry(entries: readonly Descriptor[], platform: Platform, name: string): Descriptor {
    const tags = () => {
      const t = tagsOf({ schemaVersion: 2, manifests: [...entries] });
      return t.length ? t.join(', ') : 'none';
    };
    let candidates: Descriptor[];
    if (this.tag !== undefined) {
      candidates = entries.filter((d) => refNameOf(d) === this.tag);
      if (candidates.length === 0) throw notFound(`${name}: no image tagged "${this.tag}" in the layout (tags: ${tags()})`);
    } else if (entries.length === 1) {
      candidates = [...entries];
    } else {
      candidates = entries.filter((d) => refNameOf(d) === DEFAULT_TAG);
      if (candidates.length === 0) {
        throw notFound(`${name}: the layout holds ${entries.length} images and none is tagged "${DEFAULT_TAG}"; name one (tags: ${tags()})`);
      }
    }
    // Some tools (containerd's export) tag one entry per platform under the same name.
    if (candidates.length > 1 && new Set(candidates.map((d) => d.digest)).size > 1) {
      return selectManifest(candidates, platform, name);
    }
    return candidates[0]!;
  }

  private async readDocument(desc: Descriptor, name: string, signal?: AbortSignal): Promise<FetchedDocument> {
    const bytes = await this.fetchBlob(desc, this.maxManifestBytes, signal);
    return parseDocument(bytes, desc.digest, desc.mediaType, `${name}: manifest ${desc.digest}`);
  }

  /** NOT_FOUND when the blob file is missing, DIGEST_MISMATCH when its size is not the descriptor's. */
  private async checkFileSize(path: string, desc: Descriptor, what: string): Promise<void> {
    const st = await stat(path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${what}: blob file missing from the layout`, err);
      throw err;
    });
    if (!st.isFile()) throw invalidArgument(`${what}: ${path} is not a regular file`);
    if (st.size !== desc.size) throw digestMismatch(`${what}: file has ${st.size} bytes, its descriptor says ${desc.size}`);
  }

  /** The file of a blob; the digest is validated before it becomes a path. */
  private blobFile(desc: Descriptor): string {
    const what = `blob of ${this.reference}`;
    if (desc === null || typeof desc !== 'object') throw invalidArgument(`${what}: not a descriptor`);
    checkDigest(desc.digest, what);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidArgument(`${what} ${desc.digest}: bad size ${desc.size}`);
    const i = desc.digest.indexOf(':');
    return join(this.path, 'blobs', desc.digest.slice(0, i), desc.digest.slice(i + 1));
  }

  private checkOpen(): void {
    if (this.closed) throw failedPrecondition(`image source ${this.reference} is closed`);
  }
}

/** A source for the layout at `path` (made absolute); `tag` as in `oci:PATH:TAG`. No I/O until resolve. */
export function openOciLayoutSource(path: string, tag: string | undefined, opts?: OciLayoutSourceOptions): OciLayoutSource {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('oci: layout path is empty');
  return new OciLayoutSource(resolvePath(path), tag, opts);
}

function checkCap(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${what}: bad byte limit ${n}`);
  return n;
}
