// Fetching manifests and indexes: Accept for the four schema2 media types, a size cap,
// digest verification (of a digest reference, and against Docker-Content-Digest), shape
// checks, and a clear refusal of schema1.

import { digestMismatch, invalidArgument } from '../errors.js';
import { checkDescriptor } from '../image/descriptor.js';
import { MEDIA_TYPES, type ImageIndex, type ImageManifest } from '../image/oci-types.js';
import { digestOf, digestProblem, sha256Digest, verifyDigest } from '../reference/digest.js';
import { readCapped } from './body.js';
import { LIMITS } from './options.js';
import type { RegistryHttp } from './registry-http.js';
import { firstHeader, type Meter } from './transport.js';

export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

export type FetchedDocument =
  | { kind: 'index'; index: ImageIndex; bytes: Buffer; digest: string; mediaType: string }
  | { kind: 'manifest'; manifest: ImageManifest; bytes: Buffer; digest: string; mediaType: string };

export interface ManifestTarget {
  host: string;
  repository: string;
  /** A tag or a digest. */
  reference: string;
}

export async function fetchManifest(http: RegistryHttp, t: ManifestTarget, meter: Meter, signal?: AbortSignal): Promise<FetchedDocument> {
  const isDigest = t.reference.includes(':');
  const what = `manifest ${t.host}/${t.repository}${isDigest ? '@' : ':'}${t.reference}`;
  return http.run({
    host: t.host, repository: t.repository, method: 'GET', what, signal, meter,
    target: `/v2/${t.repository}/manifests/${t.reference}`,
    headers: { accept: MANIFEST_ACCEPT },
  }, async (res) => {
    const declared = Number(firstHeader(res.headers['content-length']) ?? 0);
    const tooBig = () => invalidArgument(`${what}: larger than the ${LIMITS.maxManifestBytes}-byte manifest limit`);
    if (declared > LIMITS.maxManifestBytes) throw tooBig();
    const bytes = await readCapped(res.body, LIMITS.maxManifestBytes, meter.bytes, tooBig);
    if (isDigest) verifyDigest(bytes, t.reference, what);
    const served = firstHeader(res.headers['docker-content-digest']);
    if (served && !digestProblem(served) && /^sha(256|512):/.test(served) && digestOf(bytes, served) !== served) {
      throw digestMismatch(`${what}: bytes do not match the Docker-Content-Digest ${served}`);
    }
    const digest = isDigest ? t.reference : sha256Digest(bytes);
    return parseDocument(bytes, digest, firstHeader(res.headers['content-type']), what);
  });
}

/** Parses and checks a manifest or index (also used for documents from elsewhere). */
export function parseDocument(bytes: Buffer, digest: string, contentType: string | undefined, what: string): FetchedDocument {
  let doc: Record<string, unknown>;
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    doc = v as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`${what}: not a JSON manifest: ${(err as Error).message}`, err);
  }
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : (contentType ?? '').split(';')[0]!.trim();
  if (doc.schemaVersion === 1 || SCHEMA1_TYPES.has(declared)) {
    throw invalidArgument(`${what}: Docker schema1 manifests are not supported (deprecated); re-push the image with a current tool`);
  }
  if (doc.schemaVersion !== 2) throw invalidArgument(`${what}: schemaVersion ${String(doc.schemaVersion)} is not 2`);
  const isIndex = INDEX_TYPES.has(declared) || (!MANIFEST_TYPES.has(declared) && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw invalidArgument(`${what}: index without a manifests list`);
    doc.manifests.forEach((d, i) => checkDescriptor(d, `${what} manifests[${i}]`));
    return { kind: 'index', index: doc as unknown as ImageIndex, bytes, digest, mediaType: declared || MEDIA_TYPES.ociIndex };
  }
  checkDescriptor(doc.config, `${what} config`);
  if (!Array.isArray(doc.layers)) throw invalidArgument(`${what}: manifest without a layers list`);
  doc.layers.forEach((d, i) => checkDescriptor(d, `${what} layers[${i}]`));
  return { kind: 'manifest', manifest: doc as unknown as ImageManifest, bytes, digest, mediaType: declared || MEDIA_TYPES.ociManifest };
}

