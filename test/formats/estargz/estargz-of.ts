// Test helper: a tar through writeEstargz into memory (spool dir made and removed here).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeEstargz } from '../../../src/formats/estargz/write-estargz.js';

export async function estargzOf(tar: Buffer, opts: { chunkSize?: number; prioritizedFiles?: string[] } = {}) {
  const spoolDir = await mkdtemp(join(tmpdir(), 'lazysnap-estargz-'));
  try {
    const parts: Buffer[] = [];
    const result = await writeEstargz(chunks(tar), { write: async (c: Uint8Array) => void parts.push(Buffer.from(c)) }, { ...opts, spoolDir, level: 1 });
    return { blob: Buffer.concat(parts), result };
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}

/** The tar in uneven pieces, as a stream would deliver it. */
export async function* chunks(buf: Buffer, size = 100_000): AsyncGenerator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

