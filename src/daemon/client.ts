// The CLI's side of the control socket: DaemonClient speaks the protocol, ensureDaemon
// starts lazysnapd in the background when none answers, and forceUnmount is `umount`
// for when the daemon is dead (it edits mounts.json, which only a dead daemon allows).

import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LazysnapError, notFound, unavailable } from '../errors.js';
import { statePaths } from '../state-dir.js';
import { lazysnapChildEnv } from '../registry/extra-ca.js';
import { resolveMountpoint, unmountPath } from './mountpoint.js';
import { loadRecords, removeRecord } from './mount-records.js';
import { ROUTES, type AdoptRequest, type DaemonInfo, type MountRequest, type MountStatus, type ShutdownRequest, type StatusReport } from './protocol.js';
import { stopServer } from './server-process.js';
import { callSocket, type Route } from './socket-call.js';

const PING_TIMEOUT_MS = 2000;
/** status asks each mount server with its own 2 s bound, all at once. */
const STATUS_TIMEOUT_MS = 30_000;
/** Opening a big image over a slow link; the daemon bounds the server start at 120 s. */
const MOUNT_TIMEOUT_MS = 180_000;
/** umount, and shutdown with unmountAll: fusermount3 per mount. */
const UNMOUNT_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 15_000;
/** A connect attempt to a socket that is not there yet costs microseconds: poll often. */
const START_POLL_MS = 10;
const EXITED_GRACE_MS = 1000;

export class DaemonClient {
  readonly socketPath: string;

  constructor(readonly stateDir: string) {
    this.socketPath = statePaths(stateDir).socket;
  }

  /** A client for the daemon of `stateDir`; UNAVAILABLE when none answers. */
  static async connect(stateDir: string): Promise<DaemonClient> {
    const client = new DaemonClient(stateDir);
    await client.ping();
    return client;
  }

  ping(): Promise<DaemonInfo> {
    return this.call(ROUTES.ping, undefined, PING_TIMEOUT_MS) as Promise<DaemonInfo>;
  }

  status(): Promise<StatusReport> {
    return this.call(ROUTES.status, undefined, STATUS_TIMEOUT_MS) as Promise<StatusReport>;
  }

  /** Mounts and returns once the mount answers stat. A relative mountpoint is taken from this process's cwd. */
  async mount(req: MountRequest): Promise<MountStatus> {
    return this.call(ROUTES.mount, { ...req, mountpoint: await resolveMountpoint(req.mountpoint) }, MOUNT_TIMEOUT_MS) as Promise<MountStatus>;
  }

  /** Records a mount whose server the caller started and that already serves. */
  adopt(req: AdoptRequest): Promise<MountStatus> {
    return this.call(ROUTES.adopt, req, MOUNT_TIMEOUT_MS) as Promise<MountStatus>;
  }

  async umount(mountpoint: string): Promise<{ mountpoint: string }> {
    return this.call(ROUTES.umount, { mountpoint: await resolveMountpoint(mountpoint) }, UNMOUNT_TIMEOUT_MS) as Promise<{ mountpoint: string }>;
  }

  /** Stops the control side; with unmountAll every mount server too. Resolves once asked (not once closed). */
  shutdown(req: ShutdownRequest = {}): Promise<void> {
    return this.call(ROUTES.shutdown, req, UNMOUNT_TIMEOUT_MS).then(() => undefined);
  }

  private call(route: Route, body: unknown, timeoutMs: number): Promise<unknown> {
    return callSocket(this.socketPath, route, body, { timeoutMs, peer: `the daemon of ${this.stateDir}` });
  }
}

/**
 * A client for the daemon of `stateDir`, starting one when none answers: `spawnArgs` (the
 * command that runs the daemon in the foreground, given by the CLI) runs detached with
 * its output in STATE/daemon.log. Two callers racing both spawn; the state-dir lock lets
 * one daemon win and both connect to it.
 */
export async function ensureDaemon(stateDir: string, spawnArgs: readonly string[], opts: { timeoutMs?: number } = {}): Promise<DaemonClient> {
  try {
    return await DaemonClient.connect(stateDir);
  } catch {
    // nobody home: start one
  }
  const [cmd, ...args] = spawnArgs;
  if (!cmd) throw new LazysnapError('INVALID_ARGUMENT', 'ensureDaemon needs the command that runs the daemon');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const logPath = join(stateDir, 'daemon.log');
  const logFile = await open(logPath, 'a', 0o600);
  let exited: string | undefined;
  let exitedAt = 0;
  try {
    // NODE_EXTRA_CA_CERTS handed over (extra-ca.ts): node would load it at the daemon's start.
    const child = spawn(cmd, args, { detached: true, env: lazysnapChildEnv(process.env), stdio: ['ignore', logFile.fd, logFile.fd] });
    child.on('exit', (code, signal) => { exited = `exited ${code ?? signal}`; exitedAt = Date.now(); });
    child.on('error', (err) => { exited = `could not start: ${err.message}`; exitedAt = Date.now(); });
    child.unref();
  } finally {
    await logFile.close();
  }
  const deadline = Date.now() + (opts.timeoutMs ?? START_TIMEOUT_MS);
  for (;;) {
    try {
      return await DaemonClient.connect(stateDir);
    } catch (err) {
      // A child that exited may have lost the lock to a daemon another caller started:
      // give that one a moment to answer before giving up.
      if (Date.now() > deadline || (exited && Date.now() - exitedAt > EXITED_GRACE_MS)) {
        const tail = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
        throw unavailable(`the lazysnap daemon did not start (${exited ?? 'no answer'}); last lines of ${logPath}:\n${tail}`, err);
      }
    }
    await new Promise((r) => setTimeout(r, START_POLL_MS));
  }
}

/**
 * `umount` without a daemon (it crashed, was killed or stopped): stops the mount's server
 * (asked to unmount; killed by pid when it does not answer), detaches whatever is left
 * with fusermount3 (-u, then -u -z) and drops the record so no later daemon restores it.
 * NOT_FOUND when there was neither a mount nor a record.
 */
export async function forceUnmount(stateDir: string, mountpoint: string): Promise<{ mountpoint: string; unmounted: boolean; recordRemoved: boolean }> {
  const mnt = await resolveMountpoint(mountpoint);
  const record = (await loadRecords(stateDir)).find((r) => r.mountpoint === mnt);
  const unmounted = record ? await stopServer(record) : await unmountPath(mnt);
  const recordRemoved = (await removeRecord(stateDir, mnt)) !== undefined;
  if (!unmounted && !recordRemoved) throw notFound(`nothing is mounted at ${mnt}`);
  return { mountpoint: mnt, unmounted, recordRemoved };
}
