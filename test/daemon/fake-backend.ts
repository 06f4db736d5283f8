// A MountBackend over the in-memory sample tree, for daemon tests: any reference except
// ones starting with `missing` opens a fresh sample tree; counters follow the reads.

import { notFound } from '../../src/errors.js';
import type { MountBackend, OpenedImage } from '../../src/daemon/backend.js';
import { sampleTree } from '../fs/memory-tree.js';

export interface FakeBackend extends MountBackend {
  readonly opened: number;
  readonly closed: number;
}

export function fakeBackend(): FakeBackend {
  let opened = 0;
  let closed = 0;
  return {
    get opened() { return opened; },
    get closed() { return closed; },
    async openImage(reference, opts) {
      if (reference.startsWith('missing')) throw notFound(`image ${reference} not found (fake)`);
      const sample = sampleTree();
      const counters = { bytesFetched: 0, requests: 0, cacheHits: 0, cacheMisses: 0, errors: 0 };
      const seen = new Set<string>();
      let isClosed = false;
      opened++;
      const image: OpenedImage = {
        tree: sample.tree,
        async read(node, offset, length, signal) {
          const key = `${node.ino}:${offset}`;
          if (seen.has(key)) counters.cacheHits++;
          else { seen.add(key); counters.cacheMisses++; counters.requests++; counters.bytesFetched += length; }
          try {
            return await sample.read(node, offset, length, signal);
          } catch (err) {
            counters.errors++;
            throw err;
          }
        },
        describe: () => ({
          image: `fake.registry/${reference}`,
          digest: `sha256:${'ab'.repeat(32)}`,
          compressedBytes: 12345,
          layers: [{ digest: `sha256:${'cd'.repeat(32)}`, size: 12345, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', format: opts.platform === 'linux/gzip' ? 'gzip' : 'estargz', lazy: true }],
        }),
        counters: () => ({ ...counters }),
        startBackground() {},
        async close() {
          if (!isClosed) { isClosed = true; closed++; }
        },
      };
      return image;
    },
    cacheFigures: () => ({ memoryBytes: 1, diskBytes: 2, diskLimitBytes: 3 }),
  };
}
