// The CLI's side of the control socket: DaemonClient speaks the protocol, ensureDaemon
// starts lazysnapd in the background when none answers, and forceUnmount is `umount`
// for when the daemon is dead (it edits mounts.json, which only a dead daemon allows).

import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LazysnapError, notFound, unavailable } from '../errors.js';
import { statePaths } from '../state-dir.js';
import { resolveMountpoint, unmountPath } from './mountpoint.js';
import { removeRecord } from './mount-records.js';
import { ROUTES, type DaemonInfo, type MountRequest, type MountStatus, type StatusReport } from './protocol.js';

const PING_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 15_000;
const START_POLL_MS = 50;
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
    return this.call(ROUTES.status) as Promise<StatusReport>;
  }

  /** Mounts and returns once the mount answers stat. A relative mountpoint is taken from this process's cwd. */
  async mount(req: MountRequest): Promise<MountStatus> {
    return this.call(ROUTES.mount, { ...req, mountpoint: await resolveMountpoint(req.mountpoint) }) as Promise<MountStatus>;
  }

  async umount(mountpoint: string): Promise<{ mountpoint: string }> {
    return this.call(ROUTES.umount, { mountpoint: await resolveMountpoint(mountpoint) }) as Promise<{ mountpoint: string }>;
  }

  shutdown(): Promise<void> {
    return this.call(ROUTES.shutdown).then(() => undefined);
  }

  private call(route: { method: string; path: string }, body?: unknown, timeoutMs?: number): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((done, fail) => {
      const req = request({
        socketPath: this.socketPath, path: route.path, method: route.method, agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        ...(timeoutMs ? { timeout: timeoutMs } : {}),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch (err) {
            return fail(unavailable(`the daemon of ${this.stateDir} sent a response that is not JSON`, err));
          }
          if (res.statusCode === 200) done(parsed);
          else fail(LazysnapError.fromJSON(parsed));
        });
      });
      req.on('timeout', () => req.destroy(unavailable(`the daemon of ${this.stateDir} did not answer within ${timeoutMs} ms`)));
      req.on('error', (err) => fail(err instanceof LazysnapError ? err
        : unavailable(`no lazysnap daemon answers on ${this.socketPath}: ${(err as Error).message}`, err)));
      req.end(payload);
    });
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
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', logFile.fd, logFile.fd] });
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
 * `umount` without a daemon (it crashed or was killed): detaches the mount with
 * fusermount3 (-u, then -u -z) and drops its record so no later daemon restores it.
 * NOT_FOUND when there was neither a mount nor a record.
 */
export async function forceUnmount(stateDir: string, mountpoint: string): Promise<{ mountpoint: string; unmounted: boolean; recordRemoved: boolean }> {
  const mnt = await resolveMountpoint(mountpoint);
  const unmounted = await unmountPath(mnt);
  const recordRemoved = await removeRecord(stateDir, mnt);
  if (!unmounted && !recordRemoved) throw notFound(`nothing is mounted at ${mnt}`);
  return { mountpoint: mnt, unmounted, recordRemoved };
}
