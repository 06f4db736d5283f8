// RegistryClient: the distribution API client lazysnap uses. Built once with options
// (insecure hosts, docker config dir, spool dir, retries, timeouts); owns one connection
// pool, the token cache and the redirect cache. `withCounters()` gives a view sharing all
// of that but counting its own requests and bytes (one per image source / mount).

import { configPlatform, parseImageConfig } from '../image/image-config.js';
import type { Readable } from 'node:stream';
import { invalidArgument, unauthorized } from '../errors.js';
import { checkRange, type ArrivedBytes, type RangeReader } from '../formats/range-reader.js';
import type { ResolvedImage, TransferCounters } from '../image/image-source.js';
import type { Descriptor, ImageManifest, Platform } from '../image/oci-types.js';
import { hostPlatform, selectManifest } from '../image/platform.js';
import { formatReference, manifestRef, type RegistryReference } from '../reference/reference.js';
import { checkDigest } from '../reference/digest.js';
import { Authenticator } from './auth.js';
import { BlobService, type BlobLocation } from './blobs.js';
import { readSmall } from './body.js';
import { CredentialStore } from './credentials.js';
import { fetchManifest, type FetchedDocument } from './manifests.js';
import { LIMITS, resolveOptions, type RegistryClientOptions, type ResolvedOptions } from './options.js';
import { Pusher, type BlobData } from './push.js';
import { RegistryHttp } from './registry-http.js';
import { Transport, type Meter } from './transport.js';
import { withRetry } from './retry.js';
import { statusError } from './http-errors.js';

/** Largest image config we read (configs of huge images with long histories stay far below). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

interface Shared {
  opts: ResolvedOptions;
  transport: Transport;
  credentials: CredentialStore;
  auth: Authenticator;
  http: RegistryHttp;
  blobs: BlobService;
  pusher: Pusher;
  closed: boolean;
  /** Manifests asked for ahead of their resolve() (prefetchManifest), by reference. */
  earlyManifests: Map<string, EarlyManifest>;
}

interface EarlyManifest {
  readonly doc: Promise<FetchedDocument>;
  /** What fetching it cost, given to the meter of the resolve() that takes it. */
  readonly tally: { requests: number; bytes: number };
}

const earlyKey = (ref: RegistryReference): string => `${ref.host}/${ref.repository}@${manifestRef(ref)}`;

export class RegistryClient {
  readonly counters: TransferCounters = { bytesFetched: 0, requests: 0 };
  private readonly shared: Shared;
  private readonly meter: Meter;
  /** Views made by withCounters() do not own the shared connections. */
  private readonly owner: boolean;

  constructor(options: RegistryClientOptions = {}, parent?: { shared: Shared; meter: Meter }) {
    this.owner = !parent;
    if (parent) {
      this.shared = parent.shared;
    } else {
      const opts = resolveOptions(options);
      const transport = new Transport(opts);
      const credentials = new CredentialStore({ configDir: options.dockerConfigDir, helperTimeoutMs: options.credentialHelperTimeoutMs });
      const auth = new Authenticator(transport, credentials, opts);
      const http = new RegistryHttp(transport, auth, opts);
      this.shared = { opts, transport, credentials, auth, http, blobs: new BlobService(http, options.spoolDir), pusher: new Pusher(http), closed: false, earlyManifests: new Map() };
    }
    const up = parent?.meter;
    this.meter = {
      request: () => { this.counters.requests++; up?.request(); },
      bytes: (n) => { this.counters.bytesFetched += n; up?.bytes(n); },
    };
  }

  /** A client sharing connections and caches, with counters of its own (also added to ours). */
  withCounters(): RegistryClient {
    return new RegistryClient({}, { shared: this.shared, meter: this.meter });
  }

  get credentials(): CredentialStore {
    return this.shared.credentials;
  }

  /** The manifest or index `reference` (tag or digest) names, verified. */
  getManifest(host: string, repository: string, reference: string, signal?: AbortSignal): Promise<FetchedDocument> {
    return this.fetchManifestCounted(host, repository, reference, this.meter, signal);
  }

  private fetchManifestCounted(host: string, repository: string, reference: string, meter: Meter, signal?: AbortSignal): Promise<FetchedDocument> {
    if (reference.includes(':')) checkDigest(reference, `manifest ${host}/${repository}`);
    return fetchManifest(this.shared.http, { host, repository, reference }, meter, signal);
  }

  /**
   * Starts fetching the manifest `ref` names for a resolve() of the same reference that is
   * about to come: a mount server asks while the rest of its engine still loads, and the
   * round trips overlap the loading. The next resolve() of `ref` (from this client or any
   * view) takes it, once, and counts its request and bytes; a failure is its failure.
   */
  prefetchManifest(ref: RegistryReference): void {
    const key = earlyKey(ref);
    if (this.shared.earlyManifests.has(key)) return;
    const tally = { requests: 0, bytes: 0 };
    const meter: Meter = { request: () => { tally.requests++; }, bytes: (n) => { tally.bytes += n; } };
    const doc = (async () => this.fetchManifestCounted(ref.host, ref.repository, manifestRef(ref), meter))();
    doc.catch(() => {}); // its resolve() sees the failure
    this.shared.earlyManifests.set(key, { doc, tally });
  }

  /** The top-level document `ref` names: the prefetched one when there is one (taken once). */
  private async topManifest(ref: RegistryReference, signal?: AbortSignal): Promise<FetchedDocument> {
    const key = earlyKey(ref);
    const early = this.shared.earlyManifests.get(key);
    if (!early) return this.getManifest(ref.host, ref.repository, manifestRef(ref), signal);
    this.shared.earlyManifests.delete(key);
    try {
      return await early.doc;
    } finally {
      for (let i = 0; i < early.tally.requests; i++) this.meter.request();
      this.meter.bytes(early.tally.bytes);
    }
  }

  /**
   * Manifest -> platform leaf (for an index) -> config, every document verified;
   * `onManifest` hears the leaf manifest before the config is asked for.
   */
  async resolve(ref: RegistryReference, platform: Platform = hostPlatform(), signal?: AbortSignal,
    onManifest?: (manifest: ImageManifest) => void): Promise<ResolvedImage> {
    const name = formatReference(ref);
    const top = await this.topManifest(ref, signal);
    let leaf = top;
    if (top.kind === 'index') {
      const chosen = selectManifest(top.index.manifests, platform, name);
      leaf = await this.getManifest(ref.host, ref.repository, chosen.digest, signal);
      if (leaf.kind !== 'manifest') throw invalidArgument(`${name}: index entry ${chosen.digest} is itself an index (nested indexes are not supported)`);
    }
    if (leaf.kind !== 'manifest') throw invalidArgument(`${name}: not an image manifest`);
    const manifest = leaf.manifest;
    onManifest?.(manifest);
    const configBytes = await this.fetchBlob(ref.host, ref.repository, manifest.config, MAX_CONFIG_BYTES, signal);
    const config = parseImageConfig(configBytes, name, manifest.config.digest);
    const actual = configPlatform(config, platform);
    return {
      reference: name,
      digest: top.digest,
      manifestDigest: leaf.digest,
      manifest,
      manifestBytes: leaf.bytes,
      config,
      configBytes,
      platform: actual,
    };
  }

  /** Random access to a blob by Range requests; `size` is the descriptor's. */
  blobReader(host: string, repository: string, desc: Descriptor): RangeReader {
    const loc: BlobLocation = { host, repository, desc };
    checkDigest(desc.digest, `blob of ${host}/${repository}`);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidArgument(`blob ${host}/${repository}@${desc.digest}: bad size ${desc.size}`);
    const blobs = this.shared.blobs;
    const meter = this.meter;
    return {
      size: desc.size,
      readAt: (offset: number, length: number, signal?: AbortSignal, arrived?: ArrivedBytes) => {
        checkRange(offset, length, desc.size, `blob ${desc.digest}`);
        return blobs.readAt(loc, offset, length, meter, signal, arrived);
      },
    };
  }

  fetchBlob(host: string, repository: string, desc: Descriptor, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    return this.shared.blobs.fetch({ host, repository, desc }, maxBytes, this.meter, signal);
  }

  openBlobStream(host: string, repository: string, desc: Descriptor, offset = 0, signal?: AbortSignal): Promise<Readable> {
    return this.shared.blobs.openStream({ host, repository, desc }, offset, this.meter, signal);
  }

  blobExists(host: string, repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    checkDigest(digest, `blob of ${host}/${repository}`);
    return this.shared.pusher.blobExists(host, repository, digest, this.meter, signal);
  }

  /** Uploads a blob unless present; true when bytes were sent. */
  pushBlob(host: string, repository: string, desc: Descriptor, data: BlobData, signal?: AbortSignal): Promise<boolean> {
    return this.shared.pusher.pushBlob(host, repository, desc, data, this.meter, signal);
  }

  /** Stores a manifest under a tag; returns its digest. */
  putManifest(host: string, repository: string, tag: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    return this.shared.pusher.putManifest(host, repository, tag, bytes, mediaType, this.meter, signal);
  }

  /**
   * Checks user:password against the registry's /v2/ (and its token service), then saves
   * them in the docker config. UNAUTHORIZED when the registry refuses them.
   */
  async login(host: string, username: string, password: string, signal?: AbortSignal): Promise<void> {
    const { auth, http, opts } = this.shared;
    auth.setCredentials(host, { kind: 'basic', username, password });
    try {
      const status = await withRetry(`login to ${host}`, opts.retry, signal, async () => {
        // exchange() answers the registry's 401 challenge with these credentials once.
        const res = await http.exchange({ host, method: 'GET', target: '/v2/', what: `login to ${host}`, meter: this.meter, signal });
        await readSmall(res.body, LIMITS.maxErrorBodyBytes, this.meter.bytes);
        if (res.status >= 500 || res.status === 429) {
          throw statusError(res.status, `login to ${host}`, Buffer.alloc(0));
        }
        return res.status;
      });
      if (status === 401 || status === 403) throw unauthorized(`login to ${host}: the registry refused the credentials for ${username}`);
      if (status !== 200) throw invalidArgument(`login to ${host}: unexpected HTTP ${status} from /v2/`);
    } finally {
      auth.setCredentials(host, undefined);
    }
    await this.shared.credentials.saveLogin(host, username, password);
  }

  /** Forgets the saved credentials for `host`. */
  async logout(host: string): Promise<boolean> {
    this.shared.auth.forget(host);
    return this.shared.credentials.removeLogin(host);
  }

  /** Closes connections and removes spool files. Idempotent; a view's close does nothing. */
  async close(): Promise<void> {
    if (!this.owner || this.shared.closed) return;
    this.shared.closed = true;
    await this.shared.blobs.close();
    await this.shared.transport.close();
  }
}
