// Finding, asking and stopping a mount server by its record (pid + socket), shared by the
// daemon and the daemon-less `umount`. A pid alone is not trusted (pids are reused): a
// process counts as our server only if its command line names the record's socket.

import { readFile, rm } from 'node:fs/promises';
import { findLazysnapError, isCode, unavailable } from '../errors.js';
import type { MountRecord } from './mount-records.js';
import { unmountPath } from './mountpoint.js';
import { SERVER_ROUTES, type MountServerInfo } from './protocol.js';
import { callSocket } from './socket-call.js';

/** Ping and stats: a live server answers in microseconds; a hung one must not stall `status`. */
export const SERVER_QUERY_TIMEOUT_MS = 2000;
/** Unmounting waits for fusermount3 (twice, when busy). */
export const SERVER_UNMOUNT_TIMEOUT_MS = 30_000;
const EXIT_WAIT_MS = 5000;
const EXIT_POLL_MS = 20;

export const serverPeer = (mountpoint: string) => `the mount server of ${mountpoint}`;

/** Whether `pid` runs and is the server whose socket is `socketPath` (not a reused pid; not a zombie). */
export async function isServerAlive(pid: number, socketPath: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(JSON.stringify(socketPath).slice(1, -1));
}

export async function waitForExit(pid: number, socketPath: string, ms = EXIT_WAIT_MS): Promise<boolean> {
  const end = Date.now() + ms;
  while (await isServerAlive(pid, socketPath)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, EXIT_POLL_MS));
  }
  return true;
}

export function pingServer(socketPath: string, mountpoint: string): Promise<MountServerInfo> {
  return callSocket(socketPath, SERVER_ROUTES.ping, undefined, { timeoutMs: SERVER_QUERY_TIMEOUT_MS, peer: serverPeer(mountpoint) }) as Promise<MountServerInfo>;
}

/**
 * Stops the server of `record` and detaches its mountpoint, whatever state it is in:
 * asks it to unmount (clean: it releases the FUSE session itself); when it is dead or
 * does not answer, kills it by pid and detaches the endpoint with fusermount3 (-u, then
 * -u -z). Returns whether a mount was detached. A server that answers with a refusal
 * (not UNAVAILABLE) is left serving and its error rethrown.
 */
export async function stopServer(record: MountRecord): Promise<boolean> {
  const { mountpoint, serverPid: pid, serverSocket: socket } = record;
  if (pid !== undefined && socket !== undefined) {
    try {
      await callSocket(socket, SERVER_ROUTES.unmount, {}, { timeoutMs: SERVER_UNMOUNT_TIMEOUT_MS, peer: serverPeer(mountpoint) });
      await waitForExit(pid, socket);
      return true;
    } catch (err) {
      if (!isCode(err, 'UNAVAILABLE')) throw err;
    }
    if (await isServerAlive(pid, socket)) {
      process.kill(pid, 'SIGKILL');
      if (!(await waitForExit(pid, socket))) throw unavailable(`the mount server of ${mountpoint} (pid ${pid}) survived SIGKILL`);
    }
    await rm(socket, { force: true });
  }
  try {
    return await unmountPath(mountpoint);
  } catch (err) {
    throw findLazysnapError(err) ?? unavailable(`cannot unmount ${mountpoint}`, err);
  }
}
