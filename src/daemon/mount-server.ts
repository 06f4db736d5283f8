// A mount server: the process that serves ONE FUSE mount, apart from the daemon so that
// the control side can die, restart or be upgraded while containers keep reading. The
// daemon starts it detached (own session, output in STATE/mounts/<id>.log) and talks to
// it over STATE/mounts/<id>.sock (SERVER_ROUTES). It never touches mounts.json: the
// daemon (or a daemon-less `umount`) owns the records.
// Lifecycle: open the image, mount, listen, report "ready" on the handshake fd -> serve
// -> unmount request or SIGTERM/SIGINT: unmount cleanly, close the socket, exit.

import { closeSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { codeOf, findLazysnapError, invalidArgument } from '../errors.js';
import { VERSION } from '../version.js';
import { PREFETCH_MODES, type MountBackend, type PrefetchMode } from './backend.js';
import { listenControl, type RouteHandler } from './control-server.js';
import type { DaemonLog } from './log.js';
import { collectWhenIdle } from './idle-collector.js';
import { servedStats, serveRecord } from './mount-host.js';
import type { MountRecord } from './mount-records.js';
import { SERVER_ROUTES, type MountServerInfo, type MountServerStats } from './protocol.js';
import type { MountTree } from './tree-mount.js';

/** Everything a mount server needs to know, passed as one JSON argument (readable in `ps`). */
export interface MountServerSpec {
  stateDir: string;
  record: MountRecord;
  socketPath: string;
  /** An fd (a pipe from the daemon) to write the one-line outcome of mounting to, then close. */
  readyFd?: number;
}

/** The one line a mount server writes on its handshake fd; `stats` is the mount's status at that moment (its starter answers with it). */
export type ReadyLine = { ok: true; pid: number; stats?: MountServerStats } | { ok: false; error: { code: string; message: string } };

/** Where the server of `mountpoint` keeps its socket and log: short names, so the socket path fits sun_path. */
export function mountServerPaths(stateDir: string, mountpoint: string): { dir: string; socket: string; log: string } {
  const id = createHash('sha256').update(mountpoint).digest('hex').slice(0, 16);
  const dir = join(stateDir, 'mounts');
  return { dir, socket: join(dir, `${id}.sock`), log: join(dir, `${id}.log`) };
}

export function parseServerSpec(text: string): MountServerSpec {
  let v: Partial<MountServerSpec>;
  try {
    v = JSON.parse(text) as Partial<MountServerSpec>;
  } catch (err) {
    throw invalidArgument('the mount server spec is not JSON', err);
  }
  const r = v.record;
  if (typeof v.stateDir !== 'string' || !isAbsolute(v.stateDir)) throw invalidArgument('mount server spec: "stateDir" must be an absolute path');
  if (typeof v.socketPath !== 'string' || !isAbsolute(v.socketPath)) throw invalidArgument('mount server spec: "socketPath" must be an absolute path');
  if (v.readyFd !== undefined && !(Number.isSafeInteger(v.readyFd) && v.readyFd > 2)) throw invalidArgument('mount server spec: "readyFd" must be an fd above 2');
  if (typeof r?.mountpoint !== 'string' || !isAbsolute(r.mountpoint) || typeof r.reference !== 'string' || r.reference === ''
    || !PREFETCH_MODES.includes(r.prefetch as PrefetchMode) || typeof r.mountedAt !== 'string'
    || (r.platform !== undefined && typeof r.platform !== 'string')) {
    throw invalidArgument('mount server spec: "record" needs mountpoint, reference, prefetch and mountedAt');
  }
  return {
    stateDir: v.stateDir, socketPath: v.socketPath, ...(v.readyFd !== undefined ? { readyFd: v.readyFd } : {}),
    record: { mountpoint: r.mountpoint, reference: r.reference, prefetch: r.prefetch, mountedAt: r.mountedAt, ...(r.platform ? { platform: r.platform } : {}) },
  };
}

export interface MountServerOptions {
  spec: MountServerSpec;
  backend: MountBackend;
  mountTree: MountTree;
  log: DaemonLog;
  /** Unmount and close on SIGTERM/SIGINT (the server process); off for in-process tests. */
  handleSignals?: boolean;
}

export interface MountServer {
  /** Settles when the mount is gone and the socket closed (unmount request, signal or close()). */
  readonly closed: Promise<void>;
  /** Unmounts, closes the image and the socket; idempotent. */
  close(): Promise<void>;
  /** Lets the image's prefetch decode (it fetches from the start): once the mount has been reported ready. */
  startBackground(): void;
  /** Grows whenever the mount works (FUSE callbacks answered, bytes fetched). */
  activity(): number;
  /** What the stats route answers. */
  stats(): MountServerStats;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** Mounts and serves; resolves once the mount answers stat and the socket listens. */
export async function startMountServer(opts: MountServerOptions): Promise<MountServer> {
  const { spec, backend, log } = opts;
  const { record } = spec;
  const served = await serveRecord(record, backend, opts.mountTree, log);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((done) => (resolveClosed = done));
  let closing: Promise<void> | undefined;

  const info: MountServerInfo = { pid: process.pid, version: VERSION, mountpoint: record.mountpoint };
  const stats = (): MountServerStats => servedStats(record, served, backend);
  const routes = new Map<string, RouteHandler>([
    [key(SERVER_ROUTES.ping), async () => info],
    [key(SERVER_ROUTES.stats), async () => stats()],
    // Unmount before answering (a failure is answered and the mount keeps serving);
    // the socket goes after the answer has left.
    [key(SERVER_ROUTES.unmount), async () => {
      await served.close();
      log.info(`unmounted ${record.mountpoint} on request`);
      setImmediate(() => void close());
      return { mountpoint: record.mountpoint };
    }],
  ]);
  let socket: Awaited<ReturnType<typeof listenControl>>;
  try {
    socket = await listenControl(spec.socketPath, routes, log);
  } catch (err) {
    await served.close().catch((e: unknown) => log.error(`unmounting ${record.mountpoint} after the socket failed`, e));
    throw err;
  }

  const onSignal = (sig: NodeJS.Signals) => {
    log.info(`${sig}: unmounting ${record.mountpoint}`);
    void close();
  };
  const close = (): Promise<void> => (closing ??= (async () => {
    await served.close().catch((err: unknown) => log.error(`unmounting ${record.mountpoint}`, err));
    await socket.close();
    if (opts.handleSignals) for (const sig of SIGNALS) process.off(sig, onSignal);
    log.info(`mount server of ${record.mountpoint} closed`);
    resolveClosed();
  })());
  if (opts.handleSignals) for (const sig of SIGNALS) process.on(sig, onSignal);
  log.info(`mount server ${VERSION} pid ${process.pid}: ${record.reference} at ${record.mountpoint}, socket ${spec.socketPath}`);
  return {
    closed,
    close,
    startBackground: () => served.image.startBackground(),
    activity: () => served.fuse.stats().ops + served.image.counters().bytesFetched,
    stats,
  };
}

/**
 * The body of a mount-server process: serves, tells the daemon that started it how
 * mounting went (spec.readyFd), and returns when the mount is gone. Rejects when mounting failed.
 */
export async function runMountServerProcess(opts: MountServerOptions): Promise<void> {
  let server: MountServer;
  try {
    server = await startMountServer({ ...opts, handleSignals: true });
  } catch (err) {
    opts.log.error(`cannot mount ${opts.spec.record.reference} at ${opts.spec.record.mountpoint}`, err);
    report(opts.spec.readyFd, { ok: false, error: { code: codeOf(err), message: findLazysnapError(err)?.message ?? String((err as Error)?.message ?? err) } });
    throw err;
  }
  if (!report(opts.spec.readyFd, { ok: true, pid: process.pid, stats: server.stats() })) {
    // The daemon died while we mounted: no record names us, so nobody could ever find
    // or stop this mount. Undo it; the next daemon mounts it again if it was recorded.
    opts.log.warn(`the daemon that started this server is gone before recording it: unmounting ${opts.spec.record.mountpoint}`);
    await server.close();
  }
  server.startBackground();
  const stopCollecting = collectWhenIdle({ activity: () => server.activity() });
  await server.closed;
  stopCollecting();
}

/** Writes the handshake line; false when the daemon that waits for it is gone. */
function report(fd: number | undefined, line: ReadyLine): boolean {
  if (fd === undefined) return true;
  try {
    writeSync(fd, `${JSON.stringify(line)}\n`);
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}
