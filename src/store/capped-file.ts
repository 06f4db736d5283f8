// Reading a whole small file (index.json, a manifest) with a named cap checked before any
// byte is buffered.

import { open } from 'node:fs/promises';
import { invalidArgument, notFound } from '../errors.js';

export async function readFileCapped(path: string, cap: number, what: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${what} does not exist (${path})`, err);
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalidArgument(`${what} is not a regular file (${path})`);
    if (st.size > cap) throw invalidArgument(`${what} is ${st.size} bytes, above the ${cap}-byte limit`);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(buf, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
