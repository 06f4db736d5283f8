// The control socket: HTTP with JSON bodies over a unix socket, owner-only (0600). The
// socket is bound under a temporary name, chmod'ed, then renamed into place, so it is
// never reachable under its real name with wider permissions.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { chmod, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { codeOf, findLazysnapError, internal, invalidArgument, notFound } from '../errors.js';
import type { DaemonLog } from './log.js';
import { HTTP_STATUS } from './protocol.js';

/** Handles one request body (parsed JSON, or undefined) and returns the JSON answer. */
export type RouteHandler = (body: unknown) => Promise<unknown>;

export interface ControlServer {
  /** Stops accepting, drops idle connections, removes the socket; idempotent. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export async function listenControl(socketPath: string, routes: ReadonlyMap<string, RouteHandler>, log: DaemonLog): Promise<ControlServer> {
  // Named after the socket: several mount servers may start in one directory at once.
  const tmpPath = join(dirname(socketPath), `.${basename(socketPath)}.tmp`);
  if (Buffer.byteLength(tmpPath) > MAX_SOCKET_PATH_BYTES) {
    throw invalidArgument(`${dirname(socketPath)} is too long a path for a unix socket (state dir too deep)`);
  }
  const server = createServer((req, res) => void serve(req, res, routes, log));
  await rm(tmpPath, { force: true });
  await new Promise<void>((done, fail) => {
    server.once('error', (err) => fail(internal(`cannot listen on ${tmpPath}`, err)));
    server.listen(tmpPath, () => done());
  });
  await chmod(tmpPath, 0o600);
  // Replaces a socket left by a dead process: the daemon holds the state lock, and a
  // mount server is only started for a mountpoint whose previous server is gone.
  await rename(tmpPath, socketPath);
  const ino = (await stat(socketPath)).ino;

  let closed: Promise<void> | undefined;
  return {
    close: () => (closed ??= (async () => {
      const stopped = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      await stopped;
      // Only our own socket: a successor (a new mount server for the same mountpoint)
      // may already have renamed its socket over this name.
      const now = await stat(socketPath).catch(() => undefined);
      if (now?.ino === ino) await rm(socketPath, { force: true });
    })()),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, routes: ReadonlyMap<string, RouteHandler>, log: DaemonLog): Promise<void> {
  const route = `${req.method} ${new URL(req.url ?? '/', 'http://lazysnapd').pathname}`;
  try {
    const handler = routes.get(route);
    if (!handler) throw notFound(`no such endpoint: ${route}`);
    const answer = await handler(await readJson(req));
    reply(res, 200, answer ?? {});
  } catch (err) {
    const code = codeOf(err);
    if (code === 'INTERNAL') log.error(`${route} failed`, err);
    else log.info(`${route}: ${code}: ${(err as Error).message}`);
    const known = findLazysnapError(err);
    reply(res, HTTP_STATUS[code], { code, message: known?.message ?? String((err as Error)?.message ?? err) });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw invalidArgument(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw invalidArgument('request body is not JSON', err);
  }
}
