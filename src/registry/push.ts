// Pushing (distribution spec "pushing blobs" and "pushing manifests"): HEAD to skip blobs
// the registry has, POST an upload then PUT it monolithically with ?digest=, PUT manifests.

import { Readable } from 'node:stream';
import { digestMismatch, invalidArgument, unavailable } from '../errors.js';
import type { Descriptor } from '../image/oci-types.js';
import { sha256Digest, verifyDigest } from '../reference/digest.js';
import { discard } from './body.js';
import { checkDescriptor } from '../image/descriptor.js';
import { LIMITS } from './options.js';
import type { RegistryHttp } from './registry-http.js';
import { firstHeader, type Meter } from './transport.js';

/** The bytes of a blob: in memory, or a function opening a fresh stream per attempt. */
export type BlobData = Buffer | (() => AsyncIterable<Uint8Array>);

const TAG_OR_DIGEST = /^(?:[\w][\w.-]{0,127}|[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$/;

export class Pusher {
  constructor(private readonly http: RegistryHttp) {}

  async blobExists(host: string, repository: string, digest: string, meter: Meter, signal?: AbortSignal, push = false): Promise<boolean> {
    return this.http.run({
      host, repository, push, method: 'HEAD', target: `/v2/${repository}/blobs/${digest}`, followRedirects: true,
      what: `blob ${host}/${repository}@${digest}`, signal, meter, ok: (s) => s === 200 || s === 404,
    }, async (res) => {
      discard(res.body);
      return res.status === 200;
    });
  }

  /** Uploads a blob unless the registry has it; returns true when bytes were sent. */
  async pushBlob(host: string, repository: string, desc: Descriptor, data: BlobData, meter: Meter, signal?: AbortSignal): Promise<boolean> {
    const what = `blob upload ${host}/${repository}@${desc.digest}`;
    checkDescriptor(desc, what);
    if (Buffer.isBuffer(data)) {
      if (data.length !== desc.size) throw invalidArgument(`${what}: ${data.length} bytes given for a ${desc.size}-byte descriptor`);
      verifyDigest(data, desc.digest, what);
    }
    if (await this.blobExists(host, repository, desc.digest, meter, signal, true)) return false;
    // Start an upload session, then send everything in one PUT (monolithic upload).
    const location = await this.http.run({
      host, repository, push: true, method: 'POST', target: `/v2/${repository}/blobs/uploads/`,
      what, signal, meter, ok: (s) => s === 202 || s === 201, headers: { 'content-length': '0' },
    }, async (res) => {
      discard(res.body);
      const loc = firstHeader(res.headers.location);
      if (!loc) throw unavailable(`${what}: registry gave no upload Location`);
      // Location may be relative (to the request) or absolute.
      return new URL(loc, res.url);
    });
    location.searchParams.set('digest', desc.digest);
    await this.http.run({
      host, repository, push: true, method: 'PUT', target: location, what, signal, meter,
      ok: (s) => s === 201 || s === 204,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: Buffer.isBuffer(data) ? data : () => Readable.from(data()),
    }, async (res) => {
      discard(res.body);
      const stored = firstHeader(res.headers['docker-content-digest']);
      if (stored && stored !== desc.digest) throw digestMismatch(`${what}: registry stored it as ${stored}`);
    });
    return true;
  }

  /** Stores a manifest under `tag` (or its digest); returns the manifest's digest. */
  async putManifest(host: string, repository: string, tag: string, bytes: Buffer, mediaType: string, meter: Meter, signal?: AbortSignal): Promise<string> {
    if (!TAG_OR_DIGEST.test(tag)) throw invalidArgument(`bad tag "${tag}" for ${host}/${repository}`);
    if (bytes.length > LIMITS.maxManifestBytes) throw invalidArgument(`manifest for ${host}/${repository}:${tag} is larger than ${LIMITS.maxManifestBytes} bytes`);
    const digest = sha256Digest(bytes);
    const what = `manifest upload ${host}/${repository}:${tag}`;
    await this.http.run({
      host, repository, push: true, method: 'PUT', target: `/v2/${repository}/manifests/${tag}`, what, signal, meter,
      ok: (s) => s === 201 || s === 200 || s === 204,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) }, body: bytes,
    }, async (res) => {
      discard(res.body);
      const stored = firstHeader(res.headers['docker-content-digest']);
      if (stored && stored !== digest) throw digestMismatch(`${what}: registry stored it as ${stored}, expected ${digest}`);
    });
    return digest;
  }
}
