// Issue 4's acceptance without FUSE: every file of each fixture image, read lazily through
// LazyImage (registry -> chunk cache -> layer index -> merged tree), equals `umoci unpack`
// (the tree-digest listing), for every layer format lazysnap reads: the gzip and zstd
// fallback, zstd:chunked from skopeo, and eStargz from `lazysnap convert`. And `cat`-sized
// reads fetch only their own bytes plus the index.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { openRegistrySource } from '../../src/image/registry-source.js';
import { openOciLayoutSource } from '../../src/image/oci-layout-source.js';
import type { ImageSource, ResolvedImage } from '../../src/image/image-source.js';
import type { Descriptor, ImageManifest, Platform } from '../../src/image/oci-types.js';
import type { RangeReader } from '../../src/formats/range-reader.js';
import { unavailable } from '../../src/errors.js';
import { LazyImage } from '../../src/image/lazy-image.js';
import { resolveImagePath } from '../../src/image/image-paths.js';
import { openProcessChunkStore } from '../../src/image/chunk-store-setup.js';
import { runCli } from '../helpers/cli.js';
import { startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, expectedListing, fixturesMissing, listingDiff } from '../helpers/fixtures.js';
import { treeListing } from '../helpers/tree-listing.js';

const skip = fixturesMissing();

describe('LazyImage reads every file of every format like umoci unpack', { skip, timeout: 900_000 }, () => {
  let reg: TestRegistry;
  let work: string;
  let client: RegistryClient;
  const refs = new Map<string, string>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-lazy-'));
    reg = await startRegistry();
    for (const tag of ['edge', 'edge-zstd', 'edge-zstdchunked', 'python']) {
      refs.set(tag, await pushLayout(FIXTURE_LAYOUT, tag, reg, `fixtures/${tag.split('-')[0]}`, tag));
    }
    for (const base of ['edge', 'python']) {
      const dst = `${reg.host}/fixtures/${base}:estargz`;
      const r = await runCli(['--quiet', 'convert', refs.get(base)!, dst], { stateDir: join(work, 'convert-state') });
      assert.equal(r.code, 0, r.stderr);
      refs.set(`${base}-estargz`, dst);
    }
    client = new RegistryClient({ spoolDir: work });
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const cases: [string, string, string][] = [
    ['edge', 'edge', 'gzip'],
    ['edge-zstd', 'edge', 'zstd'],
    ['edge-zstdchunked', 'edge', 'zstd-chunked'],
    ['edge-estargz', 'edge', 'estargz'],
    ['python-estargz', 'python', 'estargz'],
  ];
  for (const [tag, base, format] of cases) {
    it(`${tag}: every file equals umoci unpack (${format})`, async () => {
      const state = await mkdtemp(join(work, 'state-'));
      const store = await openProcessChunkStore(state, { memoryBytes: 64 << 20, diskBytes: 1 << 30 });
      const source = openRegistrySource(refs.get(tag)!, { client });
      const img = await LazyImage.open(source, { layersDir: join(state, 'layers'), store });
      try {
        assert.ok(img.layers.every((l) => l.format === format), `formats: ${img.layers.map((l) => l.format)}`);
        assert.ok(img.layers.every((l) => l.lazy === (format !== 'gzip' && format !== 'zstd')));
        const actual = await treeListing(img.tree, (n) => img.readAll(n));
        const expected = await expectedListing(base);
        assert.ok(actual === expected, listingDiff(actual, expected));
        if (img.layers.every((l) => l.lazy)) {
          // Reading everything fetches each blob byte at most once (plus the indexes).
          const indexBytes = img.layers.reduce((s, l) => s + l.index.info.indexBytesRead, 0);
          assert.ok(source.counters.bytesFetched <= 1.05 * img.compressedSize + indexBytes,
            `fetched ${source.counters.bytesFetched} for ${img.compressedSize} compressed bytes`);
        }
      } finally {
        await img.close();
        await store.close();
        await source.close();
      }
    });
  }

  it('reading one file of the python eStargz fetches that file and the TOC, not the image', async () => {
    const state = await mkdtemp(join(work, 'state-'));
    const store = await openProcessChunkStore(state, { memoryBytes: 64 << 20, diskBytes: 1 << 30 });
    const source = openRegistrySource(refs.get('python-estargz')!, { client });
    const img = await LazyImage.open(source, { layersDir: join(state, 'layers'), store });
    try {
      const afterIndex = source.counters.bytesFetched;
      const { node } = resolveImagePath(img.tree, '/usr/bin/python3');
      assert.equal(node.type, 'reg');
      const layer = img.layers[node.source!.layer]!;
      const compressed = layer.index.chunks(node.source!.entry).reduce((s, c) => s + c.blobLength, 0);
      let n = 0;
      for await (const piece of img.readAll(node)) n += piece.length;
      assert.equal(n, node.size);
      const fileFetch = source.counters.bytesFetched - afterIndex;
      // Read-ahead may bring neighbouring small files along (at most 256 KiB per request).
      assert.ok(fileFetch <= 1.2 * compressed + 256 * 1024, `fetched ${fileFetch} for a file of ${compressed} compressed bytes`);
      assert.ok(source.counters.bytesFetched < 0.1 * img.compressedSize);
    } finally {
      await img.close();
      await store.close();
      await source.close();
    }
  });
});

/** An image source whose config comes only when `gate` settles; it records blob reads. */
class ConfigGatedSource implements ImageSource {
  readonly reads: string[] = [];
  constructor(private readonly inner: ImageSource, private readonly gate: Promise<void>) {}
  get counters() { return this.inner.counters; }
  async resolve(platform?: Platform, signal?: AbortSignal, onManifest?: (manifest: ImageManifest) => void): Promise<ResolvedImage> {
    const resolved = await this.inner.resolve(platform, signal);
    onManifest?.(resolved.manifest);
    await this.gate;
    return resolved;
  }
  blob(desc: Descriptor): RangeReader {
    const b = this.inner.blob(desc);
    return { size: b.size, readAt: (offset, length, signal, arrived) => { this.reads.push(desc.digest); return b.readAt(offset, length, signal, arrived); } };
  }
  fetchBlob(desc: Descriptor, maxBytes: number, signal?: AbortSignal) { return this.inner.fetchBlob(desc, maxBytes, signal); }
  openBlobStream(desc: Descriptor, offset?: number, signal?: AbortSignal) { return this.inner.openBlobStream(desc, offset, signal); }
  close() { return this.inner.close(); }
}

describe('LazyImage opens the layers while the config is still coming', { skip }, () => {
  it('reads the layers before the config arrives; a config that fails still fails the open', async () => {
    const state = await mkdtemp(join(tmpdir(), 'lazysnap-gated-'));
    const store = await openProcessChunkStore(state, { memoryBytes: 16 << 20, diskBytes: 1 << 30 });
    try {
      let release!: () => void;
      const gated = new ConfigGatedSource(openOciLayoutSource(FIXTURE_LAYOUT, 'edge-zstdchunked'), new Promise((r) => { release = r; }));
      const opening = LazyImage.open(gated, { layersDir: join(state, 'layers'), store });
      for (let i = 0; i < 500 && gated.reads.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(gated.reads.length > 0, 'no layer was read while the config was held back');
      release();
      const img = await opening;
      assert.equal(img.layers.length, img.resolved.manifest.layers.length);
      await img.close();
      await gated.close();

      const gone = Promise.reject(unavailable('config went away'));
      gone.catch(() => {}); // awaited by the source
      const refused = new ConfigGatedSource(openOciLayoutSource(FIXTURE_LAYOUT, 'edge-zstdchunked'), gone);
      const fresh = await openProcessChunkStore(join(state, 'fresh'), { memoryBytes: 16 << 20, diskBytes: 1 << 30 }); // no cached TOCs
      try {
        await assert.rejects(LazyImage.open(refused, { layersDir: join(state, 'layers'), store: fresh }), /config went away/);
        assert.ok(refused.reads.length > 0, 'the layers had started');
      } finally {
        await fresh.close();
        await refused.close();
      }
    } finally {
      await store.close();
      await rm(state, { recursive: true, force: true });
    }
  });
});
