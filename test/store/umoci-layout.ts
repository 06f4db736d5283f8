// Test helper (no tests here): OCI layouts made by a real tool (umoci), and documents
// added to them by hand (nested indexes), for the oci: source and pull tests.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Descriptor, ImageIndex, Platform } from '../../src/image/oci-types.js';
import { MEDIA_TYPES } from '../../src/image/oci-types.js';

const run = promisify(execFile);

/**
 * `umoci init; new; unpack; add files; repack`: a layout at DIR/layout holding image `tag`,
 * one layer per entry of `files` (each repack adds what changed).
 */
export async function makeUmociLayout(dir: string, tag: string, ...layers: Array<Record<string, Uint8Array>>): Promise<string> {
  const layout = join(dir, 'layout');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:${tag}`]);
  for (const [i, files] of layers.entries()) {
    // A fresh bundle per layer: umoci diffs against the image the bundle was unpacked from.
    const bundle = join(dir, `bundle-${i}`);
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
    for (const [name, data] of Object.entries(files)) await writeFile(join(bundle, 'rootfs', name), data);
    await run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
    await rm(bundle, { recursive: true, force: true });
  }
  return layout;
}

export function blobFile(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

export async function readIndex(layout: string): Promise<ImageIndex> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as ImageIndex;
}

/** Writes `doc` as a blob of the layout; returns its descriptor. */
export async function addBlob(layout: string, doc: unknown, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await writeFile(blobFile(layout, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** An index blob offering `leaf` for each platform given. */
export async function addIndex(layout: string, entries: Array<{ desc: Descriptor; platform?: Platform }>): Promise<Descriptor> {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: entries.map((e) => (e.platform ? { ...e.desc, platform: e.platform } : { ...e.desc })),
  };
  return addBlob(layout, index, MEDIA_TYPES.ociIndex);
}

/** Adds an index.json entry for `desc` tagged `tag`. */
export async function addTag(layout: string, tag: string, desc: Descriptor): Promise<void> {
  const index = await readIndex(layout);
  index.manifests.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } });
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
}
