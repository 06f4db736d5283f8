// Test helpers: hand-crafted tar headers (for malformed and malicious cases GNU tar will
// not write) and GNU tar runs over a scratch directory.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LayerEntry } from '../../../src/formats/layer-entry.js';
import { parseTarStream } from '../../../src/formats/tar/parse-tar-stream.js';

const run = promisify(execFile);

export interface HeaderSpec {
  name: string;
  type?: string; // typeflag char, default '0'
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkName?: string;
  devMajor?: number;
  devMinor?: number;
  /** Raw bytes written over a field after encoding: [offset, bytes]. */
  patch?: Array<[number, Buffer]>;
}

function octal(block: Buffer, off: number, len: number, v: number): void {
  block.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

/** One ustar header block with a correct checksum (unless patched afterwards with `bad`). */
export function header(spec: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  b.write(spec.name, 0, 100, 'utf8');
  octal(b, 100, 8, spec.mode ?? 0o644);
  octal(b, 108, 8, spec.uid ?? 0);
  octal(b, 116, 8, spec.gid ?? 0);
  octal(b, 124, 12, spec.size ?? 0);
  octal(b, 136, 12, spec.mtime ?? 1_600_000_000);
  b.write(spec.type ?? '0', 156, 1, 'latin1');
  b.write(spec.linkName ?? '', 157, 100, 'utf8');
  b.write('ustar\0' + '00', 257, 8, 'latin1');
  b.write('root', 265, 32);
  b.write('root', 297, 32);
  octal(b, 329, 8, spec.devMajor ?? 0);
  octal(b, 337, 8, spec.devMinor ?? 0);
  for (const [off, bytes] of spec.patch ?? []) bytes.copy(b, off);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** GNU base-256 encoding of `v` in a field of `len` bytes. */
export function base256(v: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0]! |= 0x80;
  return out;
}

export function payload(data: Buffer | string): Buffer {
  const b = Buffer.from(data);
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

export function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export const END = Buffer.alloc(1024);

export function tarOf(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END]);
}

/** Runs GNU tar with `args` (e.g. ['--format=pax', '-C', dir, '.']) and returns the archive. */
export async function gnuTar(args: string[]): Promise<Buffer> {
  const { stdout } = await run('tar', ['-c', '-f', '-', ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

export interface Collected {
  entry: LayerEntry;
  headerOffset: number;
  dataOffset: number;
  body: Buffer;
}

/** Parses `chunks` with parseTarStream and reads every body. */
export async function collect(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Collected[]> {
  const out: Collected[] = [];
  const src = (async function* () { yield* chunks; })();
  for await (const item of parseTarStream(src)) {
    const parts: Buffer[] = [];
    for await (const b of item.body) parts.push(Buffer.from(b));
    out.push({ entry: item.entry, headerOffset: item.headerOffset, dataOffset: item.dataOffset, body: Buffer.concat(parts) });
  }
  return out;
}

export function* byteAtATime(buf: Buffer): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
}
