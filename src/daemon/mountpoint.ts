// Mountpoint checks and unmounting, shared by fs/ (before mounting), the daemon and the
// CLI's dead-daemon `umount`. Only ASYNC child processes here: a synchronous one run
// against a mount this process serves would deadlock (its FUSE callbacks could not run).

import { spawn } from 'node:child_process';
import { readFile, realpath, stat, statfs } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.js';

const FUSERMOUNT = 'fusermount3';

export interface CommandResult {
  code: number;
  stderr: string;
}

/** Runs a command without a shell; never rejects for a non-zero exit (spawn errors do reject). */
export function runCommand(cmd: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 4096) stderr += s; });
    child.on('error', fail);
    child.on('close', (code, sig) => done({ code: code ?? (sig ? 128 : 1), stderr: stderr.trim() }));
  });
}

/**
 * The absolute, symlink-free form of a mountpoint. The last component is not resolved
 * (stat on a dead FUSE endpoint fails), only its parent.
 */
export async function resolveMountpoint(path: string, cwd = process.cwd()): Promise<string> {
  const abs = isAbsolute(path) ? resolve(path) : resolve(cwd, path);
  if (abs === '/') return abs;
  try {
    return join(await realpath(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

/** Mountpoints of this mount namespace, from /proc/self/mountinfo (octal escapes undone). */
export async function listMountpoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  }
  return out;
}

export type MountpointState = 'dir' | 'missing' | 'not-dir' | 'dead' | 'mounted';

/** What is at `path` (an absolute, resolved path): a usable directory, a mount, a dead FUSE endpoint... */
export async function probeMountpoint(path: string): Promise<MountpointState> {
  try {
    // statfs first: it always reaches the server, where stat may be answered from the
    // kernel's attribute cache long after the server died.
    await statfs(path);
    const st = await stat(path);
    if ((await listMountpoints()).has(path)) return 'mounted';
    return st.isDirectory() ? 'dir' : 'not-dir';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A FUSE server that died leaves its mount behind: every access fails with ENOTCONN.
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') return 'dead';
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'not-dir';
    throw err;
  }
}

/** Lazily detaches a dead FUSE endpoint; returns whether there was one. */
export async function cleanStaleMountpoint(path: string): Promise<boolean> {
  if ((await probeMountpoint(path)) !== 'dead') return false;
  const r = await runCommand(FUSERMOUNT, ['-u', '-z', path]);
  if ((await probeMountpoint(path)) === 'dead') {
    throw failedPrecondition(`cannot clean the dead mount at ${path}: ${r.stderr || `${FUSERMOUNT} exit ${r.code}`}`);
  }
  return true;
}

/**
 * Checks a mountpoint before mounting: cleans a dead endpoint left by a crashed server,
 * refuses a missing path, a non-directory or a live mount. Returns the resolved path.
 */
export async function prepareMountpoint(path: string): Promise<string> {
  const mnt = await resolveMountpoint(path);
  await cleanStaleMountpoint(mnt);
  switch (await probeMountpoint(mnt)) {
    case 'dir': return mnt;
    case 'missing': throw invalidArgument(`mountpoint ${mnt} does not exist`);
    case 'not-dir': throw invalidArgument(`mountpoint ${mnt} is not a directory`);
    case 'mounted': throw failedPrecondition(`mountpoint ${mnt} is already a mount`);
    case 'dead': throw failedPrecondition(`mountpoint ${mnt} is a dead FUSE mount that could not be cleaned`);
  }
}

/**
 * Unmounts a FUSE mount: `fusermount3 -u`, then `-u -z` (lazy: detached now, released
 * when the last open file closes) when busy or dead. Returns false when nothing was mounted there.
 */
export async function unmountPath(path: string): Promise<boolean> {
  if (!(await listMountpoints()).has(path)) return false;
  const first = await runCommand(FUSERMOUNT, ['-u', path]);
  if (first.code === 0 && !(await listMountpoints()).has(path)) return true;
  const lazy = await runCommand(FUSERMOUNT, ['-u', '-z', path]);
  if ((await listMountpoints()).has(path)) {
    throw failedPrecondition(`cannot unmount ${path}: ${lazy.stderr || first.stderr || `${FUSERMOUNT} exit ${lazy.code}`}`);
  }
  return true;
}
