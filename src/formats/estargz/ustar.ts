// A minimal ustar header for the entries the eStargz writer adds itself (the landmark
// files and `stargz.index.json`): a regular file, short name, owner 0:0, mtime 0.

import { invalidArgument } from '../../errors.js';

const BLOCK = 512;

export function ustarFileHeader(name: string, size: number, mode = 0o644): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw invalidArgument(`tar name ${JSON.stringify(name)} is too long for a ustar header`);
  if (!Number.isSafeInteger(size) || size < 0 || size >= 8 ** 11) throw invalidArgument(`tar size ${size} does not fit a ustar header`);
  const h = Buffer.alloc(BLOCK);
  nameBytes.copy(h, 0);
  octal(h, 100, 8, mode); // mode
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size); // size
  octal(h, 136, 12, 0); // mtime
  h.write('        ', 148, 'latin1'); // checksum field counts as spaces while summing
  h.write('0', 156, 'latin1'); // typeflag: regular file
  h.write('ustar\x0000', 257, 'latin1'); // magic + version
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\x00 `, 148, 'latin1');
  return h;
}

/** Tar padding after `size` payload bytes. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function octal(h: Buffer, at: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\x00`, at, 'latin1');
}
