// Test helpers: eStargz blobs with a hand-made TOC. The data members come from a real
// writeEstargz run; the TOC member and footer are rebuilt here, independently of the
// writer's code, so malformed TOCs and the legacy footer can be produced.

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readEstargzToc } from '../../../src/formats/estargz/read-toc.js';
import { BufferRangeReader } from '../../../src/formats/range-reader.js';
import { header, payload } from '../tar/tar-build.js';

export interface RebuiltBlob {
  readonly blob: Buffer;
  readonly tocOffset: number;
  readonly tocDigest: string;
}

/** The TOC JSON of a blob (parsed) and the offset of its TOC member. */
export async function tocOf(blob: Buffer): Promise<{ toc: { version: number; entries: Array<Record<string, unknown>> }; tocOffset: number }> {
  const r = await readEstargzToc(new BufferRangeReader(blob));
  return { toc: r.json as { version: number; entries: Array<Record<string, unknown>> }, tocOffset: r.tocOffset };
}

/** `blob`'s data members followed by a TOC member holding `json` and a footer. */
export async function withToc(blob: Buffer, json: unknown, opts: { legacyFooter?: boolean; tarName?: string; claimedSize?: number } = {}): Promise<RebuiltBlob> {
  const { tocOffset } = await tocOf(blob);
  const text = Buffer.isBuffer(json) ? json : Buffer.from(typeof json === 'string' ? json : JSON.stringify(json));
  const tar = Buffer.concat([
    header({ name: opts.tarName ?? 'stargz.index.json', size: opts.claimedSize ?? text.length }),
    payload(text),
    Buffer.alloc(1024),
  ]);
  const member = gzipSync(tar);
  const footer = opts.legacyFooter ? legacyFooter(tocOffset) : footer51(tocOffset);
  return {
    blob: Buffer.concat([blob.subarray(0, tocOffset), member, footer]),
    tocOffset,
    tocDigest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
  };
}

/** The 51-byte footer, spelled out from estargz.md. */
export function footer51(tocOffset: number): Buffer {
  return Buffer.concat([
    Buffer.from('1f8b08040000000000ff', 'hex'), // gzip header, FLG=FEXTRA, OS=unknown
    Buffer.from('1a00', 'hex'), // XLEN 26
    Buffer.from('SG'), Buffer.from('1600', 'hex'), // subfield 'SG', LEN 22
    Buffer.from(`${tocOffset.toString(16).padStart(16, '0')}STARGZ`),
    Buffer.from('010000ffff', 'hex'), // empty final stored block
    Buffer.alloc(8), // CRC32 and ISIZE of nothing
  ]);
}

/** The legacy 47-byte stargz footer: XLEN 22 and the extra field without a subfield header. */
export function legacyFooter(tocOffset: number): Buffer {
  return Buffer.concat([
    Buffer.from('1f8b08040000000000ff', 'hex'),
    Buffer.from('1600', 'hex'),
    Buffer.from(`${tocOffset.toString(16).padStart(16, '0')}STARGZ`),
    Buffer.from('010000ffff', 'hex'),
    Buffer.alloc(8),
  ]);
}
