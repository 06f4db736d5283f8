// EntryTable: a chunked layer's entries and chunk lists kept in typed arrays, for as long
// as an image stays mounted.
//
// Why: a mount server keeps every layer's index for its whole life, and as objects an
// entry cost about 420 bytes of heap (the LayerEntry, its path, its digest string, a
// ChunkRef, the array and the map slot holding them: measured on the python image's
// 8152 files), which was most of what a mounted file cost. Here an entry is ~70 bytes of
// columns plus its path in one shared string, a chunk ~70 bytes, digests as 32 raw bytes.
// LayerEntry and ChunkRef objects are made when asked for: `entry(pos)` gives a small view,
// `chunks(pos)` a fresh list each call; nothing here keeps either.
// The TOC readers fill an EntryTableBuilder as they parse, so the entries and chunk lists
// of a cold mount are never objects that outlive the parse (the garbage collector's work
// on the cold path is most of what a big TOC costs besides JSON.parse).

import { NO_XATTRS, type EntryType, type LayerEntry } from './layer-entry.js';
import type { ChunkEncoding, ChunkRef } from './layer-index.js';

const ENTRY_TYPES: readonly EntryType[] = ['reg', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
const ENCODINGS: readonly ChunkEncoding[] = ['none', 'gzip', 'zstd', 'zeros'];
const TYPE_CODE = Object.fromEntries(ENTRY_TYPES.map((t, i) => [t, i])) as Readonly<Record<EntryType, number>>;
const ENCODING_CODE = Object.fromEntries(ENCODINGS.map((e, i) => [e, i])) as Readonly<Record<ChunkEncoding, number>>;

const DIGEST_BYTES = 32;
const SHA256_PREFIX = 'sha256:';
const SHA256_LENGTH = SHA256_PREFIX.length + 2 * DIGEST_BYTES;
/** A builder's column used at least this much is kept rather than copied to its exact size. */
const KEEP_FILL = 0.9;
const NO_DEVICE: readonly [number, number] = Object.freeze([0, 0] as const);

/** A ChunkRef whose fields can be overwritten: one object reused to look at many chunks. */
export type ChunkProbe = { -readonly [K in keyof ChunkRef]: ChunkRef[K] };

/** A probe to pass to EntryTable.probeChunk (its fields are overwritten on each call). */
export function newChunkProbe(): ChunkProbe {
  return { fileOffset: 0, size: 0, blobOffset: 0, blobLength: 0, innerOffset: 0, encoding: 'none' };
}

/**
 * Raw sha256 digests in one array, with a flag per slot: absent or present. Digests come
 * here checked against SHA256_DIGEST (lowercase hex: the TOC readers test every one), so
 * hex in and hex out are the same string; set() refuses any other shape and the caller
 * keeps such a digest as a string.
 */
class DigestColumn {
  constructor(
    private readonly bytes: Buffer,
    private readonly present: Uint8Array,
  ) {}

  static withCapacity(count: number): DigestColumn {
    return new DigestColumn(Buffer.alloc(count * DIGEST_BYTES), new Uint8Array(count));
  }

  /** Stores `digest` when it has the shape of a sha256 digest; false when it cannot be stored here. */
  set(i: number, digest: string | undefined): boolean {
    if (digest === undefined) return true;
    if (digest.length !== SHA256_LENGTH || !digest.startsWith(SHA256_PREFIX)) return false;
    if (this.bytes.write(digest.slice(SHA256_PREFIX.length), i * DIGEST_BYTES, DIGEST_BYTES, 'hex') !== DIGEST_BYTES) return false;
    this.present[i] = 1;
    return true;
  }

  get(i: number): string | undefined {
    if (this.present[i] !== 1) return undefined;
    return SHA256_PREFIX + this.bytes.toString('hex', i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
  }

  /** The first `count` slots: this column when at least `keepFill` of it is used, else a copy. */
  trimmed(count: number, keepFill: number): DigestColumn {
    if (count >= this.present.length * keepFill) return this;
    return new DigestColumn(Buffer.from(this.bytes.subarray(0, count * DIGEST_BYTES)), this.present.slice(0, count));
  }
}

/** Strings laid end to end in one string: a slot costs 4 bytes of offset plus its characters. */
class StringColumn {
  private readonly ends: Uint32Array;
  private readonly text: string;

  constructor(values: readonly string[]) {
    this.ends = new Uint32Array(values.length);
    let end = 0;
    for (let i = 0; i < values.length; i++) {
      end += values[i]!.length;
      this.ends[i] = end;
    }
    this.text = values.join('');
  }

  get(i: number): string {
    return this.text.slice(i === 0 ? 0 : this.ends[i - 1], this.ends[i]);
  }
}

/** Whether `o` has an own key (without making the array of them: this runs for every entry). */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

/** The columns of a table, sized by the builder's capacities (build() trims those well short of full). */
interface Columns {
  readonly typeMode: Uint16Array; // type code << 12 | permission bits
  readonly uid: Uint32Array;
  readonly gid: Uint32Array;
  readonly size: Float64Array;
  readonly mtimeMs: Float64Array;
  readonly digests: DigestColumn;
  /** Entry i's chunks are chunk slots [chunkFirst[i], chunkFirst[i] + chunkCount[i]). */
  readonly chunkFirst: Uint32Array;
  readonly chunkCount: Uint32Array;
  readonly chunkFileOffset: Float64Array;
  readonly chunkSize: Float64Array;
  readonly chunkBlobOffset: Float64Array;
  readonly chunkBlobLength: Float64Array;
  readonly chunkInnerOffset: Float64Array;
  readonly chunkEncoding: Uint8Array;
  readonly chunkDigests: DigestColumn;
}

/** Rare fields, by position (devices, xattrs) or slot (digests that are not sha256-shaped). */
interface RareFields {
  readonly devices: Map<number, readonly [number, number]>;
  readonly xattrs: Map<number, Readonly<Record<string, Buffer>>>;
  readonly otherDigests: Map<number, string>;
  readonly otherChunkDigests: Map<number, string>;
}

/**
 * Fills a table as a TOC is read: `add` each entry in order, and say where its chunks are
 * with `setChunks`; chunk slots are written with `setChunk`, in any order (eStargz knows a
 * chunk's length only once it has seen the next one). Capacities are upper bounds (a TOC's
 * entry count bounds both); build() keeps only what was used.
 */
export class EntryTableBuilder {
  private count = 0;
  private hardlinks = 0;
  private chunkSlots = 0;
  private readonly names: string[] = [];
  private readonly linkNames: string[] = [];
  private readonly cols: Columns;
  private readonly rare: RareFields = { devices: new Map(), xattrs: new Map(), otherDigests: new Map(), otherChunkDigests: new Map() };

  constructor(entryCapacity: number, chunkCapacity: number) {
    this.cols = {
      typeMode: new Uint16Array(entryCapacity),
      uid: new Uint32Array(entryCapacity),
      gid: new Uint32Array(entryCapacity),
      size: new Float64Array(entryCapacity),
      mtimeMs: new Float64Array(entryCapacity),
      digests: DigestColumn.withCapacity(entryCapacity),
      chunkFirst: new Uint32Array(entryCapacity),
      chunkCount: new Uint32Array(entryCapacity),
      chunkFileOffset: new Float64Array(chunkCapacity),
      chunkSize: new Float64Array(chunkCapacity),
      chunkBlobOffset: new Float64Array(chunkCapacity),
      chunkBlobLength: new Float64Array(chunkCapacity),
      chunkInnerOffset: new Float64Array(chunkCapacity),
      chunkEncoding: new Uint8Array(chunkCapacity),
      chunkDigests: DigestColumn.withCapacity(chunkCapacity),
    };
  }

  /** Appends `e` (checked by the reader); returns its position. */
  add(e: LayerEntry): number {
    const i = this.count++;
    const c = this.cols;
    if (i >= c.typeMode.length) throw new RangeError(`entry table is full (${c.typeMode.length} entries)`);
    c.typeMode[i] = (TYPE_CODE[e.type] << 12) | (e.mode & 0o7777);
    if (e.type === 'hardlink') this.hardlinks++;
    c.uid[i] = e.uid;
    c.gid[i] = e.gid;
    c.size[i] = e.size;
    c.mtimeMs[i] = e.mtimeMs;
    this.names.push(e.name);
    this.linkNames.push(e.linkName);
    if (e.devMajor !== 0 || e.devMinor !== 0) this.rare.devices.set(i, [e.devMajor, e.devMinor]);
    if (hasKeys(e.xattrs)) this.rare.xattrs.set(i, e.xattrs);
    if (!c.digests.set(i, e.digest)) this.rare.otherDigests.set(i, e.digest!);
    return i;
  }

  /** Entry `pos`'s chunks are slots [first, first + count). */
  setChunks(pos: number, first: number, count: number): void {
    this.cols.chunkFirst[pos] = first;
    this.cols.chunkCount[pos] = count;
    this.chunkSlots = Math.max(this.chunkSlots, first + count);
  }

  setChunk(slot: number, c: ChunkRef): void {
    const cols = this.cols;
    if (slot >= cols.chunkSize.length) throw new RangeError(`entry table has no chunk slot ${slot} (${cols.chunkSize.length})`);
    cols.chunkFileOffset[slot] = c.fileOffset;
    cols.chunkSize[slot] = c.size;
    cols.chunkBlobOffset[slot] = c.blobOffset;
    cols.chunkBlobLength[slot] = c.blobLength;
    cols.chunkInnerOffset[slot] = c.innerOffset;
    cols.chunkEncoding[slot] = ENCODING_CODE[c.encoding];
    if (!cols.chunkDigests.set(slot, c.digest)) this.rare.otherChunkDigests.set(slot, c.digest!);
    this.chunkSlots = Math.max(this.chunkSlots, slot + 1);
  }

  build(): EntryTable {
    const n = this.count;
    const k = this.chunkSlots;
    const c = this.cols;
    // Columns nearly full are kept as they are (readers size them from a count of the TOC):
    // a copy would be made next to the original's garbage, and glibc keeps such holes.
    const fit = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(col: T, used: number): T =>
      (used >= col.length * KEEP_FILL ? col : col.slice(0, used)) as T;
    const exact: Columns = {
      typeMode: fit(c.typeMode, n),
      uid: fit(c.uid, n),
      gid: fit(c.gid, n),
      size: fit(c.size, n),
      mtimeMs: fit(c.mtimeMs, n),
      digests: c.digests.trimmed(n, KEEP_FILL),
      chunkFirst: fit(c.chunkFirst, n),
      chunkCount: fit(c.chunkCount, n),
      chunkFileOffset: fit(c.chunkFileOffset, k),
      chunkSize: fit(c.chunkSize, k),
      chunkBlobOffset: fit(c.chunkBlobOffset, k),
      chunkBlobLength: fit(c.chunkBlobLength, k),
      chunkInnerOffset: fit(c.chunkInnerOffset, k),
      chunkEncoding: fit(c.chunkEncoding, k),
      chunkDigests: c.chunkDigests.trimmed(k, KEEP_FILL),
    };
    return new EntryTable(n, this.hardlinks, exact, new StringColumn(this.names), new StringColumn(this.linkNames), this.rare);
  }
}

export class EntryTable {
  /**
   * Made by EntryTableBuilder.build() or EntryTable.of(). `cols` is read by TableEntry
   * directly (one call less per field on the cold path's tree build).
   */
  constructor(
    readonly length: number,
    /** How many entries are hardlinks (most layers: none, and nothing to resolve). */
    readonly hardlinkCount: number,
    readonly cols: Columns,
    private readonly names: StringColumn,
    private readonly linkNames: StringColumn,
    private readonly rare: RareFields,
  ) {}

  /** A table of `list`, with each entry's chunks as `chunksOf` gives them (tests, small indexes). */
  static of(list: readonly LayerEntry[], chunksOf: (entry: LayerEntry) => readonly ChunkRef[]): EntryTable {
    const lists = list.map((e) => chunksOf(e));
    const b = new EntryTableBuilder(list.length, lists.reduce((sum, l) => sum + l.length, 0));
    let slot = 0;
    list.forEach((e, i) => {
      b.add(e);
      b.setChunks(i, slot, lists[i]!.length);
      for (const c of lists[i]!) b.setChunk(slot++, c);
    });
    return b.build();
  }

  /** A LayerEntry view of position `pos` (reads the columns on each field access). */
  entry(pos: number): TableEntry {
    return new TableEntry(this, pos);
  }

  type(pos: number): EntryType {
    return ENTRY_TYPES[this.cols.typeMode[pos]! >> 12]!;
  }

  sizeOf(pos: number): number {
    return this.cols.size[pos]!;
  }

  name(pos: number): string {
    return this.names.get(pos);
  }

  linkName(pos: number): string {
    return this.linkNames.get(pos);
  }

  device(pos: number): readonly [number, number] {
    return this.rare.devices.get(pos) ?? NO_DEVICE;
  }

  xattrsOf(pos: number): Readonly<Record<string, Buffer>> {
    return this.rare.xattrs.get(pos) ?? NO_XATTRS;
  }

  digest(pos: number): string | undefined {
    return this.cols.digests.get(pos) ?? this.rare.otherDigests.get(pos);
  }

  chunkCount(pos: number): number {
    return this.cols.chunkCount[pos]!;
  }

  /**
   * Loads entry `pos`'s chunk `k` into `probe`, making no objects (checking every chunk of
   * a layer runs on the cold path). The digest is left undefined when it is kept as sha256
   * bytes, well-formed by construction, and set only when it is not: chunkProblem then
   * looks at exactly the digests that need a look.
   */
  probeChunk(pos: number, k: number, probe: ChunkProbe): ChunkProbe {
    const c = this.cols;
    const s = c.chunkFirst[pos]! + k;
    probe.fileOffset = c.chunkFileOffset[s]!;
    probe.size = c.chunkSize[s]!;
    probe.blobOffset = c.chunkBlobOffset[s]!;
    probe.blobLength = c.chunkBlobLength[s]!;
    probe.innerOffset = c.chunkInnerOffset[s]!;
    probe.encoding = ENCODINGS[c.chunkEncoding[s]!]!;
    probe.digest = this.rare.otherChunkDigests.get(s);
    return probe;
  }

  /** Entry `pos`'s chunks, as new objects sorted by fileOffset (as they were given). */
  chunks(pos: number): ChunkRef[] {
    const c = this.cols;
    const out: ChunkRef[] = [];
    for (let s = c.chunkFirst[pos]!, end = s + c.chunkCount[pos]!; s < end; s++) {
      const digest = c.chunkDigests.get(s) ?? this.rare.otherChunkDigests.get(s);
      const fields = {
        fileOffset: c.chunkFileOffset[s]!,
        size: c.chunkSize[s]!,
        blobOffset: c.chunkBlobOffset[s]!,
        blobLength: c.chunkBlobLength[s]!,
        innerOffset: c.chunkInnerOffset[s]!,
        encoding: ENCODINGS[c.chunkEncoding[s]!]!,
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
    return this.table.cols.size[this.pos]!;
  }
  get mode(): number {
    return this.table.cols.typeMode[this.pos]! & 0o7777;
  }
  get uid(): number {
    return this.table.cols.uid[this.pos]!;
  }
  get gid(): number {
    return this.table.cols.gid[this.pos]!;
  }
  get mtimeMs(): number {
    return this.table.cols.mtimeMs[this.pos]!;
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
