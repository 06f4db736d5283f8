// lazysnapd: the process that owns every mount of a state dir. It holds the state-dir lock,
// serves the control socket, keeps STATE/mounts.json in step with its mounts and restores
// them when it starts again. Closing (shutdown, SIGTERM, SIGINT) unmounts everything but
// keeps the records, so the next daemon brings the mounts back; only `umount` forgets one.

import { mkdir, writeFile, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { codeOf, failedPrecondition, findLazysnapError, invalidArgument, notFound, alreadyExists } from '../errors.js';
import { statePaths } from '../state-dir.js';
import { VERSION } from '../version.js';
import { PREFETCH_MODES, type MountBackend, type OpenedImage, type PrefetchMode } from './backend.js';
import { listenControl, type ControlServer, type RouteHandler } from './control-server.js';
import type { DaemonLog } from './log.js';
import { loadRecords, recordsPath, saveRecords, type MountRecord } from './mount-records.js';
import { resolveMountpoint } from './mountpoint.js';
import { ROUTES, type DaemonInfo, type MountRequest, type MountStatus, type RestoreFailure, type StatusReport } from './protocol.js';
import { acquireStateLock, type StateLock } from './state-lock.js';
import type { MountTree, TreeMount } from './tree-mount.js';

export interface DaemonOptions {
  stateDir: string;
  backend: MountBackend;
  /** The FUSE adapter (fs/mount-tree.ts in production); injected because src/ never imports fs/. */
  mountTree: MountTree;
  log: DaemonLog;
  /** Close cleanly on SIGTERM/SIGINT (the daemon process); off for in-process tests. */
  handleSignals?: boolean;
}

export interface Daemon {
  readonly info: DaemonInfo;
  readonly socketPath: string;
  /** Settles when the mounts recorded by a previous daemon have been tried. */
  readonly restored: Promise<void>;
  /** Settles when the daemon has closed (shutdown request, signal or close()). */
  readonly closed: Promise<void>;
  status(): StatusReport;
  /** Unmounts everything (records kept for the next start), stops the socket, releases the lock; idempotent. */
  close(): Promise<void>;
}

interface ActiveMount {
  record: MountRecord;
  image: OpenedImage;
  fuse: TreeMount;
}

export async function createDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { stateDir, backend, log } = opts;
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
    const active = new Map<string, ActiveMount>();
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

    const mountRecord = async (record: MountRecord): Promise<ActiveMount> => {
      const image = await backend.openImage(record.reference, { platform: record.platform, prefetch: record.prefetch });
      try {
        const fuse = await opts.mountTree({
          mountpoint: record.mountpoint,
          tree: image.tree,
          read: (node, offset, length, signal) => image.read(node, offset, length, signal),
          onError: (err, op, path) => log.warn(`${record.mountpoint}: ${op} ${path} failed`, err),
          fsName: image.describe().image,
        });
        return { record, image, fuse };
      } catch (err) {
        await image.close().catch((e: unknown) => log.warn(`closing ${record.reference} after a failed mount`, e));
        throw err;
      }
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

    const mount = async (body: unknown): Promise<MountStatus> => {
      const req = parseMountRequest(body);
      const mountpoint = await resolveMountpoint(req.mountpoint);
      return exclusive(mountpoint, async () => {
        const existing = active.get(mountpoint);
        if (existing) throw alreadyExists(`${mountpoint} already has ${existing.record.reference} mounted`);
        const record: MountRecord = {
          mountpoint, reference: req.reference, prefetch: req.prefetch ?? 'none', mountedAt: new Date().toISOString(),
          ...(req.platform ? { platform: req.platform } : {}),
        };
        const m = await mountRecord(record);
        active.set(mountpoint, m);
        failed.delete(mountpoint);
        log.info(`mounted ${record.reference} at ${mountpoint}`);
        await persist();
        return mountStatus(m);
      });
    };

    const umount = async (body: unknown): Promise<{ mountpoint: string }> => {
      const raw = (body as { mountpoint?: unknown } | undefined)?.mountpoint;
      if (typeof raw !== 'string' || !isAbsolute(raw)) throw invalidArgument('umount needs an absolute "mountpoint"');
      const mountpoint = await resolveMountpoint(raw);
      return exclusive(mountpoint, async () => {
        const m = active.get(mountpoint);
        if (m) {
          await unmountActive(m);
          active.delete(mountpoint);
        } else if (!failed.delete(mountpoint)) {
          throw notFound(`nothing is mounted at ${mountpoint} by this daemon`);
        }
        log.info(`unmounted ${mountpoint}`);
        await persist();
        return { mountpoint };
      });
    };

    const unmountActive = async (m: ActiveMount) => {
      await m.fuse.unmount();
      await m.image.close().catch((err: unknown) => log.warn(`closing ${m.record.reference}`, err));
    };

    const status = (): StatusReport => ({
      daemon: info,
      mounts: [...active.values()].map(mountStatus).sort((a, b) => a.mountpoint.localeCompare(b.mountpoint)),
      cache: backend.cacheFigures(),
      restoreFailures: [...failed.values()].map(({ record: _r, ...f }) => f),
    });

    const close = (): Promise<void> => (closing ??= (async () => {
      log.info('closing: unmounting everything');
      await server.close();
      await Promise.allSettled([...inflight]);
      await Promise.all([...active.values()].map((m) => unmountActive(m).catch((err: unknown) => log.error(`unmounting ${m.record.mountpoint}`, err))));
      active.clear();
      await writes;
      await rm(join(stateDir, 'lazysnapd.pid'), { force: true });
      if (opts.handleSignals) for (const sig of SIGNALS) process.off(sig, onSignal);
      await held.release();
      log.info('closed');
      resolveClosed();
    })());

    const onSignal = (sig: NodeJS.Signals) => {
      log.info(`${sig}: shutting down`);
      void close();
    };

    const routes = new Map<string, RouteHandler>([
      [key(ROUTES.ping), async () => info],
      [key(ROUTES.status), async () => status()],
      [key(ROUTES.mount), mount],
      [key(ROUTES.umount), umount],
      // Answer first, then close: the response must leave before the socket goes.
      [key(ROUTES.shutdown), async () => (setImmediate(() => void close()), {})],
    ]);
    const server: ControlServer = await listenControl(socketPath, routes, log);
    // Informational only (the lock is the abstract socket): who to look at in `ps`.
    await writeFile(join(stateDir, 'lazysnapd.pid'), `${process.pid}\n`, { mode: 0o644 });
    if (opts.handleSignals) for (const sig of SIGNALS) process.on(sig, onSignal);
    log.info(`lazysnapd ${VERSION} pid ${process.pid} serving ${socketPath}`);

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
            active.set(record.mountpoint, await mountRecord(record));
            log.info(`restored ${record.reference} at ${record.mountpoint}`);
          } catch (err) {
            log.error(`cannot restore ${record.reference} at ${record.mountpoint}`, err);
            const e = findLazysnapError(err);
            failed.set(record.mountpoint, { mountpoint: record.mountpoint, reference: record.reference, record,
              error: { code: codeOf(err), message: e?.message ?? String(err) } });
          }
        }).catch((err: unknown) => log.warn(`restore of ${record.mountpoint} skipped`, err));
      }
    };
    const restored = restore();

    return { info, socketPath, restored, closed, status, close };
  }
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

function mountStatus(m: ActiveMount): MountStatus {
  const d = m.image.describe();
  const c = m.image.counters();
  const fs = m.fuse.stats();
  const lookups = c.cacheHits + c.cacheMisses;
  return {
    mountpoint: m.record.mountpoint,
    image: d.image,
    digest: d.digest,
    kind: 'view',
    bytesFetched: c.bytesFetched,
    requests: c.requests,
    cacheHits: c.cacheHits,
    cacheMisses: c.cacheMisses,
    reference: m.record.reference,
    ...(m.record.platform ? { platform: m.record.platform } : {}),
    prefetch: m.record.prefetch,
    mountedAt: m.record.mountedAt,
    layers: d.layers,
    compressedBytes: d.compressedBytes,
    cacheHitRate: lookups === 0 ? 0 : c.cacheHits / lookups,
    readLatencyMs: fs.readLatencyMs,
    errors: fs.errors,
    fetchErrors: c.errors,
    fsOps: fs.ops,
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
