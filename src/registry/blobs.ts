// Blob reads: Range requests checked byte for byte against what was asked, redirect
// targets remembered per blob (and re-resolved when a signed URL expires), one spooled
// full download for registries that ignore Range, whole-blob fetches verified against
// their digest, and streams from an offset for full pulls.

import { tmpdir } from 'node:os';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { digestMismatch, invalidArgument, isCode, unavailable } from '../errors.js';
import { checkRange, type ArrivedBytes } from '../formats/range-reader.js';
import type { Descriptor } from '../image/oci-types.js';
import { DigestVerifier, verifyDigest } from '../reference/digest.js';
import { readCapped, readSlice } from './body.js';
import { BlobSpool } from './blob-spool.js';
import { checkContentRange } from './content-range.js';
import { checkDescriptor } from '../image/descriptor.js';
import { LIMITS } from './options.js';
import type { RegistryHttp, RegistryRequest } from './registry-http.js';
import { withRetry } from './retry.js';
import { firstHeader, type Meter, type Response } from './transport.js';

export interface BlobLocation {
  host: string;
  repository: string;
  desc: Descriptor;
}

const IDENTITY = { 'accept-encoding': 'identity' };

function blobWhat(loc: BlobLocation): string {
  return `blob ${loc.host}/${loc.repository}@${loc.desc.digest}`;
}

export class BlobService {
  /** Where each blob's bytes really live after the registry's redirect. */
  private readonly redirects = new LRUCache<string, URL>({ max: LIMITS.redirectCacheEntries });
  /** Hosts seen answering 200 to a Range request. */
  private readonly rangeIgnoringHosts = new Set<string>();
  private readonly spools = new Map<string, BlobSpool>();
  private readonly stop = new AbortController();

  constructor(private readonly http: RegistryHttp, private readonly spoolDir: string = tmpdir()) {}

  private key(loc: BlobLocation): string {
    return `${loc.host}/${loc.repository}@${loc.desc.digest}`;
  }

  /**
   * A request for the blob, starting at its remembered redirect target when there is one.
   * A target that refuses (403: the signed URL expired; 401/404 likewise) is forgotten and
   * the registry asked again, once.
   */
  private async request<T>(loc: BlobLocation, base: Omit<RegistryRequest, 'target' | 'host' | 'repository' | 'method' | 'what'>,
    handle: (res: Response) => Promise<T>): Promise<T> {
    const key = this.key(loc);
    const path = `/v2/${loc.repository}/blobs/${loc.desc.digest}`;
    const remember = (res: Response) => {
      if (res.url.pathname !== path || res.url.search !== '') this.redirects.set(key, res.url);
    };
    const req: RegistryRequest = { ...base, host: loc.host, repository: loc.repository, method: 'GET', what: blobWhat(loc), target: path, followRedirects: true };
    const cached = this.redirects.get(key);
    if (cached) {
      try {
        return await this.http.run({ ...req, target: cached }, handle);
      } catch (err) {
        if (!isCode(err, 'UNAUTHORIZED') && !isCode(err, 'NOT_FOUND')) throw err;
        this.redirects.delete(key);
      }
    }
    return this.http.run(req, async (res) => {
      remember(res);
      return handle(res);
    });
  }

  /** Bytes [offset, offset+length) of the blob; exactly those, or an error. */
  async readAt(loc: BlobLocation, offset: number, length: number, meter: Meter, signal?: AbortSignal, arrived?: ArrivedBytes): Promise<Buffer> {
    const what = blobWhat(loc);
    checkRange(offset, length, loc.desc.size, what);
    if (length === 0) return Buffer.alloc(0);
    const key = this.key(loc);
    const spool = this.spools.get(key);
    if (spool && !spool.failed) return spool.read(offset, length, signal);
    if (this.rangeIgnoringHosts.has(loc.host)) return this.startSpool(loc, meter).read(offset, length, signal);
    const last = offset + length - 1;
    const outcome = await this.request(loc, {
      headers: { ...IDENTITY, range: `bytes=${offset}-${last}` }, signal, meter,
      ok: (s) => s === 206 || s === 200,
    }, async (res): Promise<Buffer | BlobSpool> => {
      if (res.status === 206) {
        checkContentRange(firstHeader(res.headers['content-range']), offset, length, loc.desc.size, what);
        return readSlice(res.body, 0, length, meter.bytes, {
          exact: true, what, tooLong: () => unavailable(`${what}: registry sent more than the ${length} bytes of its Content-Range`),
          ...(arrived ? { arrived } : {}),
        });
      }
      // 200: the whole blob. Remember the host ignores Range and let this body become
      // the one spooled download that serves this read and all later ones.
      this.rangeIgnoringHosts.add(loc.host);
      return this.startSpool(loc, meter, res.body);
    });
    return Buffer.isBuffer(outcome) ? outcome : outcome.read(offset, length, signal);
  }

  /** Starts (or joins) the full download of a blob into the spool directory. */
  private startSpool(loc: BlobLocation, meter: Meter, first?: Readable): BlobSpool {
    const key = this.key(loc);
    const existing = this.spools.get(key);
    if (existing && !existing.failed) {
      first?.destroy();
      return existing;
    }
    void existing?.close();
    const what = blobWhat(loc);
    const spool = new BlobSpool(this.spoolDir, loc.desc, what);
    this.spools.set(key, spool);
    let pending = first;
    void spool.fill(() => withRetry(what, this.http.opts.retry, this.stop.signal, async () => {
      const body = pending ?? await this.request(loc, { headers: IDENTITY, signal: this.stop.signal, meter, ok: (s) => s === 200 }, async (res) => res.body);
      pending = undefined;
      await spool.consume(body, meter.bytes);
    }));
    return spool;
  }

  /** The whole blob, verified against its digest; refuses blobs larger than maxBytes. */
  async fetch(loc: BlobLocation, maxBytes: number, meter: Meter, signal?: AbortSignal): Promise<Buffer> {
    const what = blobWhat(loc);
    checkDescriptor(loc.desc, what);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw invalidArgument(`${what}: bad size limit ${maxBytes}`);
    if (loc.desc.size > maxBytes) throw invalidArgument(`${what}: ${loc.desc.size} bytes is more than the ${maxBytes}-byte limit for this document`);
    return this.request(loc, { headers: IDENTITY, signal, meter, ok: (s) => s === 200 }, async (res) => {
      const bytes = await readCapped(res.body, loc.desc.size, meter.bytes,
        () => digestMismatch(`${what}: registry sent more than the blob's ${loc.desc.size} bytes`));
      verifyDigest(bytes, loc.desc.digest, what);
      return bytes;
    });
  }

  /**
   * A stream of the blob from `offset` to its end. It errors (UNAVAILABLE / DIGEST_MISMATCH)
   * rather than end short or long; from offset 0 the digest is verified before it ends.
   */
  async openStream(loc: BlobLocation, offset: number, meter: Meter, signal?: AbortSignal): Promise<Readable> {
    const what = blobWhat(loc);
    checkDescriptor(loc.desc, what);
    const size = loc.desc.size;
    checkRange(offset, 0, size, what);
    if (offset === size) return Readable.from([]);
    const headers: Record<string, string> = { ...IDENTITY };
    if (offset > 0 && offset < size) headers.range = `bytes=${offset}-`;
    return this.request(loc, { headers, signal, meter, ok: (s) => s === 200 || s === 206 }, async (res) => {
      let skip = 0;
      if (res.status === 206) {
        checkContentRange(firstHeader(res.headers['content-range']), offset, undefined, size, what);
      } else {
        skip = offset;
      }
      const verifier = offset === 0 ? new DigestVerifier(loc.desc.digest, what) : undefined;
      const want = size - offset;
      let seen = 0;
      let toSkip = skip;
      const checker = new Transform({
        transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
          meter.bytes(chunk.length);
          let c = chunk;
          if (toSkip > 0) {
            const n = Math.min(toSkip, c.length);
            toSkip -= n;
            c = c.subarray(n);
          }
          if (c.length === 0) return done();
          if (seen + c.length > want) return done(digestMismatch(`${what}: registry sent more than the blob's ${size} bytes`));
          seen += c.length;
          verifier?.update(c);
          done(null, c);
        },
        flush(done: TransformCallback) {
          if (seen < want) return done(unavailable(`${what}: stream ended after ${seen} of ${want} bytes`));
          try {
            verifier?.verify();
          } catch (err) {
            return done(err as Error);
          }
          done();
        },
      });
      res.body.on('error', (err) => checker.destroy(unavailable(`${what}: stream broke: ${err.message}`, err)));
      checker.on('close', () => res.body.destroy());
      return res.body.pipe(checker);
    });
  }

  async close(): Promise<void> {
    this.stop.abort();
    const all = [...this.spools.values()];
    this.spools.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}
