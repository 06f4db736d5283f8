// The shared LayerIndex suite over eStargz: each tree's tar goes through writeEstargz,
// and openEstargz reads the blob back (verifying the TOC digest the writer reports).

import { openEstargz } from '../../../src/formats/estargz/open-estargz.js';
import { BufferRangeReader } from '../../../src/formats/range-reader.js';
import { layerIndexSuite } from '../../suites/layer-index-suite.js';
import { estargzOf } from './estargz-of.js';

layerIndexSuite('estargz', async (tar) => {
  const { blob, result } = await estargzOf(tar, { chunkSize: 1 << 20 });
  const index = await openEstargz(new BufferRangeReader(blob), { tocDigest: result.tocDigest });
  return { index, close: async () => {} };
});
