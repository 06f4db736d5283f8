// The default cap on a streamed layer's uncompressed size: the free space of the target
// filesystem minus a margin, so a decompression bomb stops before the disk fills.

import { statfs } from 'node:fs/promises';

/** Space left for the rest of the system (other writers, the chunk cache's metadata). */
export const FREE_SPACE_MARGIN_BYTES = 256 * 1024 * 1024;

export async function freeSpaceCap(dir: string): Promise<number> {
  const st = await statfs(dir);
  const free = st.bavail * st.bsize;
  return Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, free - FREE_SPACE_MARGIN_BYTES));
}
