// PAX extended header records (POSIX.1-2001): "LEN KEY=VALUE\n", LEN counting the whole
// record in decimal. Values stay bytes: SCHILY.xattr values are binary.

import { invalidArgument } from '../../errors.js';

export type PaxRecords = Map<string, Buffer>;

/** Parses the payload of an `x` or `g` entry. `where` names the record in errors. */
export function parsePaxRecords(data: Buffer, where: string): PaxRecords {
  const records: PaxRecords = new Map();
  let pos = 0;
  while (pos < data.length) {
    // GNU tar pads the payload with NULs to the block; Go stops at the first NUL as well.
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) throw invalidArgument(`malformed PAX record at ${where}+${pos}`);
    const lenText = data.toString('latin1', pos, space);
    if (!/^[0-9]+$/.test(lenText)) throw invalidArgument(`malformed PAX record length ${JSON.stringify(lenText)} at ${where}+${pos}`);
    const len = Number(lenText);
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw invalidArgument(`malformed PAX record (length ${lenText}) at ${where}+${pos}`);
    }
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalidArgument(`PAX record without a key at ${where}+${pos}`);
    // Copy the value: the caller may keep it (xattrs) long after the block buffer is gone.
    records.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return records;
}
