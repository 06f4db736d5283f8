// The production MountHost: each mount is served by its own detached mount-server process
// (mount-server.ts), so that a kill -9, restart or upgrade of the daemon leaves every
// mount serving. The daemon starts a server, waits for its one-line handshake (it writes
// it once the mount answers stat and its socket listens), records its pid and socket, and
// from then on only talks to it over that socket.
//
// Starting a node process and loading the engine takes a few hundred milliseconds, so the
// host keeps one spare server started ahead of time (`spareCommand`): it loads everything,
// then waits for its spec on stdin. A mount takes the spare and starts the next one. A
// spare whose daemon goes away sees stdin close and exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LazysnapError, internal, unavailable } from '../errors.js';
import type { CacheFigures } from './backend.js';
import type { DaemonLog } from './log.js';
import type { HostedMount, MountHost } from './mount-host.js';
import { lazysnapChildEnv } from '../registry/extra-ca.js';
import type { MountRecord } from './mount-records.js';
import { cleanStaleMountpoint, unmountPath } from './mountpoint.js';
import { mountServerPaths, type MountServerSpec, type ReadyLine } from './mount-server.js';
import { SERVER_ROUTES, type MountServerStats } from './protocol.js';
import { isServerAlive, pingServer, SERVER_QUERY_TIMEOUT_MS, serverPeer, stopServer } from './server-process.js';
import { callSocket } from './socket-call.js';

/** Opening an image (manifest, config, TOCs over a slow link) and mounting it. */
const DEFAULT_START_TIMEOUT_MS = 120_000;
/** The handshake pipe is the child's fd 3 (0-2 are stdin and the log). */
export const READY_FD = 3;
const MAX_READY_LINE_BYTES = 64 * 1024;
const NEXT_SPARE_DELAY_MS = 1_000;

export interface ProcessHostOptions {
  stateDir: string;
  /** The command that runs one mount server in the foreground with this spec (the CLI's `mount-server`). */
  serverCommand(spec: MountServerSpec): string[];
  /**
   * The command that runs a spare mount server listening on `socketPath` once it has a
   * spec (read from stdin). Its command line names the socket, which is how a later
   * daemon recognises it (isServerAlive). None: no spares.
   */
  spareCommand?(socketPath: string): string[];
  log: DaemonLog;
  /** What the daemon process itself contributes to `status` (it holds no chunk cache: zeros but the limit). */
  ownCache: CacheFigures;
  startTimeoutMs?: number;
}

export function processHost(opts: ProcessHostOptions): MountHost {
  const { stateDir, log } = opts;

  const hosted = (record: MountRecord & { serverPid: number; serverSocket: string }, readyStats?: MountServerStats): HostedMount => ({
    record,
    ...(readyStats ? { readyStats } : {}),
    async report() {
      try {
        return await callSocket(record.serverSocket, SERVER_ROUTES.stats, undefined,
          { timeoutMs: SERVER_QUERY_TIMEOUT_MS, peer: serverPeer(record.mountpoint) }) as MountServerStats;
      } catch (err) {
        if (await isServerAlive(record.serverPid, record.serverSocket)) throw err;
        throw unavailable(`the mount server of ${record.mountpoint} (pid ${record.serverPid}) is dead: its mount is a dead endpoint; `
          + '`lazysnap umount` cleans it up, a daemon restart mounts it again', err);
      }
    },
    unmount: async () => void (await stopServer(record)),
    release: async () => {}, // the point of a mount server: it keeps serving without us
  });

  // The spare: started ahead of time, given a spec on stdin by the next start().
  let spare: { child: ChildProcess; socketPath: string } | undefined;
  let closed = false;
  /** A spare is being spawned (spare is set only once it is): two timers must not make two. */
  let starting = false;
  const startSpare = (): void => {
    if (closed || spare || starting || !opts.spareCommand) return;
    const socketPath = join(stateDir, 'mounts', `spare-${randomBytes(6).toString('hex')}.sock`);
    const [cmd, ...args] = opts.spareCommand(socketPath);
    if (!cmd) return;
    starting = true;
    void (async () => {
      await mkdir(join(stateDir, 'mounts'), { recursive: true, mode: 0o700 });
      const logFile = await open(join(stateDir, 'mounts', 'spare.log'), 'a', 0o600);
      try {
        const child = spawn(cmd, args, { detached: true, env: serverEnv(), stdio: ['pipe', logFile.fd, logFile.fd, 'pipe'] });
        child.on('error', (err) => log.warn('spare mount server', err));
        child.on('exit', () => { if (spare?.child === child) spare = undefined; });
        if (closed) child.stdin?.end();
        else spare = { child, socketPath };
      } finally {
        await logFile.close();
      }
    })().catch((err: unknown) => log.warn('starting a spare mount server', err)).finally(() => { starting = false; });
  };
  /** Hands `spec` to the spare, if one is alive (on the spare's socket); it then is that mount's server. */
  const takeSpare = (spec: MountServerSpec): { child: ChildProcess; spec: MountServerSpec } | undefined => {
    const taken = spare;
    spare = undefined;
    const child = taken?.child;
    if (!taken || !child || child.exitCode !== null || child.signalCode !== null || !child.stdin) return undefined;
    child.removeAllListeners('exit');
    const given = { ...spec, socketPath: taken.socketPath };
    child.stdin.end(`${JSON.stringify(given)}\n`);
    return { child, spec: given };
  };
  // Not at once either: the first mount of a state dir is served by a server the CLI
  // starts beside this daemon (it adopts it), and a spare loading meanwhile would slow it.
  setTimeout(startSpare, NEXT_SPARE_DELAY_MS).unref();

  return {
    async close() {
      closed = true;
      const child = spare?.child;
      spare = undefined;
      // Closing its stdin is enough: a spare without a spec exits.
      child?.stdin?.end();
      child?.unref();
    },

    async start(base) {
      const paths = mountServerPaths(stateDir, base.mountpoint);
      const record: MountRecord = { ...base };
      delete record.serverPid;
      delete record.serverSocket;
      const own: MountServerSpec = { stateDir, record, socketPath: paths.socket, readyFd: READY_FD };
      const taken = takeSpare(own);
      const spec = taken?.spec ?? own;
      let ready: ServerReady;
      try {
        // A spare made its directory; startMountServer makes it for a server of its own.
        ready = taken
          ? await readyOrCleanUp(taken.child, base.mountpoint, paths.log, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
          : await startMountServer(spec, opts.serverCommand(spec), opts.startTimeoutMs);
      } finally {
        // The next spare starts a while after this mount is up, not while it opens the image
        // or answers: on two cores a node process loading beside it made a cold mount
        // ~50-100 ms slower. A mount that comes sooner starts its own server.
        setTimeout(startSpare, NEXT_SPARE_DELAY_MS).unref();
      }
      log.info(`mount server pid ${ready.pid} serves ${base.mountpoint} (log ${paths.log})`);
      return hosted({ ...record, serverPid: ready.pid, serverSocket: spec.socketPath }, ready.stats);
    },

    async attach(record) {
      const { serverPid: pid, serverSocket: socket } = record;
      if (pid !== undefined && socket !== undefined) {
        if (await isServerAlive(pid, socket)) {
          // Alive: attach even if it does not answer now; status shows it, umount kills it.
          // Not awaited: the answer only goes to the log (a server that has just mounted
          // is busy starting its prefetch; the first mount waits on this adoption).
          void pingServer(socket, record.mountpoint).then(
            () => log.info(`re-attached to mount server pid ${pid} of ${record.mountpoint}`),
            (err: unknown) => log.warn(`mount server pid ${pid} of ${record.mountpoint} is alive but does not answer`, err));
          return hosted({ ...record, serverPid: pid, serverSocket: socket });
        }
        log.warn(`mount server pid ${pid} of ${record.mountpoint} is gone (killed?): mounting again`);
        await rm(socket, { force: true });
      }
      await cleanStaleMountpoint(record.mountpoint);
      return undefined;
    },

    cacheFigures(reports) {
      const figures = { ...opts.ownCache };
      for (const { cache } of reports) {
        figures.memoryBytes += cache.memoryBytes;
        figures.diskBytes = Math.max(figures.diskBytes, cache.diskBytes);
        figures.diskLimitBytes = Math.max(figures.diskLimitBytes, cache.diskLimitBytes);
      }
      return figures;
    },
  };
}

/** A server's handshake: its pid, and the mount's status when it was ready. */
export interface ServerReady {
  pid: number;
  stats?: MountServerStats;
}

/**
 * Starts a mount server for `spec` with `command` (detached, its output in its log) and
 * waits for its handshake: the daemon's way to mount without a spare, and the CLI's for
 * the first mount of a state dir (the daemon then adopts it). On failure nothing is left:
 * the process is killed and whatever it mounted is detached.
 */
export async function startMountServer(spec: MountServerSpec, command: readonly string[],
  timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<ServerReady & { socketPath: string }> {
  const [cmd, ...args] = command;
  if (!cmd) throw internal('no command to run a mount server with');
  const paths = mountServerPaths(spec.stateDir, spec.record.mountpoint);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const logFile = await open(paths.log, 'a', 0o600);
  let child: ChildProcess;
  try {
    // Own session (detached): no signal aimed at the starter's group or terminal reaches it.
    child = spawn(cmd, args, { detached: true, env: serverEnv(), stdio: ['ignore', logFile.fd, logFile.fd, 'pipe'] });
  } finally {
    await logFile.close();
  }
  return { ...(await readyOrCleanUp(child, spec.record.mountpoint, paths.log, timeoutMs)), socketPath: spec.socketPath };
}

/**
 * A mount server's environment: ours (NODE_EXTRA_CA_CERTS handed over: extra-ca.ts; it
 * cost each server ~60 ms at start), plus a fixed glibc mmap threshold (unless one is
 * set). glibc raises its threshold each time a large block is freed, after which the
 * large buffers of opening an image (the TOC, its JSON text, fetched bodies) come from
 * the heap and stay there, fragmented, for the life of the server. Fixed at 1 MiB, a
 * buffer that large is mapped and unmapped on its own. Measured on the python image
 * (8151 files): 13-23 MB above the base after mounting and a walk, 10 MB with it, and
 * the same with 128 KiB; smaller blocks still come from (and go back to) the heap.
 */
function serverEnv(): NodeJS.ProcessEnv {
  return { ...lazysnapChildEnv(process.env), MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? String(1024 * 1024) };
}

/** awaitReady, and on failure kill the server and detach what it may have mounted. */
async function readyOrCleanUp(child: ChildProcess, mountpoint: string, logPath: string, timeoutMs: number): Promise<ServerReady> {
  try {
    return await awaitReady(child, mountpoint, logPath, timeoutMs);
  } catch (err) {
    // Whatever it got to, it must not linger: it may have mounted before it failed or stalled.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await unmountPath(mountpoint).catch(() => {});
    throw err;
  } finally {
    (child.stdio[READY_FD] as Readable | null)?.destroy();
    child.unref();
  }
}

/** The server's handshake once it reports a serving mount; rejects with its error, or when it dies or stalls. */
function awaitReady(child: ChildProcess, mountpoint: string, logPath: string, timeoutMs: number): Promise<ServerReady> {
  const pipe = child.stdio[READY_FD] as Readable | null;
  return new Promise<ServerReady>((done, fail) => {
    let text = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const failWithLog = (why: string, cause?: unknown) => void readFile(logPath, 'utf8').catch(() => '').then((log) => {
      const tail = log.trim().split('\n').slice(-5).join('\n');
      finish(() => fail(internal(`the mount server of ${mountpoint} ${why}; last lines of ${logPath}:\n${tail}`, cause)));
    });
    const timer = setTimeout(() => finish(() => fail(unavailable(`the mount server of ${mountpoint} did not mount within ${timeoutMs} ms (log ${logPath})`))), timeoutMs);
    child.once('error', (err) => failWithLog(`could not start: ${err.message}`, err));
    // 'close', not 'exit': it comes after the handshake pipe has been read to its end, so
    // a server that reported its error and exited is judged by what it reported.
    child.once('close', (code, sig) => failWithLog(`exited (${code ?? sig}) before mounting`));
    pipe?.setEncoding('utf8');
    pipe?.on('data', (s: string) => {
      text += s;
      if (text.length > MAX_READY_LINE_BYTES) return failWithLog('sent an oversized handshake');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      let line: ReadyLine;
      try {
        line = JSON.parse(text.slice(0, nl)) as ReadyLine;
      } catch (err) {
        return failWithLog('sent a handshake that is not JSON', err);
      }
      if (line.ok && Number.isSafeInteger(line.pid)) {
        const stats = line.stats?.mount?.mountpoint === mountpoint ? line.stats : undefined;
        finish(() => done({ pid: line.pid, ...(stats ? { stats } : {}) }));
      }
      else if (!line.ok) finish(() => fail(LazysnapError.fromJSON(line.error)));
      else failWithLog('sent a handshake without a pid');
    });
    pipe?.on('error', () => {}); // an exit is reported by 'exit'
  });
}
