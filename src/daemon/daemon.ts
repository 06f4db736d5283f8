// lazysnapd: the control side of a state dir. It holds the state-dir lock, serves the
// control socket and keeps STATE/mounts.json in step with its mounts; a MountHost serves
// them (production: one detached mount-server process per mount, process-host.ts). So a
// daemon that dies, restarts or is upgraded leaves every mount serving: on start it
// re-attaches to the servers that still run and mounts again what lost its server.
// Closing (shutdown, SIGTERM, SIGINT) stops the control side only; `shutdown` with
// unmountAll (`daemon stop --all`) also stops every mount, keeping the records so the
// next daemon brings them back. Only `umount` forgets a mount.

import { mkdir, writeFile, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { codeOf, failedPrecondition, findLazysnapError, invalidArgument, notFound, alreadyExists } from '../errors.js';
import { statePaths } from '../state-dir.js';
import { VERSION } from '../version.js';
import { PREFETCH_MODES, type PrefetchMode } from './backend.js';
import { listenControl, type ControlServer, type RouteHandler } from './control-server.js';
import type { DaemonLog } from './log.js';
import type { HostedMount, MountHost } from './mount-host.js';
import { loadRecords, newMountRecord, recordsPath, saveRecords, type MountRecord } from './mount-records.js';
import { resolveMountpoint } from './mountpoint.js';
import {
  ROUTES, type AdoptRequest, type DaemonInfo, type MountRequest, type MountServerStats, type MountStatus, type RestoreFailure,
  type ShutdownRequest, type StatusReport, type UnreachableMount,
} from './protocol.js';
import { acquireStateLock, type StateLock } from './state-lock.js';

export interface DaemonOptions {
  stateDir: string;
  /** Where mounts are served: processHost in production, inProcessHost in tests. */
  host: MountHost;
  log: DaemonLog;
  /** Close on SIGTERM/SIGINT (the daemon process); off for in-process tests. */
  handleSignals?: boolean;
}

export interface CloseOptions {
  /** Also unmount every mount (records kept). In-process mounts are unmounted either way. */
  unmountAll?: boolean;
}

export interface Daemon {
  readonly info: DaemonInfo;
  readonly socketPath: string;
  /** Settles when the mounts recorded by a previous daemon have been re-attached or restored. */
  readonly restored: Promise<void>;
  /** Settles when the daemon has closed (shutdown request, signal or close()). */
  readonly closed: Promise<void>;
  /** Asks every mount's server, each with a bounded timeout: a dead or hung one is listed as unreachable. */
  status(): Promise<StatusReport>;
  /** Stops the socket and releases the lock; mount servers keep serving unless unmountAll; idempotent. */
  close(opts?: CloseOptions): Promise<void>;
}

export async function createDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { stateDir, host, log } = opts;
  const paths = statePaths(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const lock = await acquireStateLock(stateDir);
  try {
    return await startDaemon(lock, paths.socket);
  } catch (err) {
    await lock.release();
    throw err;
  }

  async function startDaemon(held: StateLock, socketPath: string): Promise<Daemon> {
    const info: DaemonInfo = { pid: process.pid, version: VERSION, stateDir };
    const active = new Map<string, HostedMount>();
    const failed = new Map<string, RestoreFailure & { record: MountRecord }>();
    /** Mountpoints with a mount or umount in progress: one operation per mountpoint at a time. */
    const busy = new Set<string>();
    /** Operations under way, so close() can wait for a mount that is still being made. */
    const inflight = new Set<Promise<unknown>>();
    let closing: Promise<void> | undefined;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((done) => (resolveClosed = done));

    // Records are written one after another, each from the current state of both maps.
    let writes = Promise.resolve();
    const persist = () => {
      const records = [...[...active.values()].map((m) => m.record), ...[...failed.values()].map((f) => f.record)];
      // A failed write is logged, not thrown: the mount itself worked, it just will not
      // come back after a restart.
      writes = writes.then(() => saveRecords(stateDir, records))
        .catch((err: unknown) => log.error(`cannot write ${recordsPath(stateDir)}`, err));
      return writes;
    };

    const exclusive = async <T>(mountpoint: string, fn: () => Promise<T>): Promise<T> => {
      if (closing) throw failedPrecondition('the daemon is shutting down');
      if (busy.has(mountpoint)) throw failedPrecondition(`another mount or umount of ${mountpoint} is in progress`);
      busy.add(mountpoint);
      const op = fn();
      inflight.add(op);
      try {
        return await op;
      } finally {
        busy.delete(mountpoint);
        inflight.delete(op);
      }
    };

    /** Makes `mountpoint` serve through `serve` (start a server, or adopt one), then records it. */
    const takeOn = (mountpoint: string, serve: () => Promise<HostedMount>, done: string): Promise<MountStatus> =>
      exclusive(mountpoint, async () => {
        const existing = active.get(mountpoint);
        if (existing) throw alreadyExists(`${mountpoint} already has ${existing.record.reference} mounted`);
        const m = await serve();
        active.set(mountpoint, m);
        failed.delete(mountpoint);
        log.info(`${done} ${m.record.reference} at ${mountpoint}`);
        // Both before answering, side by side (a cold mount waits on this answer); a record
        // that could not be written is the failure to report first. A new server's own
        // report from its handshake is the answer: asked now, it answers only between the
        // prefetch's first decoding slices (40-60 ms later, measured).
        const [saved, report] = await Promise.allSettled([persist(), m.readyStats ?? m.report()]);
        if (saved.status === 'rejected') throw saved.reason;
        if (report.status === 'rejected') throw report.reason;
        return report.value.mount;
      });

    const mount = async (body: unknown): Promise<MountStatus> => {
      const req = parseMountRequest(body);
      const mountpoint = await resolveMountpoint(req.mountpoint);
      return takeOn(mountpoint, () => host.start(newMountRecord(mountpoint, req)), 'mounted');
    };

    // A mount whose server the CLI started itself (the first mount of a state dir, started
    // beside this daemon instead of after it): recorded like one a restart re-attaches to.
    const adopt = async (body: unknown): Promise<MountStatus> => {
      const req = parseAdoptRequest(body, join(stateDir, 'mounts'));
      const mountpoint = await resolveMountpoint(req.mountpoint);
      const { readyStats, ...record } = req;
      return takeOn(mountpoint, async () => {
        const m = await host.attach({ ...record, mountpoint });
        if (!m) throw failedPrecondition(`the mount server pid ${req.serverPid} of ${mountpoint} does not run: nothing to adopt`);
        return readyStats?.mount.mountpoint === mountpoint ? { ...m, readyStats } : m;
      }, `adopted (mount server pid ${req.serverPid})`);
    };

    const umount = async (body: unknown): Promise<{ mountpoint: string }> => {
      const raw = (body as { mountpoint?: unknown } | undefined)?.mountpoint;
      if (typeof raw !== 'string' || !isAbsolute(raw)) throw invalidArgument('umount needs an absolute "mountpoint"');
      const mountpoint = await resolveMountpoint(raw);
      return exclusive(mountpoint, async () => {
        const m = active.get(mountpoint);
        if (m) {
          await m.unmount();
          active.delete(mountpoint);
        } else if (!failed.delete(mountpoint)) {
          throw notFound(`nothing is mounted at ${mountpoint} by this daemon`);
        }
        log.info(`unmounted ${mountpoint}`);
        await persist();
        return { mountpoint };
      });
    };

    const status = async (): Promise<StatusReport> => {
      const hosted = [...active.values()].sort((a, b) => a.record.mountpoint.localeCompare(b.record.mountpoint));
      const answers = await Promise.allSettled(hosted.map((m) => m.report()));
      const reports: MountServerStats[] = [];
      const unreachable: UnreachableMount[] = [];
      answers.forEach((a, i) => {
        const { record } = hosted[i]!;
        if (a.status === 'fulfilled') return void reports.push(a.value);
        unreachable.push({
          mountpoint: record.mountpoint, reference: record.reference,
          ...(record.serverPid !== undefined ? { serverPid: record.serverPid } : {}),
          error: { code: codeOf(a.reason), message: findLazysnapError(a.reason)?.message ?? String(a.reason) },
        });
      });
      return {
        daemon: info,
        mounts: reports.map((r) => r.mount),
        cache: host.cacheFigures(reports),
        restoreFailures: [...failed.values()].map(({ record: _r, ...f }) => f),
        unreachable,
      };
    };

    const close = (o: CloseOptions = {}): Promise<void> => (closing ??= (async () => {
      log.info(o.unmountAll ? 'closing: unmounting everything' : 'closing the control side; mount servers keep serving');
      await server.close();
      await Promise.allSettled([...inflight]);
      await Promise.all([...active.values()].map((m) => (o.unmountAll ? m.unmount() : m.release())
        .catch((err: unknown) => log.error(`unmounting ${m.record.mountpoint}`, err))));
      active.clear();
      await host.close?.().catch((err: unknown) => log.warn('closing the mount host', err));
      await writes;
      await rm(join(stateDir, 'lazysnapd.pid'), { force: true });
      if (opts.handleSignals) for (const sig of SIGNALS) process.off(sig, onSignal);
      await held.release();
      log.info('closed');
      resolveClosed();
    })());

    const onSignal = (sig: NodeJS.Signals) => {
      log.info(`${sig}: shutting down the control side`);
      void close();
    };

    const routes = new Map<string, RouteHandler>([
      [key(ROUTES.ping), async () => info],
      [key(ROUTES.status), status],
      [key(ROUTES.mount), mount],
      [key(ROUTES.adopt), adopt],
      [key(ROUTES.umount), umount],
      // Answer first, then close: the response must leave before the socket goes.
      [key(ROUTES.shutdown), async (body) => {
        const unmountAll = (body as ShutdownRequest | undefined)?.unmountAll === true;
        setImmediate(() => void close({ unmountAll }));
        return {};
      }],
    ]);
    const server: ControlServer = await listenControl(socketPath, routes, log);
    // Informational only (the lock is the abstract socket): who to look at in `ps`.
    await writeFile(join(stateDir, 'lazysnapd.pid'), `${process.pid}\n`, { mode: 0o644 });
    if (opts.handleSignals) for (const sig of SIGNALS) process.on(sig, onSignal);
    log.info(`lazysnapd ${VERSION} pid ${process.pid} serving ${socketPath}`);

    // Each record: its server still runs (the daemon alone was restarted) -> re-attach,
    // the mount was never interrupted; its server is gone -> clean the dead endpoint and
    // mount again.
    const restore = async () => {
      let records: MountRecord[];
      try {
        records = await loadRecords(stateDir);
      } catch (err) {
        return log.error('cannot read the mount records; nothing restored', err);
      }
      for (const record of records) {
        await exclusive(record.mountpoint, async () => {
          try {
            const attached = await host.attach(record);
            active.set(record.mountpoint, attached ?? await host.start(record));
            log.info(`${attached ? 're-attached' : 'restored'} ${record.reference} at ${record.mountpoint}`);
          } catch (err) {
            log.error(`cannot restore ${record.reference} at ${record.mountpoint}`, err);
            const e = findLazysnapError(err);
            failed.set(record.mountpoint, { mountpoint: record.mountpoint, reference: record.reference, record,
              error: { code: codeOf(err), message: e?.message ?? String(err) } });
          }
        }).catch((err: unknown) => log.warn(`restore of ${record.mountpoint} skipped`, err));
      }
      await persist(); // new server pids
    };
    const restored = restore();

    return { info, socketPath, restored, closed, status, close };
  }
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

function parseAdoptRequest(body: unknown, serversDir: string): AdoptRequest {
  const b = (body ?? {}) as Partial<Record<keyof AdoptRequest, unknown>>;
  const m = parseMountRequest(body);
  if (typeof b.mountedAt !== 'string' || Number.isNaN(Date.parse(b.mountedAt))) throw invalidArgument('adopt needs "mountedAt"');
  if (!Number.isSafeInteger(b.serverPid) || (b.serverPid as number) <= 1) throw invalidArgument('adopt needs the server\'s "serverPid"');
  // Only a socket where this daemon's own servers live (STATE/mounts): the record is
  // what later umounts and restarts act on.
  if (typeof b.serverSocket !== 'string' || !isAbsolute(b.serverSocket) || dirname(b.serverSocket) !== serversDir) {
    throw invalidArgument(`adopt needs a "serverSocket" in ${serversDir}`);
  }
  // The server's handshake report, passed on by the CLI that started it: only echoed back
  // as the mount's status, so a shape check is enough.
  const rs = b.readyStats as { mount?: { mountpoint?: unknown }; cache?: unknown } | undefined;
  const readyStats = rs && typeof rs === 'object' && typeof rs.mount?.mountpoint === 'string' && typeof rs.cache === 'object'
    ? b.readyStats as MountServerStats : undefined;
  return {
    ...m, prefetch: m.prefetch ?? 'none', mountedAt: b.mountedAt, serverPid: b.serverPid as number, serverSocket: b.serverSocket,
    ...(readyStats ? { readyStats } : {}),
  };
}

function parseMountRequest(body: unknown): MountRequest {
  const b = (body ?? {}) as Partial<Record<keyof MountRequest, unknown>>;
  if (typeof b.reference !== 'string' || b.reference === '') throw invalidArgument('mount needs an image "reference"');
  if (typeof b.mountpoint !== 'string' || !isAbsolute(b.mountpoint)) throw invalidArgument('mount needs an absolute "mountpoint"');
  if (b.platform !== undefined && (typeof b.platform !== 'string' || b.platform === '')) throw invalidArgument('"platform" must be OS/ARCH');
  if (b.prefetch !== undefined && !PREFETCH_MODES.includes(b.prefetch as PrefetchMode)) {
    throw invalidArgument(`"prefetch" must be one of ${PREFETCH_MODES.join(', ')}`);
  }
  return {
    reference: b.reference, mountpoint: b.mountpoint,
    ...(b.platform ? { platform: b.platform as string } : {}),
    ...(b.prefetch ? { prefetch: b.prefetch as PrefetchMode } : {}),
  };
}
