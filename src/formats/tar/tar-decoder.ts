// Turns header blocks and metadata records (PAX `x`/`g`, GNU `L`/`K`) into LayerEntries.
// Holds the state that spans headers: global PAX records, and the pending local PAX
// record or GNU long name/link that applies to the next real entry.

import { invalidArgument } from '../../errors.js';
import { NO_XATTRS, type EntryType, type LayerEntry } from '../layer-entry.js';
import { LIMITS } from '../layer-index.js';
import { parsePaxRecords, type PaxRecords } from './pax.js';
import type { RawHeader } from './tar-header.js';
import { cleanTarName } from './tar-name.js';

export type MetaFlag = 'x' | 'g' | 'L' | 'K';

export type HeaderStep =
  /** A metadata record of `size` bytes follows; pass it to onMeta. */
  | { readonly kind: 'meta'; readonly flag: MetaFlag; readonly size: number }
  /** A real entry; `payloadSize` bytes of content follow (0 for header-only types). */
  | { readonly kind: 'entry'; readonly entry: LayerEntry; readonly payloadSize: number; readonly uname: string; readonly gname: string }
  /** An entry type lazysnap does not represent (volume label, ...): skipped with a warning. */
  | { readonly kind: 'skip'; readonly payloadSize: number };

export interface TarParseOptions {
  /** Recoverable oddities (skipped entry types, ...). Default: ignored. */
  onWarning?(message: string): void;
  /** Cap on one PAX/GNU metadata record; default LIMITS.maxMetaEntryBytes. */
  maxMetaEntryBytes?: number;
  /** Cap on the number of entries; default LIMITS.maxEntries. */
  maxEntries?: number;
}

const XATTR_PREFIX = 'SCHILY.xattr.';

const TYPES: Readonly<Record<string, EntryType>> = {
  '0': 'reg', '\0': 'reg', '7': 'reg', '1': 'hardlink', '2': 'symlink',
  '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
  'D': 'dir', // GNU dumpdir: a directory whose payload lists its contents (skipped)
};

export class TarHeaderDecoder {
  private readonly global: PaxRecords = new Map();
  private local: PaxRecords | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  constructor(private readonly opts: TarParseOptions = {}) {}

  onHeader(raw: RawHeader, offset: number): HeaderStep {
    const flag = raw.typeflag;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') return { kind: 'meta', flag, size: raw.size };
    const pax = this.local ? new Map([...this.global, ...this.local]) : this.global;
    const where = `tar entry at offset ${offset}`;
    if (flag === 'S' || pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size')) {
      throw invalidArgument(`${where} (${JSON.stringify(raw.name)}) is a GNU sparse file, which lazysnap does not support`);
    }
    let type = TYPES[flag];
    const rawName = paxString(pax, 'path') ?? this.longName ?? raw.name;
    this.local = undefined;
    const longLink = this.longLink;
    this.longName = this.longLink = undefined;
    if (type === undefined) {
      this.opts.onWarning?.(`${where}: skipped entry ${JSON.stringify(rawName)} of unsupported type ${JSON.stringify(flag)}`);
      return { kind: 'skip', payloadSize: checkSize(raw.size, where) };
    }
    // Old (v7) writers mark directories with a trailing slash and typeflag NUL.
    if (flag === '\0' && rawName.endsWith('/')) type = 'dir';
    const size = checkSize(paxNumber(pax, 'size', where) ?? raw.size, where);
    const name = cleanTarName(rawName, where);
    const rawLink = paxString(pax, 'linkpath') ?? longLink ?? raw.linkName;
    const entry: LayerEntry = {
      name,
      type,
      size: type === 'reg' ? size : 0,
      mode: raw.mode,
      uid: paxNumber(pax, 'uid', where) ?? raw.uid,
      gid: paxNumber(pax, 'gid', where) ?? raw.gid,
      mtimeMs: paxTime(pax, where) ?? raw.mtime * 1000,
      linkName: type === 'hardlink' ? cleanTarName(rawLink, `hardlink target of ${where}`) : type === 'symlink' ? rawLink : '',
      devMajor: type === 'char' || type === 'block' ? raw.devMajor : 0,
      devMinor: type === 'char' || type === 'block' ? raw.devMinor : 0,
      xattrs: xattrsOf(pax),
    };
    // Like Go's archive/tar, link, device, fifo and directory headers carry no payload
    // whatever their size field says; GNU dumpdirs do (a listing we skip).
    const payloadSize = type === 'reg' || flag === 'D' ? size : 0;
    return { kind: 'entry', entry, payloadSize, uname: paxString(pax, 'uname') ?? raw.uname, gname: paxString(pax, 'gname') ?? raw.gname };
  }

  /** Applies a metadata record (its payload without padding). */
  onMeta(flag: MetaFlag, data: Buffer, offset: number): void {
    const where = `tar offset ${offset}`;
    switch (flag) {
      case 'x':
        this.local = parsePaxRecords(data, where);
        break;
      case 'g':
        for (const [k, v] of parsePaxRecords(data, where)) this.global.set(k, v);
        break;
      case 'L':
        this.longName = nulTerminated(data);
        break;
      case 'K':
        this.longLink = nulTerminated(data);
        break;
    }
  }
}

function checkSize(size: number, where: string): number {
  if (!Number.isSafeInteger(size) || size < 0 || size > LIMITS.maxFileBytes) {
    throw invalidArgument(`${where} claims an absurd size (${size} bytes, cap ${LIMITS.maxFileBytes})`);
  }
  return size;
}

function nulTerminated(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul >= 0 ? nul : data.length);
}

function paxString(pax: PaxRecords, key: string): string | undefined {
  const v = pax.get(key);
  return v === undefined ? undefined : v.toString('utf8');
}

function paxNumber(pax: PaxRecords, key: string, where: string): number | undefined {
  const text = paxString(pax, key);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n)) throw invalidArgument(`${where} has a bad PAX ${key}: ${JSON.stringify(text)}`);
  return n;
}

/** PAX mtime: decimal seconds, possibly negative, possibly with a fraction. */
function paxTime(pax: PaxRecords, where: string): number | undefined {
  const text = paxString(pax, 'mtime');
  if (text === undefined) return undefined;
  const ms = Number(text) * 1000;
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(text) || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw invalidArgument(`${where} has a bad PAX mtime: ${JSON.stringify(text)}`);
  }
  return ms;
}

function xattrsOf(pax: PaxRecords): Readonly<Record<string, Buffer>> {
  let out: Record<string, Buffer> | undefined;
  for (const [k, v] of pax) {
    if (!k.startsWith(XATTR_PREFIX) || k.length === XATTR_PREFIX.length) continue;
    out ??= {};
    out[k.slice(XATTR_PREFIX.length)] = v;
  }
  return out ?? NO_XATTRS;
}
