// The two small files that make a directory an OCI image layout (image-spec
// image-layout.md): `oci-layout` ({"imageLayoutVersion":"1.0.0"}) and `index.json` (an
// image index whose entries name images with the org.opencontainers.image.ref.name
// annotation). Read for any layout on disk (umoci, skopeo, ours); written for ours.

import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { checkDescriptor } from '../image/descriptor.js';
import { ANNOTATIONS, MEDIA_TYPES, type Descriptor, type ImageIndex } from '../image/oci-types.js';
import { readFileCapped } from './capped-file.js';

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const LAYOUT_VERSION = '1.0.0';
/** index.json of a store with thousands of tags stays far below this. */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;
const MAX_LAYOUT_FILE_BYTES = 64 * 1024;

/** Checks `root/oci-layout`: NOT_FOUND when absent, FAILED_PRECONDITION for another version. */
export async function checkLayoutFile(root: string): Promise<void> {
  const what = `${root} is not an OCI image layout: ${LAYOUT_FILE}`;
  const bytes = await readFileCapped(join(root, LAYOUT_FILE), MAX_LAYOUT_FILE_BYTES, what);
  let version: unknown;
  try {
    version = (JSON.parse(bytes.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (err) {
    throw invalidArgument(`${join(root, LAYOUT_FILE)} is not JSON`, err);
  }
  // image-spec: 1.x layouts are compatible; anything else we cannot read safely.
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw failedPrecondition(`${join(root, LAYOUT_FILE)}: unsupported imageLayoutVersion ${JSON.stringify(version)}`);
  }
}

export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] };
}

/** Reads and checks `root/index.json`. */
export async function readLayoutIndex(root: string): Promise<ImageIndex> {
  const path = join(root, INDEX_FILE);
  const bytes = await readFileCapped(path, MAX_INDEX_BYTES, `${INDEX_FILE} of layout ${root}`);
  return parseLayoutIndex(bytes, path);
}

export function parseLayoutIndex(bytes: Buffer, what: string): ImageIndex {
  let doc: Partial<ImageIndex> | null;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Partial<ImageIndex> | null;
  } catch (err) {
    throw invalidArgument(`${what} is not JSON: ${(err as Error).message}`, err);
  }
  if (doc === null || typeof doc !== 'object' || doc.schemaVersion !== 2 || !Array.isArray(doc.manifests)) {
    throw invalidArgument(`${what} is not an image index (schemaVersion 2 with a manifests list)`);
  }
  doc.manifests.forEach((d, i) => checkDescriptor(d, `${what} manifests[${i}]`));
  return doc as ImageIndex;
}


export function refNameOf(d: Descriptor): string | undefined {
  const name = d.annotations?.[ANNOTATIONS.refName];
  return typeof name === 'string' ? name : undefined;
}

/** Every ref name in the index, sorted, each once. */
export function tagsOf(index: ImageIndex): string[] {
  const names = new Set<string>();
  for (const d of index.manifests) {
    const n = refNameOf(d);
    if (n !== undefined) names.add(n);
  }
  return [...names].sort();
}

/** The index as it is written: stable two-space JSON with a final newline. */
export function serializeIndex(index: ImageIndex): Buffer {
  return Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
}
