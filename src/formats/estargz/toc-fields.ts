// Checked readers for the fields of a CRFS-style TOC entry (eStargz `stargz.index.json`
// and the zstd:chunked manifest share the shape). A TOC comes from the blob, so every
// field is hostile until checked: numbers must be safe non-negative integers under a cap,
// digests well-formed, names clean. Failures are INVALID_ARGUMENT naming the entry.

import { invalidArgument } from '../../errors.js';
import { NO_XATTRS, type EntryType, type LayerEntry } from '../layer-entry.js';
import { LIMITS, SHA256_DIGEST } from '../layer-index.js';
import { cleanTarName } from '../tar/tar-name.js';

/** One TOC entry as parsed JSON (an object with unknown field values). */
export type RawTocEntry = Readonly<Record<string, unknown>>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// RFC 3339 as Go writes it (time.RFC3339 / RFC3339Nano): date, 'T', time, zone.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** RFC 3339 text -> ms of the times parsed lately (bounded). */
const parsedTimes = new Map<string, number>();
const MAX_PARSED_TIMES = 4096;

export const ENTRY_TYPES: readonly EntryType[] = ['reg', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];

/** Names one entry in errors: `<what> entry #i ("name")`. */
export function describeEntry(what: string, index: number, raw: RawTocEntry): string {
  const name = typeof raw.name === 'string' ? ` (${JSON.stringify(raw.name.slice(0, 200))})` : '';
  return `${what} entry #${index}${name}`;
}

export class TocFieldReader {
  private described: string | undefined;

  /** `what` and `index` name the entry in errors (built only when one is thrown: a TOC has 10^5 entries). */
  constructor(private readonly raw: RawTocEntry, private readonly what: string, private readonly index: number) {}

  get where(): string {
    return (this.described ??= describeEntry(this.what, this.index, this.raw));
  }

  fail(message: string): Error {
    return invalidArgument(`${this.where}: ${message}`);
  }

  /** An optional (omitempty) non-negative safe integer, at most `max`; absent is 0. */
  int(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw[field];
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw this.fail(`field ${field} is ${JSON.stringify(v)}, not a non-negative integer`);
    }
    if (v > max) throw this.fail(`field ${field} is ${v}, over the cap of ${max}`);
    return v;
  }

  string(field: string): string {
    const v = this.raw[field];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw this.fail(`field ${field} is not a string`);
    return v;
  }

  /** The entry's name, cleaned like a tar name (a `..` climbing out is rejected). */
  name(): string {
    const raw = this.raw.name;
    if (typeof raw !== 'string') throw this.fail('has no name');
    return cleanTarName(raw, () => this.where);
  }

  /** Optional `sha256:<hex>`; absent or empty is undefined. */
  digest(field: string): string | undefined {
    const v = this.string(field);
    if (v === '') return undefined;
    if (!SHA256_DIGEST.test(v)) throw this.fail(`field ${field} is ${JSON.stringify(v.slice(0, 100))}, not sha256:<64 hex>`);
    return v;
  }

  /**
   * `chunkDigest`, checked as digest() checks; when it equals the file's digest (checked
   * already) it is that very string: a one-chunk file's chunkDigest repeats its digest, and
   * one pattern test a file is saved on the cold path.
   */
  chunkDigest(fileDigest: string | undefined): string | undefined {
    const v = this.raw.chunkDigest;
    return v !== undefined && v === fileDigest ? fileDigest : this.digest('chunkDigest');
  }

  /** RFC 3339 time -> ms since the epoch; absent is 0. */
  time(field: string): number {
    const v = this.string(field);
    if (v === '') return 0;
    // Entries share few distinct modtimes (a package's files, a build's timestamp): each
    // is checked and parsed once.
    const known = parsedTimes.get(v);
    if (known !== undefined) return known;
    const ms = Date.parse(v);
    if (!RFC3339.test(v) || !Number.isFinite(ms)) throw this.fail(`field ${field} is ${JSON.stringify(v.slice(0, 100))}, not an RFC 3339 time`);
    if (parsedTimes.size >= MAX_PARSED_TIMES) parsedTimes.clear();
    parsedTimes.set(v, ms);
    return ms;
  }

  /** xattrs: an object of base64 strings -> raw bytes. */
  xattrs(): Readonly<Record<string, Buffer>> {
    const v = this.raw.xattrs;
    if (v === undefined || v === null) return NO_XATTRS;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.fail('field xattrs is not an object');
    const out: Record<string, Buffer> = {};
    let any = false;
    for (const [k, b64] of Object.entries(v as Record<string, unknown>)) {
      if (typeof b64 !== 'string' || b64.length % 4 !== 0 || !BASE64.test(b64)) {
        throw this.fail(`xattr ${JSON.stringify(k)} is not base64`);
      }
      out[k] = Buffer.from(b64, 'base64');
      any = true;
    }
    return any ? out : NO_XATTRS;
  }

  /** The entry type: one of ENTRY_TYPES or `chunk`. */
  type(): EntryType | 'chunk' {
    const v = this.raw.type;
    if (v === 'chunk' || (ENTRY_TYPES as readonly unknown[]).includes(v)) return v as EntryType | 'chunk';
    throw this.fail(`has unknown type ${JSON.stringify(v)}`);
  }
}

/** The TOC's top level: `{version: 1, entries: [...]}`, checked. */
export function tocEntriesOf(toc: unknown, what: string, maxEntries: number): readonly RawTocEntry[] {
  if (typeof toc !== 'object' || toc === null || Array.isArray(toc)) throw invalidArgument(`${what} is not a JSON object`);
  const { version, entries } = toc as { version?: unknown; entries?: unknown };
  if (version !== 1) throw invalidArgument(`${what} has version ${JSON.stringify(version)}, expected 1`);
  if (!Array.isArray(entries)) throw invalidArgument(`${what} has no entries array`);
  if (entries.length > maxEntries) throw invalidArgument(`${what} has ${entries.length} entries, over the cap of ${maxEntries}`);
  entries.forEach((e, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw invalidArgument(`${what} entry #${i} is not an object`);
  });
  return entries as RawTocEntry[];
}

/**
 * How many entries and chunk slots a TOC's entries can make at most: every non-chunk TOC
 * entry is one entry, and every chunk comes from a `chunk` entry or is a `reg` entry's
 * first. Sizes an EntryTableBuilder in one allocation (a guess would mean a copy).
 */
export function tocCapacities(raws: readonly RawTocEntry[]): { entries: number; chunks: number } {
  let entries = 0;
  let chunks = 0;
  for (const raw of raws) {
    const type = raw.type;
    if (type === 'chunk') {
      chunks++;
    } else {
      entries++;
      if (type === 'reg') chunks++;
    }
  }
  return { entries, chunks };
}

/**
 * The LayerEntry of a non-chunk TOC entry (eStargz and zstd:chunked share these fields):
 * every field checked, the name and a hardlink's target cleaned as tar names are.
 */
export function tocLayerEntry(f: TocFieldReader, type: EntryType): LayerEntry {
  const size = type === 'reg' ? f.int('size', LIMITS.maxFileBytes) : 0;
  const device = type === 'char' || type === 'block';
  const digest = type === 'reg' ? f.digest('digest') : undefined;
  return {
    name: f.name(),
    type,
    size,
    mode: f.int('mode') % 0o10000,
    uid: f.int('uid', 0xffffffff),
    gid: f.int('gid', 0xffffffff),
    mtimeMs: f.time('modtime'),
    linkName: type === 'symlink' ? f.string('linkName') : type === 'hardlink' ? hardlinkTarget(f) : '',
    devMajor: device ? f.int('devMajor', 0xffffffff) : 0,
    devMinor: device ? f.int('devMinor', 0xffffffff) : 0,
    xattrs: f.xattrs(),
    ...(digest ? { digest } : {}),
  };
}

function hardlinkTarget(f: TocFieldReader): string {
  const target = cleanTarName(f.string('linkName'), () => `hardlink target of ${f.where}`);
  if (target === '') throw f.fail('is a hardlink without a target');
  return target;
}
