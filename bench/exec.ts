// Async child processes for the bench. Always async: the bench may read from FUSE mounts,
// and a synchronous child would block this process's event loop. Each child gets its own
// process group so that a timeout (or cleanup) stops it and everything it started.

import { spawn, type ChildProcess } from 'node:child_process';
import { defer } from './cleanup.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Throw a CommandError on a non-zero exit (default true). */
  check?: boolean;
  /** Send stdout to the host's /dev/null instead of capturing it (workload output). */
  discardStdout?: boolean;
  /** An undo step itself (umount, registry stop): runs even after Ctrl-C, untracked. */
  forCleanup?: boolean;

}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly result: RunResult) {
    const last = result.stderr.trim().split('\n').filter(Boolean).pop() ?? '';
    super(`${command} exited ${result.code ?? 'on a signal'}${last ? `: ${last}` : ''}`);
  }
}

const MAX_CAPTURE = 4 * 1024 * 1024;

/** Signals a child's whole process group (it was spawned detached, so it leads one). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Starts a long-running child (e.g. a server in a chroot); the caller stops it. */
export function start(cmd: string, args: string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: 'ignore' });
  child.on('error', () => {});
  return child;
}

/** Waits for a child to exit (at most ms, then SIGKILL). */
export async function stopChild(child: ChildProcess, ms = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

/** Runs a command to completion, capturing its output; the time covers spawn to exit. */
export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'] });
  const undo = options.forCleanup ? async () => {} : defer(`${cmd} (pid ${child.pid})`, () => stopChild(child));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (stdout.length < MAX_CAPTURE) stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < MAX_CAPTURE) stderr += d.toString();
  });
  const timer = options.timeoutMs
    ? setTimeout(() => {
        stderr += `\n(timed out after ${options.timeoutMs} ms)`;
        killGroup(child, 'SIGKILL');
      }, options.timeoutMs)
    : undefined;
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      stderr += `${err.message}\n`;
      resolve(127);
    });
    child.once('close', (c) => resolve(c));
  });
  if (timer) clearTimeout(timer);
  await undo();
  const result = { code, stdout, stderr, ms: performance.now() - t0 };
  if ((options.check ?? true) && code !== 0) throw new CommandError([cmd, ...args].join(' '), result);
  return result;
}

/** The absolute path of a tool on PATH (with the sbin dirs), or undefined. */
export async function which(tool: string): Promise<string | undefined> {
  const path = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const r = await run('sh', ['-c', 'command -v "$1"', 'which', tool], { check: false, env: { ...process.env, PATH: path } });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
