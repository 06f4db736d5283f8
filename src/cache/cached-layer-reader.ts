// CachedLayerReader: file bytes of one layer through the chunk cache. It finds the
// chunks covering a read (index.chunks), serves what the store has, and fetches the rest
// from the blob with few, bounded Range requests:
//   - a miss that another read (or prefetch) is already fetching joins that fetch;
//   - misses close together in the blob are coalesced into one request;
//   - a request grows into the following chunks of the blob (read-ahead, usually the
//     next small files of the layer), which get cached too;
//   - every chunk is decoded, sliced, verified against its digest (a mismatch is
//     DIGEST_MISMATCH: never served, never cached) and stored.
// prefetch() walks the blob in order with the same machinery at lower priority.
//
// Aborting: a read's signal stops that read at once. The fetch it started goes on while
// another read or prefetch waits on it; when nobody waits any more it is aborted. close()
// aborts everything and refuses later calls.

import { failedPrecondition, internal, invalidArgument, unavailable } from '../errors.js';
import type { LayerEntry } from '../formats/layer-entry.js';
import type { ChunkRef, LayerIndex } from '../formats/layer-index.js';
import { chunkProblem, LIMITS } from '../formats/layer-index.js';
import { checkRange, type ArrivedBytes, type RangeReader } from '../formats/range-reader.js';
import { BlobOrder, type KeyedChunk } from './blob-order.js';
import { chunkKey, decodeAndVerify, describeChunk } from './chunk-key.js';
import type { ChunkStore } from './chunk-store.js';
import { FetchLimiter, type FetchPriority } from './fetch-limiter.js';
import type { ReadCounters } from './read-counters.js';
import { planRequests, type PlannedRequest, type PlanLimits } from './request-planner.js';

export interface CachedLayerReaderOptions {
  /** Cap of one coalesced Range request (a single larger chunk is fetched alone). */
  maxRequestBytes?: number;
  /** How far a request may grow into the chunks that follow it in the blob. 0 disables. */
  readAheadBytes?: number;
  /** Range requests in flight at once for this layer. */
  maxConcurrentFetches?: number;
  /** Misses at most this far apart are fetched with one request (the gap bytes are wasted). */
  coalesceGapBytes?: number;
}

export interface CachedLayerReaderInit {
  readonly index: LayerIndex;
  /** The blob the chunks' blobOffsets point into. */
  readonly reader: RangeReader;
  /**
   * Names the blob in cache keys and messages: its digest. Keys are the chunk's digest
   * when it has one (shared across layers), else `${keyPrefix}:${blobOffset}:${innerOffset}:${size}`
   * (see chunk-key.ts).
   */
  readonly keyPrefix: string;
  readonly store: ChunkStore;
  readonly counters: ReadCounters;
  readonly options?: CachedLayerReaderOptions;
}

export interface PrefetchOptions {
  /**
   * Fetch now, decode later: the fetched chunks are decoded and stored once this settles
   * (or when a read asks for one of them). A mount fetches its landmark files while it is
   * still building its tree and mounting, and keeps the JS thread for that work.
   */
  decodeAfter?: Promise<void>;
}

export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_READ_AHEAD_BYTES = 256 * 1024;
export const DEFAULT_MAX_CONCURRENT_FETCHES = 4;
export const DEFAULT_COALESCE_GAP_BYTES = 16 * 1024;
/** Longest stretch of decoding a fetched request without letting other callbacks run. */
const DECODE_SLICE_MS = 2;
/**
 * How long a reader must have had no read and started no fetch before the read-ahead
 * chunks nobody asked for are decoded and stored. Decoding and storing them as they came
 * (hundreds of small files in a 256 KiB read-ahead) took the JS thread from the reads
 * waiting behind them: measured on ctr-remote's eStargz of the python image (no landmark,
 * every file on demand), `import json` took 630-1000 ms with 256 KiB of read-ahead and
 * 350-420 ms without any; read-ahead still saves round trips on slow links. Held like
 * this: 700 -> 346 ms (median of 6), with the same requests and bytes. A second, not
 * less: the work must not land in the next burst either (at 250 ms, a warm zstd:chunked
 * `import json` right after the cold one paid for decoding the cold one's read-ahead:
 * 295 against 37 ms).
 */
export const READ_AHEAD_QUIET_MS = 1000;
/** Fetched bytes held for read-ahead not yet decoded; past it the oldest are decoded at once. */
export const READ_AHEAD_HELD_BYTES = 16 * 1024 * 1024;

/** Largest single read: the output buffer is allocated whole. FUSE asks for <= 1 MiB. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

/** One Range request under way, and who still wants it. */
class FetchGroup {
  readonly controller = new AbortController();
  waiters = 0;
  done = false;
  /**
   * A load wants one chunk of the request. Once all the bytes are here: decoded now, out of
   * blob order, if still waiting for its turn. Before: noted (asked), and for a demand read
   * decoded as soon as its bytes have come, the rest of the request still on its way.
   */
  ask: (key: string, demand: boolean) => void = () => {};
  /** Chunks demand reads asked for before the bytes came: decoded first. */
  readonly urgent = new Set<string>();
  /**
   * Chunks any load (demand or prefetch) asked for before the bytes came. The others are a
   * demand request's read-ahead: decoded when first asked for, or once the reader is quiet.
   */
  readonly asked = new Set<string>();
  constructor(readonly request: PlannedRequest) {}
}

interface InFlight {
  readonly promise: Promise<Buffer>;
  readonly group: FetchGroup;
}

export class CachedLayerReader {
  private readonly index: LayerIndex;
  private readonly reader: RangeReader;
  private readonly keyPrefix: string;
  private readonly store: ChunkStore;
  private readonly counters: ReadCounters;
  private readonly limits: PlanLimits;
  private readonly limiter: FetchLimiter;
  private readonly blobOrder: BlobOrder;
  private readonly inflight = new Map<string, InFlight>();
  private readonly closer = new AbortController();
  /** Chunks stored by this reader's fetches so far (lets a load notice it raced one). */
  private storedCount = 0;
  /** Fetches whose read-ahead chunks wait to be decoded (oldest first), and the bytes each holds. */
  private readonly heldReadAhead = new Map<FetchGroup, { bytes: number; decodeRest: () => Promise<void> }>();
  private heldBytes = 0;
  private quietTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last read or fetch: what "quiet" is measured from. */
  private lastActivity = 0;

  constructor(init: CachedLayerReaderInit) {
    const o = init.options ?? {};
    const maxRequestBytes = o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    // Requests are bounded by maxRequestBytes anyway; defaults shrink with it.
    const readAheadBytes = o.readAheadBytes ?? Math.min(DEFAULT_READ_AHEAD_BYTES, maxRequestBytes);
    const gapBytes = o.coalesceGapBytes ?? Math.min(DEFAULT_COALESCE_GAP_BYTES, maxRequestBytes);
    checkOption('maxRequestBytes', maxRequestBytes, 1, LIMITS.maxChunkBytes);
    checkOption('readAheadBytes', readAheadBytes, 0, LIMITS.maxChunkBytes);
    checkOption('coalesceGapBytes', gapBytes, 0, LIMITS.maxChunkBytes);
    if (!Number.isSafeInteger(init.reader.size) || init.reader.size < 0) {
      throw invalidArgument(`blob ${init.keyPrefix} has an invalid size ${init.reader.size}`);
    }
    this.index = init.index;
    this.reader = init.reader;
    this.keyPrefix = init.keyPrefix;
    this.store = init.store;
    this.counters = init.counters;
    this.limits = { maxRequestBytes, readAheadBytes, gapBytes };
    this.limiter = new FetchLimiter(o.maxConcurrentFetches ?? DEFAULT_MAX_CONCURRENT_FETCHES);
    this.blobOrder = new BlobOrder(init.index, (c) => this.keyOf(c),
      (c) => c.encoding !== 'zeros' && chunkProblem(c, this.reader.size) === undefined);
  }

  /**
   * Up to `length` bytes of `entry` at `fileOffset`; fewer at the end of the file (none
   * at or past it), like pread. `entry` is an object of index.entries().
   */
  async read(entry: LayerEntry, fileOffset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    this.checkOpen();
    if (!Number.isSafeInteger(fileOffset) || !Number.isSafeInteger(length) || fileOffset < 0 || length < 0) {
      throw invalidArgument(`read of ${entry.name}: offset ${fileOffset} and length ${length} must be non-negative integers`);
    }
    if (length > MAX_READ_BYTES) throw invalidArgument(`read of ${entry.name}: ${length} bytes is more than ${MAX_READ_BYTES} at once`);
    if (fileOffset >= entry.size || length === 0) return Buffer.alloc(0);
    this.lastActivity = performance.now();
    const end = Math.min(entry.size, fileOffset + length);
    if (signal?.aborted) throw unavailable(`read of ${entry.name}: aborted`, signal.reason);

    const covering = this.covering(entry, fileOffset, end);
    const data = await this.load(covering, 'demand', signal, `read of ${entry.name}`);
    const out = Buffer.allocUnsafe(end - fileOffset);
    for (let i = 0; i < covering.length; i++) {
      const c = covering[i]!;
      const from = Math.max(fileOffset, c.fileOffset);
      const to = Math.min(end, c.fileOffset + c.size);
      if (c.encoding === 'zeros') {
        out.fill(0, from - fileOffset, to - fileOffset);
        continue;
      }
      const d = data.get(this.keyOf(c));
      if (!d || d.length !== c.size) {
        throw internal(`${describeChunk(this.keyPrefix, c)}: got ${d?.length ?? 'no'} bytes from the cache, expected ${c.size}`);
      }
      d.copy(out, from - fileOffset, from - c.fileOffset, to - c.fileOffset);
    }
    return out;
  }

  /**
   * Fetches (into the store) every chunk that intersects a blob range, or all of them,
   * in blob order, one bounded request at a time behind on-demand reads. Chunks already
   * cached are skipped; chunks being fetched are waited for, not fetched again.
   */
  async prefetch(range: { blobOffset: number; blobLength: number } | 'all', signal?: AbortSignal, opts: PrefetchOptions = {}): Promise<void> {
    this.checkOpen();
    let lo = 0;
    let hi = Number.MAX_SAFE_INTEGER;
    if (range !== 'all') {
      checkRange(range.blobOffset, range.blobLength, Number.MAX_SAFE_INTEGER, `prefetch range of ${this.keyPrefix}`);
      lo = range.blobOffset;
      hi = range.blobOffset + range.blobLength;
    }
    const order = this.blobOrder;
    const wanted: number[] = []; // positions in blob order
    for (let i = 0; i < order.length && order.blobOffsetAt(i) < hi; i++) if (order.blobEndAt(i) > lo) wanted.push(i);
    const what = `prefetch of ${this.keyPrefix}`;
    let i = 0;
    while (i < wanted.length) {
      this.checkOpen();
      if (signal?.aborted) throw unavailable(`${what}: aborted`, signal.reason);
      // One request's worth of chunks at a time keeps the cache checks and memory bounded.
      const start = order.blobOffsetAt(wanted[i]!);
      let j = i + 1;
      while (j < wanted.length && order.blobEndAt(wanted[j]!) - start <= this.limits.maxRequestBytes) j++;
      await this.load(wanted.slice(i, j).map((w) => order.at(w).chunk), 'prefetch', signal, what, opts.decodeAfter);
      i = j;
    }
  }

  /** Aborts fetches under way; later calls fail with FAILED_PRECONDITION. Idempotent. */
  async close(): Promise<void> {
    if (this.closer.signal.aborted) return;
    this.closer.abort(failedPrecondition(`layer reader of ${this.keyPrefix} closed`));
    for (const f of this.inflight.values()) f.group.controller.abort();
    this.inflight.clear();
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    this.heldReadAhead.clear();
    this.heldBytes = 0;
  }

  private keyOf(c: ChunkRef): string {
    return chunkKey(this.keyPrefix, c);
  }

  /** The chunks covering [from, to) of entry, checked to cover it without gaps. */
  private covering(entry: LayerEntry, from: number, to: number): ChunkRef[] {
    const chunks = this.index.chunks(entry);
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      if (c.fileOffset + c.size <= from) lo = mid + 1;
      else hi = mid;
    }
    const out: ChunkRef[] = [];
    let pos = from;
    for (let i = lo; i < chunks.length && pos < to; i++) {
      const c = chunks[i]!;
      const problem = chunkProblem(c, this.reader.size);
      if (problem) throw invalidArgument(`${describeChunk(this.keyPrefix, c)} (file ${entry.name}) ${problem}`);
      if (c.fileOffset > pos || c.fileOffset + c.size <= pos) break;
      out.push(c);
      pos = c.fileOffset + c.size;
    }
    if (pos < to) {
      throw invalidArgument(`index of ${this.keyPrefix}: the chunks of ${entry.name} do not cover bytes ${pos}..${to}`);
    }
    return out;
  }

  /**
   * The content of the chunks, by key (zeros have none), from the store, from fetches
   * under way or from new ones. Demand loads count hits and misses; prefetch loads only
   * ask the store whether it has a chunk, and return nothing useful.
   */
  private async load(chunks: readonly ChunkRef[], priority: FetchPriority, signal: AbortSignal | undefined,
    what: string, decodeAfter?: Promise<void>): Promise<Map<string, Buffer>> {
    const demand = priority === 'demand';
    const found = new Map<string, Buffer>();
    const waits = new Map<string, Promise<Buffer>>();
    const joined = new Set<FetchGroup>();
    /** Keys whose bytes had already come when joined (read ahead, or fetched just before): hits. */
    const alreadyHere = new Set<string>();
    // Joining a fetch under way at once keeps it from being aborted for lack of readers.
    const join = (key: string): boolean => {
      const f = this.inflight.get(key);
      if (!f) return false;
      if (f.group.done) alreadyHere.add(key);
      f.group.ask(key, demand);
      waits.set(key, f.promise);
      if (!joined.has(f.group)) {
        joined.add(f.group);
        f.group.waiters++;
      }
      return true;
    };
    let todo: KeyedChunk[] = [];
    const seen = new Set<string>();
    let wanted = 0;
    for (const chunk of chunks) {
      if (chunk.encoding === 'zeros') continue;
      wanted++;
      const key = this.keyOf(chunk);
      if (seen.has(key)) continue;
      seen.add(key);
      todo.push({ chunk, key });
    }
    try {
      for (let attempt = 0; ; attempt++) {
        todo = todo.filter((k) => !join(k.key));
        if (todo.length === 0) break;
        const generation = this.storedCount;
        const got = await Promise.all(todo.map((k) =>
          demand ? this.store.get(k.key) : this.store.has(k.key).then((h) => (h ? EMPTY : undefined))));
        todo = todo.filter((k, i) => {
          const g = got[i];
          if (g) found.set(k.key, g);
          return !g;
        });
        const ahead = demand && todo.length > 0 ? await this.readAheadState(todo) : undefined;
        this.checkOpen();
        todo = todo.filter((k) => !join(k.key));
        // A fetch stored chunks while we were asking the store: ask again rather than
        // fetch twice (bounded: after a few rounds, fetching is cheaper than looking).
        if (this.storedCount !== generation && todo.length > 0 && attempt < 3) continue;
        // Synchronous from here: plan, register and join the new fetches in one step.
        const todoKeys = new Set(todo.map((k) => k.key));
        const canTake = (k: KeyedChunk) => !!ahead && ahead.checked.has(k.key) && !ahead.unavailable.has(k.key) &&
          !todoKeys.has(k.key) && !this.inflight.has(k.key);
        const following = ahead ? (off: number) => this.following(off) : undefined;
        todo.sort((a, b) => a.chunk.blobOffset - b.chunk.blobOffset);
        for (const request of planRequests(todo, this.limits, following, canTake)) {
          this.start(request, priority, decodeAfter);
          for (const k of request.chunks) if (todoKeys.has(k.key)) join(k.key);
        }
        break;
      }
      if (demand) {
        // Per chunk asked for: a hit came from the store or from bytes already here (read
        // ahead), a miss from a fetch (new or shared).
        const hits = chunks.reduce((n, c) => {
          if (c.encoding === 'zeros') return n;
          const key = this.keyOf(c);
          return n + (found.has(key) || alreadyHere.has(key) ? 1 : 0);
        }, 0);
        if (hits > 0) this.counters.addHits(hits);
        if (wanted - hits > 0) this.counters.addMisses(wanted - hits);
      }
      const entries = await raceSignal(Promise.all([...waits].map(async ([k, p]) => [k, await p] as const)), signal, what);
      for (const [k, b] of entries) found.set(k, b);
      return found;
    } finally {
      for (const g of joined) this.leave(g);
    }
  }

  /**
   * The chunks read-ahead could take after the misses (up to readAheadBytes after each),
   * asked of the store before planning so that planning itself needs no await.
   * `unavailable`: cached, or being fetched now (soon cached): read-ahead stops there.
   */
  private async readAheadState(misses: readonly KeyedChunk[]): Promise<{ checked: Set<string>; unavailable: Set<string> }> {
    const checked = new Set<string>();
    const unavailable = new Set<string>();
    if (this.limits.readAheadBytes === 0) return { checked, unavailable };
    const missKeys = new Set(misses.map((m) => m.key));
    for (const m of misses) {
      let budget = this.limits.readAheadBytes;
      for (const k of this.following(m.chunk.blobOffset + m.chunk.blobLength)) {
        if (missKeys.has(k.key) || k.chunk.blobLength > budget) break;
        budget -= k.chunk.blobLength;
        checked.add(k.key);
        if (this.inflight.has(k.key)) unavailable.add(k.key);
      }
    }
    const list = [...checked].filter((k) => !unavailable.has(k));
    const has = await Promise.all(list.map((k) => this.store.has(k)));
    list.forEach((k, i) => has[i] && unavailable.add(k));
    return { checked, unavailable };
  }

  private *following(blobOffset: number): Iterable<KeyedChunk> {
    const order = this.blobOrder;
    for (let i = order.firstAtOrAfter(blobOffset); i < order.length; i++) yield order.at(i);
  }

  /** Registers every chunk of a request as in flight and queues the fetch. */
  private start(request: PlannedRequest, priority: FetchPriority, decodeAfter?: Promise<void>): FetchGroup {
    const group = new FetchGroup(request);
    this.lastActivity = performance.now();
    const settle = new Map<string, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
    for (const k of request.chunks) {
      const promise = new Promise<Buffer>((resolve, reject) => settle.set(k.key, { resolve, reject }));
      promise.catch(() => {}); // read-ahead chunks may have no reader to see a failure
      this.inflight.set(k.key, { promise, group });
    }
    const signal = AbortSignal.any([group.controller.signal, this.closer.signal]);
    const forget = (key: string) => {
      if (this.inflight.get(key)?.group === group) this.inflight.delete(key);
    };
    const waiting = new Map(request.chunks.map((k) => [k.key, k]));
    /** The request's bytes so far: a prefix while they come (readAt's `arrived`), then all. */
    let bytes: Buffer = EMPTY;
    const here = (c: ChunkRef) => c.blobOffset - request.start + c.blobLength <= bytes.length;
    const decode = (k: KeyedChunk): void => {
      waiting.delete(k.key);
      const s = settle.get(k.key)!;
      let data: Buffer;
      try {
        const c = k.chunk;
        data = decodeAndVerify(this.keyPrefix, c, bytes.subarray(c.blobOffset - request.start, c.blobOffset - request.start + c.blobLength));
      } catch (err) {
        forget(k.key); // never cached: the next read fetches again
        s.reject(err);
        return;
      }
      s.resolve(data);
      // Stay "in flight" until stored, so nobody refetches in between. A store that
      // fails to keep it only costs a later refetch.
      this.store.set(k.key, data).catch(() => {}).finally(() => {
        this.storedCount++;
        forget(k.key);
      });
    };
    group.ask = (key, demand) => {
      const k = waiting.get(key);
      if (!k) return;
      if (group.done) {
        decode(k);
        if (waiting.size === 0) this.release(group);
        return;
      }
      group.asked.add(key);
      if (!demand) return;
      if (here(k.chunk)) decode(k);
      else group.urgent.add(key);
    };
    // In a prefetch, a demand read's chunk is decoded as soon as its bytes are in: through a
    // slow link the first files of a 4 MiB prefetch are read while the rest is still coming.
    // Not in a demand fetch (its chunk and <= 256 KiB of read-ahead): measured on the
    // ctr-remote image, on-demand import json took 40-60 ms longer with it.
    const arrived = (prefix: Buffer) => {
      bytes = prefix;
      for (const key of group.urgent) {
        const k = waiting.get(key);
        if (k && here(k.chunk)) decode(k);
      }
    };
    void this.limiter.run(priority, () => this.fetch(request, signal, priority === 'prefetch' ? arrived : undefined), signal).then(
      async (raw) => {
        group.done = true;
        arrived(raw); // all of it: every urgent chunk is here now
        // Asked-for chunks are decoded meanwhile (ask: the group is done); a close ends the
        // wait (the gate's own outcome does not matter).
        if (decodeAfter) {
          try {
            await raceSignal(decodeAfter.catch(() => {}), signal, `fetch of ${this.keyPrefix} at ${request.start}`);
          } catch (err) {
            for (const k of waiting.values()) {
              forget(k.key);
              settle.get(k.key)!.reject(err);
            }
            waiting.clear();
            return;
          }
        }
        // Decoding a 4 MiB request of small files takes tens of milliseconds: in slices,
        // yielding between them, so that FUSE callbacks are answered meanwhile and a read
        // that needs a later chunk has it decoded first (ask).
        const decodeSliced = async (which: (key: string) => boolean): Promise<void> => {
          let slice = performance.now();
          for (const k of request.chunks) {
            if (!waiting.has(k.key) || !which(k.key)) continue;
            if (performance.now() - slice > DECODE_SLICE_MS) {
              await new Promise<void>((r) => setImmediate(r));
              slice = performance.now();
              if (!waiting.has(k.key)) continue;
            }
            decode(k);
          }
        };
        // What a load asked for now; a demand request's read-ahead when asked for or quiet.
        await decodeSliced(priority === 'demand' ? (key) => group.asked.has(key) : () => true);
        if (waiting.size > 0) this.hold(group, raw.length, () => decodeSliced(() => true));
      },
      (err) => {
        group.done = true;
        waiting.clear(); // chunks decoded from bytes that had come stay good; the rest fail
        for (const k of request.chunks) {
          forget(k.key);
          settle.get(k.key)!.reject(err);
        }
      },
    );
    return group;
  }

  /** Holds a fetch's undecoded read-ahead until the reader is quiet (or too much is held). */
  private hold(group: FetchGroup, bytes: number, decodeRest: () => Promise<void>): void {
    if (this.closer.signal.aborted) return;
    this.heldReadAhead.set(group, { bytes, decodeRest });
    this.heldBytes += bytes;
    for (const [oldest] of this.heldReadAhead) {
      if (this.heldBytes <= READ_AHEAD_HELD_BYTES) break;
      this.decodeHeld(oldest);
    }
    this.armQuietTimer();
  }

  /** Forgets a held fetch (all its chunks decoded). */
  private release(group: FetchGroup): void {
    const held = this.heldReadAhead.get(group);
    if (!held) return;
    this.heldReadAhead.delete(group);
    this.heldBytes -= held.bytes;
  }

  private decodeHeld(group: FetchGroup): void {
    const held = this.heldReadAhead.get(group);
    if (!held) return;
    this.release(group);
    void held.decodeRest();
  }

  /** Waits for quiet (no read, no new fetch for READ_AHEAD_QUIET_MS), then decodes what is held. */
  private armQuietTimer(wait = READ_AHEAD_QUIET_MS): void {
    if (this.quietTimer || this.heldReadAhead.size === 0) return;
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      const quietFor = performance.now() - this.lastActivity;
      if (quietFor < READ_AHEAD_QUIET_MS) return this.armQuietTimer(READ_AHEAD_QUIET_MS - quietFor);
      for (const group of [...this.heldReadAhead.keys()]) this.decodeHeld(group);
    }, wait);
    this.quietTimer.unref();
  }

  private async fetch(request: PlannedRequest, signal: AbortSignal, arrived: ArrivedBytes | undefined): Promise<Buffer> {
    const length = request.end - request.start;
    const raw = await this.reader.readAt(request.start, length, signal, arrived);
    // A reader that ignores the signal must not make an aborted fetch look successful.
    if (signal.aborted) throw unavailable(`fetch of ${this.keyPrefix} at ${request.start}: aborted`, signal.reason);
    if (raw.length !== length) {
      throw unavailable(`blob ${this.keyPrefix}: asked for ${length} bytes at ${request.start}, got ${raw.length}`);
    }
    this.counters.addRequest(length);
    return raw;
  }

  /** A waiter is gone; a fetch nobody waits for any more is aborted (and forgotten). */
  private leave(group: FetchGroup): void {
    group.waiters--;
    if (group.waiters > 0 || group.done) return;
    for (const k of group.request.chunks) {
      if (this.inflight.get(k.key)?.group === group) this.inflight.delete(k.key);
    }
    group.controller.abort(unavailable(`fetch of ${this.keyPrefix} at ${group.request.start}: no reader left`));
  }

  private checkOpen(): void {
    if (this.closer.signal.aborted) throw failedPrecondition(`layer reader of ${this.keyPrefix} is closed`);
  }
}

/** Marks "in the store" for prefetch, which asks has() instead of get(). */
const EMPTY = Buffer.alloc(0);

function checkOption(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** p, or an UNAVAILABLE rejection as soon as signal aborts (p goes on for others). */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(unavailable(`${what}: aborted`, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(unavailable(`${what}: aborted`, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
