// EntryTable: a chunked layer's entries and chunk lists kept in typed arrays, for as long
// as an image stays mounted.
//
// Why: a mount server keeps every layer's index for its whole life, and as objects an
// entry cost about 420 bytes of heap (the LayerEntry, its path, its digest string, a
// ChunkRef, the array and the map slot holding them: measured on the python image's
// 8152 files), which was most of what a mounted file cost. Here an entry is ~70 bytes of
// columns plus its path in one shared string, a chunk ~70 bytes, digests as 32 raw bytes.
// LayerEntry and ChunkRef objects are made when asked for: `entry(pos)` gives a small view
// (the index hands out one per entry, once), `chunks(pos)` a fresh list each call.

import type { EntryType, LayerEntry } from './layer-entry.js';
import { SHA256_DIGEST, type ChunkEncoding, type ChunkRef } from './layer-index.js';

const ENTRY_TYPES: readonly EntryType[] = ['reg', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
const ENCODINGS: readonly ChunkEncoding[] = ['none', 'gzip', 'zstd', 'zeros'];
const TYPE_CODE = new Map(ENTRY_TYPES.map((t, i) => [t, i]));
const ENCODING_CODE = new Map(ENCODINGS.map((e, i) => [e, i]));

const DIGEST_BYTES = 32;
const SHA256_PREFIX = 'sha256:';
const NO_XATTRS: Readonly<Record<string, Buffer>> = Object.freeze({});

/** Raw sha256 digests in one array, with a flag per slot: absent or present. */
class DigestColumn {
  private readonly bytes: Uint8Array;
  private readonly present: Uint8Array;

  constructor(count: number) {
    this.bytes = new Uint8Array(count * DIGEST_BYTES);
    this.present = new Uint8Array(count);
  }

  /** Stores `digest` when it is a canonical sha256 digest; false when it cannot be stored here. */
  set(i: number, digest: string | undefined): boolean {
    if (digest === undefined) return true;
    if (!SHA256_DIGEST.test(digest)) return false;
    Buffer.from(this.bytes.buffer, this.bytes.byteOffset + i * DIGEST_BYTES, DIGEST_BYTES).write(digest.slice(SHA256_PREFIX.length), 'hex');
    this.present[i] = 1;
    return true;
  }

  get(i: number): string | undefined {
    if (this.present[i] !== 1) return undefined;
    return SHA256_PREFIX + Buffer.from(this.bytes.buffer, this.bytes.byteOffset + i * DIGEST_BYTES, DIGEST_BYTES).toString('hex');
  }
}

/** Strings laid end to end in one string: a slot costs 4 bytes of offset plus its characters. */
class StringColumn {
  private readonly ends: Uint32Array;
  private readonly text: string;

  constructor(values: readonly string[]) {
    this.ends = new Uint32Array(values.length);
    let end = 0;
    values.forEach((v, i) => {
      end += v.length;
      this.ends[i] = end;
    });
    this.text = values.join('');
  }

  get(i: number): string {
    return this.text.slice(i === 0 ? 0 : this.ends[i - 1], this.ends[i]);
  }
}

export class EntryTable {
  readonly length: number;
  private readonly typeMode: Uint16Array; // type code << 12 | permission bits
  private readonly uid: Uint32Array;
  private readonly gid: Uint32Array;
  private readonly size: Float64Array;
  private readonly mtimeMs: Float64Array;
  private readonly names: StringColumn;
  private readonly linkNames: StringColumn;
  private readonly digests: DigestColumn;
  /** Rare fields, by position: devices, xattrs, digests that are not canonical sha256. */
  private readonly devices = new Map<number, readonly [number, number]>();
  private readonly xattrs = new Map<number, Readonly<Record<string, Buffer>>>();
  private readonly otherDigests = new Map<number, string>();
  /** Entry i's chunks are chunk slots [chunkStart[i], chunkStart[i + 1]). */
  private readonly chunkStart: Uint32Array;
  private readonly chunkFileOffset: Float64Array;
  private readonly chunkSize: Float64Array;
  private readonly chunkBlobOffset: Float64Array;
  private readonly chunkBlobLength: Float64Array;
  private readonly chunkInnerOffset: Float64Array;
  private readonly chunkEncoding: Uint8Array;
  private readonly chunkDigests: DigestColumn;
  private readonly otherChunkDigests = new Map<number, string>();

  constructor(list: readonly LayerEntry[], chunksOf: (entry: LayerEntry) => readonly ChunkRef[]) {
    const n = list.length;
    this.length = n;
    this.typeMode = new Uint16Array(n);
    this.uid = new Uint32Array(n);
    this.gid = new Uint32Array(n);
    this.size = new Float64Array(n);
    this.mtimeMs = new Float64Array(n);
    this.names = new StringColumn(list.map((e) => e.name));
    this.linkNames = new StringColumn(list.map((e) => e.linkName));
    this.digests = new DigestColumn(n);
    this.chunkStart = new Uint32Array(n + 1);
    const lists = list.map((e) => chunksOf(e));
    const chunkCount = lists.reduce((sum, l) => sum + l.length, 0);
    this.chunkFileOffset = new Float64Array(chunkCount);
    this.chunkSize = new Float64Array(chunkCount);
    this.chunkBlobOffset = new Float64Array(chunkCount);
    this.chunkBlobLength = new Float64Array(chunkCount);
    this.chunkInnerOffset = new Float64Array(chunkCount);
    this.chunkEncoding = new Uint8Array(chunkCount);
    this.chunkDigests = new DigestColumn(chunkCount);
    let slot = 0;
    list.forEach((e, i) => {
      this.typeMode[i] = (TYPE_CODE.get(e.type)! << 12) | (e.mode & 0o7777);
      this.uid[i] = e.uid;
      this.gid[i] = e.gid;
      this.size[i] = e.size;
      this.mtimeMs[i] = e.mtimeMs;
      if (e.devMajor !== 0 || e.devMinor !== 0) this.devices.set(i, [e.devMajor, e.devMinor]);
      if (Object.keys(e.xattrs).length > 0) this.xattrs.set(i, e.xattrs);
      if (!this.digests.set(i, e.digest)) this.otherDigests.set(i, e.digest!);
      this.chunkStart[i] = slot;
      for (const c of lists[i]!) {
        this.chunkFileOffset[slot] = c.fileOffset;
        this.chunkSize[slot] = c.size;
        this.chunkBlobOffset[slot] = c.blobOffset;
        this.chunkBlobLength[slot] = c.blobLength;
        this.chunkInnerOffset[slot] = c.innerOffset;
        this.chunkEncoding[slot] = ENCODING_CODE.get(c.encoding)!;
        if (!this.chunkDigests.set(slot, c.digest)) this.otherChunkDigests.set(slot, c.digest!);
        slot++;
      }
    });
    this.chunkStart[n] = slot;
  }

  /** A LayerEntry view of position `pos` (reads the columns on each field access). */
  entry(pos: number): TableEntry {
    return new TableEntry(this, pos);
  }

  type(pos: number): EntryType {
    return ENTRY_TYPES[this.typeMode[pos]! >> 12]!;
  }

  mode(pos: number): number {
    return this.typeMode[pos]! & 0o7777;
  }

  uidOf(pos: number): number {
    return this.uid[pos]!;
  }

  gidOf(pos: number): number {
    return this.gid[pos]!;
  }

  sizeOf(pos: number): number {
    return this.size[pos]!;
  }

  mtimeOf(pos: number): number {
    return this.mtimeMs[pos]!;
  }

  name(pos: number): string {
    return this.names.get(pos);
  }

  linkName(pos: number): string {
    return this.linkNames.get(pos);
  }

  device(pos: number): readonly [number, number] {
    return this.devices.get(pos) ?? [0, 0];
  }

  xattrsOf(pos: number): Readonly<Record<string, Buffer>> {
    return this.xattrs.get(pos) ?? NO_XATTRS;
  }

  digest(pos: number): string | undefined {
    return this.digests.get(pos) ?? this.otherDigests.get(pos);
  }

  /** Entry `pos`'s chunks, as new objects sorted by fileOffset (as they were given). */
  chunks(pos: number): ChunkRef[] {
    const out: ChunkRef[] = [];
    for (let s = this.chunkStart[pos]!, end = this.chunkStart[pos + 1]!; s < end; s++) {
      const digest = this.chunkDigests.get(s) ?? this.otherChunkDigests.get(s);
      const fields = {
        fileOffset: this.chunkFileOffset[s]!,
        size: this.chunkSize[s]!,
        blobOffset: this.chunkBlobOffset[s]!,
        blobLength: this.chunkBlobLength[s]!,
        innerOffset: this.chunkInnerOffset[s]!,
        encoding: ENCODINGS[this.chunkEncoding[s]!]!,
      };
      out.push(digest === undefined ? fields : Object.assign(fields, { digest }));
    }
    return out;
  }
}

/** One entry of an EntryTable, read through: two fields of its own. */
export class TableEntry implements LayerEntry {
  constructor(
    readonly table: EntryTable,
    readonly pos: number,
  ) {}

  get name(): string {
    return this.table.name(this.pos);
  }
  get type(): EntryType {
    return this.table.type(this.pos);
  }
  get size(): number {
    return this.table.sizeOf(this.pos);
  }
  get mode(): number {
    return this.table.mode(this.pos);
  }
  get uid(): number {
    return this.table.uidOf(this.pos);
  }
  get gid(): number {
    return this.table.gidOf(this.pos);
  }
  get mtimeMs(): number {
    return this.table.mtimeOf(this.pos);
  }
  get linkName(): string {
    return this.table.linkName(this.pos);
  }
  get devMajor(): number {
    return this.table.device(this.pos)[0];
  }
  get devMinor(): number {
    return this.table.device(this.pos)[1];
  }
  get xattrs(): Readonly<Record<string, Buffer>> {
    return this.table.xattrsOf(this.pos);
  }
  get digest(): string | undefined {
    return this.table.digest(this.pos);
  }
}
