// What went over the wire, per blob: the bench proxy hands every byte it forwards to a
// WireLog, which follows the HTTP/1.1 exchanges on each connection (requests up, responses
// down, in order) and records which byte ranges of which blob each response body carried.
// From that: wire bytes, blob body bytes, the distinct blob bytes (union of the ranges) and
// the bytes fetched twice (sum minus union) - the same yardstick for lazysnap, the peer and
// the full-pull baselines, whatever each one's own counters mean.
//
// Only what a registry client does is understood: GET/HEAD requests, Content-Length or
// close-delimited bodies. A chunked body makes that connection "opaque" (still counted on
// the wire, no longer attributed to blobs); `opaqueConnections` says so in the figures.

export interface WireFigures {
  /** Bytes server -> client (headers and bodies: what the link carried). */
  wireDownBytes: number;
  /** Body bytes of blob GET responses (layers and config). */
  blobBytes: number;
  /** Of those, distinct bytes: the union of the ranges per blob. */
  distinctBlobBytes: number;
  /** blobBytes - distinctBlobBytes: bytes of a blob that came more than once. */
  duplicateBytes: number;
  blobRequests: number;
  /** Blob body bytes per digest (distinct). */
  perBlob: Record<string, number>;
  opaqueConnections: number;
}

interface Interval {
  digest: string;
  start: number;
  end: number;
}

interface Pending {
  method: string;
  digest?: string;
}

const BLOB_PATH = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})(?:\?|$)/;
const MAX_HEAD = 64 * 1024;

function headersOf(head: string): { first: string; h: Map<string, string> } {
  const lines = head.split('\r\n');
  const h = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) h.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  return { first: lines[0] ?? '', h };
}

/** One direction's framing: a header block, then a body of known length (or to the end). */
class Framer {
  private head = Buffer.alloc(0);
  private bodyLeft = 0; // bytes of the current body still to come; -1: until the end
  opaque = false;

  constructor(
    private readonly onHead: (head: string) => { bodyLength: number } | 'opaque',
    private readonly onBody: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    while (chunk.length > 0 && !this.opaque) {
      if (this.bodyLeft !== 0) {
        const n = this.bodyLeft < 0 ? chunk.length : Math.min(this.bodyLeft, chunk.length);
        this.onBody(chunk.subarray(0, n));
        if (this.bodyLeft > 0) this.bodyLeft -= n;
        chunk = chunk.subarray(n);
        continue;
      }
      this.head = Buffer.concat([this.head, chunk]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.head.length > MAX_HEAD) this.opaque = true;
        return;
      }
      const rest = this.head.subarray(end + 4);
      const r = this.onHead(this.head.subarray(0, end).toString('latin1'));
      this.head = Buffer.alloc(0);
      if (r === 'opaque') {
        this.opaque = true;
        return;
      }
      this.bodyLeft = r.bodyLength;
      chunk = rest;
    }
  }
}

export class WireLog {
  private intervals: Interval[] = [];
  private down = 0;
  private requests = 0;
  private opaque = 0;
  private generation = 0;

  /** Starts the figures afresh (between cases; connections in flight carry on). */
  reset(): void {
    this.intervals = [];
    this.down = 0;
    this.requests = 0;
    this.opaque = 0;
    this.generation++;
  }

  /** A new proxied connection: feed it the bytes each way, in order. */
  connection(): { up(chunk: Buffer): void; down(chunk: Buffer): void } {
    const pending: Pending[] = [];
    let current: { iv?: Interval; gen: number; digest?: string; offset: number } | undefined;
    let wasOpaque = false;
    const markOpaque = (): void => {
      if (!wasOpaque) this.opaque++;
      wasOpaque = true;
    };
    const up = new Framer(
      (head) => {
        const { first, h } = headersOf(head);
        const [method = '', path = ''] = first.split(' ');
        pending.push({ method, digest: method === 'GET' ? BLOB_PATH.exec(path)?.[1] : undefined });
        if (h.get('transfer-encoding')?.includes('chunked')) return 'opaque';
        return { bodyLength: Number(h.get('content-length') ?? 0) || 0 };
      },
      () => {},
    );
    const down = new Framer(
      (head) => {
        const { first, h } = headersOf(head);
        const status = Number(first.split(' ')[1]);
        if (status >= 100 && status < 200) return { bodyLength: 0 }; // 100 Continue: the request is still waiting
        const req = pending.shift();
        if (!req || req.method === 'HEAD' || status === 204 || status === 304) return { bodyLength: 0 };
        if (h.get('transfer-encoding')?.includes('chunked')) return 'opaque';
        let offset = 0;
        if (status === 206) offset = Number(/bytes\s+(\d+)-/.exec(h.get('content-range') ?? '')?.[1] ?? 0);
        const ok = status === 200 || status === 206;
        current = req.digest && ok ? { digest: req.digest, offset, gen: this.generation } : undefined;
        if (current) this.requests++;
        const len = h.get('content-length');
        return { bodyLength: len !== undefined ? Number(len) : -1 };
      },
      (chunk) => {
        if (!current?.digest) return;
        // A reset() since the body began: the rest counts from here, in the new figures.
        if (!current.iv || current.gen !== this.generation) {
          current.gen = this.generation;
          current.iv = { digest: current.digest, start: current.offset, end: current.offset };
          this.intervals.push(current.iv);
        }
        current.iv.end += chunk.length;
        current.offset += chunk.length;
      },
    );
    return {
      up: (chunk) => {
        up.push(chunk);
        if (up.opaque) markOpaque();
      },
      down: (chunk) => {
        this.down += chunk.length;
        down.push(chunk);
        if (down.opaque) markOpaque();
      },
    };
  }

  figures(): WireFigures {
    const byBlob = new Map<string, Interval[]>();
    let blobBytes = 0;
    for (const iv of this.intervals) {
      blobBytes += iv.end - iv.start;
      byBlob.set(iv.digest, [...(byBlob.get(iv.digest) ?? []), iv]);
    }
    const perBlob: Record<string, number> = {};
    let distinct = 0;
    for (const [digest, ivs] of byBlob) {
      ivs.sort((a, b) => a.start - b.start);
      let n = 0;
      let reach = -1;
      for (const iv of ivs) {
        const from = Math.max(iv.start, reach);
        if (iv.end > from) n += iv.end - from;
        reach = Math.max(reach, iv.end);
      }
      perBlob[digest] = n;
      distinct += n;
    }
    return {
      wireDownBytes: this.down,
      blobBytes,
      distinctBlobBytes: distinct,
      duplicateBytes: blobBytes - distinct,
      blobRequests: this.requests,
      perBlob,
      opaqueConnections: this.opaque,
    };
  }
}
