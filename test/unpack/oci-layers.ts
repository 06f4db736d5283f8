// Test helper: opens the layers of an image in a local OCI layout with this project's
// readers (plain tar: openTarIndex over the blob file; gzip/zstd: the streamed fallback).

import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileRangeReader } from '../../src/formats/file-range-reader.js';
import type { LayerIndex } from '../../src/formats/layer-index.js';
import { openStreamedIndex } from '../../src/formats/streamed/open-streamed-index.js';
import { openTarIndex } from '../../src/formats/tar/open-tar-index.js';
import { FIXTURES_DIR } from '../helpers/registry.js';

const run = promisify(execFile);

interface Descriptor { mediaType: string; digest: string; annotations?: Record<string, string> }

const blobPath = (layout: string, digest: string) => join(layout, 'blobs', ...digest.split(':'));

export async function layerDescriptors(layout: string, tag: string): Promise<Descriptor[]> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const m = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!m) throw new Error(`tag ${tag} not in ${layout}`);
  const manifest = JSON.parse(await readFile(blobPath(layout, m.digest), 'utf8')) as { layers: Descriptor[] };
  return manifest.layers;
}

/** Opens every layer; `close` releases the files. */
export async function openLayers(layout: string, tag: string, localDir: string): Promise<{ indexes: LayerIndex[]; close(): Promise<void> }> {
  const closers: Array<() => Promise<void>> = [];
  const indexes: LayerIndex[] = [];
  try {
    for (const d of await layerDescriptors(layout, tag)) {
      const path = blobPath(layout, d.digest);
      if (d.mediaType.endsWith('.tar')) {
        const reader = await FileRangeReader.open(path);
        closers.push(() => reader.close());
        indexes.push(await openTarIndex(reader));
        continue;
      }
      const format = d.mediaType.endsWith('+zstd') ? 'zstd' : 'gzip';
      const idx = await openStreamedIndex({ format, blobDigest: d.digest, localDir, openStream: async () => createReadStream(path) });
      closers.push(() => idx.close());
      indexes.push(idx);
    }
  } catch (err) {
    for (const c of closers) await c();
    throw err;
  }
  return { indexes, close: async () => { for (const c of closers) await c(); } };
}

/** test/fixtures/tree-digest.sh DIR */
export async function treeDigest(dir: string): Promise<string> {
  const { stdout } = await run('bash', [join(FIXTURES_DIR, 'tree-digest.sh'), dir], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}
