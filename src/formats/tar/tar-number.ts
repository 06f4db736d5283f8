// Numeric header fields: octal text (ustar) or base-256 binary (GNU, for values that do
// not fit the octal field: sizes >= 8 GiB, big uids, negative mtimes). Values are decoded
// as bigint and narrowed with a check, so a hostile header cannot yield an unsafe number.

import { invalidArgument } from '../../errors.js';

/**
 * Decodes one numeric field. `what` names the field in errors. Empty fields (all NUL or
 * spaces) are 0, as GNU tar and Go's archive/tar read them.
 */
export function parseTarNumber(field: Buffer, what: string, allowNegative = false): number {
  let value: bigint;
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    value = parseBase256(field);
  } else {
    value = parseOctal(field, what);
  }
  if (value < 0n && !allowNegative) throw invalidArgument(`tar header field ${what} is negative (${value})`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`tar header field ${what} is out of range (${value})`);
  return n;
}

/** GNU base-256: first byte 0x80 (positive) or 0xff (negative), then big-endian two's complement. */
function parseBase256(field: Buffer): bigint {
  const negative = field[0] === 0xff;
  let v = BigInt(field[0]! & 0x7f);
  if (negative) v = BigInt(field[0]!); // keep all bits; the sign is applied below
  for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
  if (negative) v -= 1n << BigInt(field.length * 8);
  return v;
}

function parseOctal(field: Buffer, what: string): bigint {
  let start = 0;
  let end = field.length;
  // Leading spaces/NULs and trailing NUL or space terminators are allowed by every writer.
  while (start < end && (field[start] === 0x20 || field[start] === 0)) start++;
  let stop = start;
  while (stop < end && field[stop] !== 0x20 && field[stop] !== 0) stop++;
  for (let i = stop; i < end; i++) {
    if (field[i] !== 0x20 && field[i] !== 0) {
      throw invalidArgument(`tar header field ${what} is not an octal number: ${JSON.stringify(field.toString('latin1'))}`);
    }
  }
  let v = 0n;
  for (let i = start; i < stop; i++) {
    const c = field[i]!;
    if (c < 0x30 || c > 0x37) {
      throw invalidArgument(`tar header field ${what} is not an octal number: ${JSON.stringify(field.toString('latin1'))}`);
    }
    v = (v << 3n) | BigInt(c - 0x30);
  }
  return v;
}
