// A scriptable node:http server on 127.0.0.1:0 for faults a real registry cannot produce
// (503 storms, resets mid-body, silence, wrong Content-Range, wrong bytes, redirects).
// Every request is logged; stop() destroys open sockets so no test can hang on it.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/** Answers one request; `n` counts requests to this server from 1 (the ping included). */
export type FaultHandler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

export interface FaultServer {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly requests: SeenRequest[];
  /** Requests other than the `GET /v2/` ping. */
  readonly calls: () => SeenRequest[];
  stop(): Promise<void>;
}

export interface FaultServerOptions {
  /** Answer `GET /v2/` with 200 before the handler sees it (default true). */
  ping?: boolean;
}

export async function startFaultServer(handler: FaultHandler, opts: FaultServerOptions = {}): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  const requests: SeenRequest[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    n++;
    if ((opts.ping ?? true) && req.method === 'GET' && req.url === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    Promise.resolve(handler(req, res, n)).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  return {
    host: `127.0.0.1:${port}`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    calls: () => requests.filter((r) => !(r.method === 'GET' && r.url === '/v2/')),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Parses `Range: bytes=A-B` (single range) of a request, or undefined. */
export function requestedRange(req: IncomingMessage, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return { start, end };
}

/** Serves `data` honestly: 206 with the right Content-Range for a Range, 200 otherwise. */
export function serveBytes(req: IncomingMessage, res: ServerResponse, data: Buffer): void {
  const r = requestedRange(req, data.length);
  if (r) {
    res.writeHead(206, { 'content-range': `bytes ${r.start}-${r.end}/${data.length}`, 'content-length': r.end - r.start + 1 });
    res.end(data.subarray(r.start, r.end + 1));
  } else {
    res.writeHead(200, { 'content-length': data.length });
    res.end(data);
  }
}
