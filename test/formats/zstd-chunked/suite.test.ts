// The shared LayerIndex suite over zstd:chunked blobs made by the real writer: each
// tree's tar becomes a one-layer OCI layout, `skopeo copy --dest-compress-format
// zstd:chunked` recompresses it (Debian's skopeo 1.9 writes the legacy annotations and
// the 40-byte footer), and openZstdChunked reads the layer with its annotations.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openZstdChunked } from '../../../src/formats/zstd-chunked/open-zstd-chunked.js';
import { BufferRangeReader } from '../../../src/formats/range-reader.js';
import { layerIndexSuite } from '../../suites/layer-index-suite.js';
import { skopeoZstdChunked } from './skopeo-layout.js';

const run = promisify(execFile);
const hasSkopeo = await run('skopeo', ['--version']).then(() => true, () => false);

if (hasSkopeo) {
  layerIndexSuite('zstd-chunked (skopeo)', async (tar) => {
    const dir = await mkdtemp(join(tmpdir(), 'lazysnap-zstdchunked-'));
    try {
      const layer = await skopeoZstdChunked(tar, dir);
      const index = await openZstdChunked(new BufferRangeReader(layer.blob), { annotations: layer.annotations });
      return { index, close: async () => {} };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
} else {
  layerIndexSuite('zstd-chunked (skopeo)', async () => { throw new Error('unreachable'); }, {
    skip: Object.fromEntries(['entries match the tar, in order', 'every byte of every file matches', 'unaligned reads across chunk boundaries match',
      'chunks tile each regular file, none elsewhere', 'hardlinks read their target', 'a read past the end is INVALID_ARGUMENT'].map((c) => [c, 'skopeo is not installed'])),
  });
}
