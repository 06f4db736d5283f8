// pullImage: bring an image into the local content store. Always: the platform manifest
// and config (verified) and a tag. With `all`: every layer blob, in parallel, through the
// store's resumable writers, so an interrupted pull (or a stream that breaks mid-blob)
// continues from the bytes already on disk instead of starting again.

import type { Readable } from 'node:stream';
import { codeOf, invalidArgument, isCode, unavailable } from '../errors.js';
import { forEachLimited } from '../worker-pool.js';
import type { BlobWriter, ContentStore } from '../store/content-store.js';
import type { ImageSource } from './image-source.js';
import { MEDIA_TYPES, type Descriptor, type Platform } from './oci-types.js';
import { formatPlatform } from './platform.js';

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 64;
/** Extra attempts per blob after a broken stream (each resumes where the last stopped). */
const DEFAULT_RETRIES = 3;

export type PullProgress =
  | { type: 'resolved'; reference: string; manifestDigest: string; layers: number; totalBytes: number }
  /** A layer fetch begins; `offset` bytes were already there from an interrupted pull. */
  | { type: 'start'; digest: string; size: number; offset: number }
  /** `done` bytes of this layer are on disk; `totalDone` of all layers to fetch. */
  | { type: 'bytes'; digest: string; size: number; done: number; totalDone: number; totalBytes: number }
  /** A layer is complete; `skipped` when it was already in the store. */
  | { type: 'done'; digest: string; size: number; skipped: boolean };

export interface PullOptions {
  /** The tag to record for the image in the store (e.g. the canonical reference). */
  reference: string;
  /** Fetch every layer blob (else: manifest and config only, layers stay lazy). */
  all: boolean;
  platform?: Platform;
  /** Layer blobs fetched at once (default 4). */
  concurrency?: number;
  /** Attempts after a failed stream, per blob, each resuming (default 3). */
  retries?: number;
  signal?: AbortSignal;
  onProgress?: (ev: PullProgress) => void;
}

export interface PulledLayer {
  digest: string;
  size: number;
  mediaType: string;
  /** The blob was in the store before this pull. */
  present: boolean;
}

export interface PullResult {
  reference: string;
  digest: string;
  manifestDigest: string;
  platform: string;
  config: { digest: string; size: number };
  layers: PulledLayer[];
  /** Layer bytes written by this pull (not counting resumed prefixes). */
  bytesWritten: number;
}

export async function pullImage(source: ImageSource, store: ContentStore, opts: PullOptions): Promise<PullResult> {
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw invalidArgument(`pull: concurrency ${concurrency} is not between 1 and ${MAX_CONCURRENCY}`);
  }
  const retries = opts.retries ?? DEFAULT_RETRIES;
  if (!Number.isSafeInteger(retries) || retries < 0) throw invalidArgument(`pull: bad retries ${retries}`);
  const emit = opts.onProgress ?? (() => {});

  const image = await source.resolve(opts.platform, opts.signal);
  const what = image.reference;
  if (image.manifestBytes.length > MAX_MANIFEST_BYTES) {
    throw invalidArgument(`${what}: manifest is ${image.manifestBytes.length} bytes, above the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  if (image.configBytes.length > MAX_CONFIG_BYTES) {
    throw invalidArgument(`${what}: config is ${image.configBytes.length} bytes, above the ${MAX_CONFIG_BYTES}-byte limit`);
  }
  // put verifies both against their digests, whatever the source did.
  await store.put(image.manifestBytes, image.manifestDigest);
  await store.put(image.configBytes, image.manifest.config.digest);

  const layers: PulledLayer[] = [];
  for (const l of image.manifest.layers) {
    layers.push({ digest: l.digest, size: l.size, mediaType: l.mediaType, present: await store.has(l.digest) });
  }
  const toFetch = opts.all ? uniqueMissing(image.manifest.layers, layers) : [];
  const totals = { done: 0, bytes: toFetch.reduce((n, d) => n + d.size, 0) };
  emit({ type: 'resolved', reference: what, manifestDigest: image.manifestDigest, layers: layers.length, totalBytes: totals.bytes });

  let bytesWritten = 0;
  if (opts.all) {
    for (const l of layers) if (l.present) emit({ type: 'done', digest: l.digest, size: l.size, skipped: true });
    let written = 0;
    await forEachLimited(toFetch, concurrency, async (desc, _i, signal) => {
      const r = await pullBlob(source, store, desc, retries, signal, (ev) => {
        if (ev.type === 'bytes') {
          totals.done += ev.delta;
          emit({ type: 'bytes', digest: desc.digest, size: desc.size, done: ev.done, totalDone: totals.done, totalBytes: totals.bytes });
        } else {
          if (ev.offset > 0) totals.done += ev.offset;
          emit({ type: 'start', digest: desc.digest, size: desc.size, offset: ev.offset });
        }
      });
      emit({ type: 'done', digest: desc.digest, size: desc.size, skipped: r.skipped });
      written += r.written;
    }, opts.signal);
    bytesWritten = written;
  }

  await store.tag(opts.reference, {
    mediaType: image.manifest.mediaType ?? MEDIA_TYPES.ociManifest,
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
    platform: image.platform,
  });
  return {
    reference: what,
    digest: image.digest,
    manifestDigest: image.manifestDigest,
    platform: formatPlatform(image.platform),
    config: { digest: image.manifest.config.digest, size: image.manifest.config.size },
    layers,
    bytesWritten,
  };
}

function uniqueMissing(descs: readonly Descriptor[], layers: readonly PulledLayer[]): Descriptor[] {
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  descs.forEach((d, i) => {
    if (layers[i]!.present || seen.has(d.digest)) return;
    seen.add(d.digest);
    out.push(d);
  });
  return out;
}

type BlobEvent = { type: 'start'; offset: number } | { type: 'bytes'; done: number; delta: number };

/** One blob into the store, resuming from what is on disk; retries broken streams. */
async function pullBlob(
  source: ImageSource, store: ContentStore, desc: Descriptor, retries: number,
  signal: AbortSignal, report: (ev: BlobEvent) => void,
): Promise<{ skipped: boolean; written: number }> {
  let writer: BlobWriter;
  try {
    writer = await store.ingest(desc, signal);
  } catch (err) {
    // Another pull (here or in another process) finished it while we waited.
    if (isCode(err, 'ALREADY_EXISTS')) return { skipped: true, written: 0 };
    throw err;
  }
  const startedAt = writer.offset;
  report({ type: 'start', offset: writer.offset });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if (writer.written < desc.size) {
          const stream = await source.openBlobStream(desc, writer.written, signal);
          await copyInto(stream as Readable, writer, desc, report);
        }
        await writer.commit();
        return { skipped: false, written: writer.written - startedAt };
      } catch (err) {
        if (signal.aborted || attempt >= retries || !retryable(err)) throw err;
      }
    }
  } finally {
    // After commit this only releases the digest; otherwise it keeps the partial data.
    await writer.close();
  }
}

async function copyInto(stream: Readable, writer: BlobWriter, desc: Descriptor, report: (ev: BlobEvent) => void): Promise<void> {
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      await writer.write(chunk);
      report({ type: 'bytes', done: writer.written, delta: chunk.length });
    }
  } finally {
    stream.destroy();
  }
  if (writer.written < desc.size) {
    throw unavailable(`blob ${desc.digest}: stream ended after ${writer.written} of ${desc.size} bytes`);
  }
}

/** Broken connections and source hiccups are worth another try; wrong bytes are not. */
function retryable(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'UNAVAILABLE' || code === 'INTERNAL';
}
