// Runs a bundle with crun or runc in the foreground, as `docker run` does: the
// container's exit code comes back, SIGINT/SIGTERM sent to us reach the container, and
// the container is deleted afterwards whatever happened.
//
// Every child process here is asynchronous: the bundle's root is often a FUSE mount
// served by this same process, and a synchronous spawn would stop it from answering the
// runtime's reads (deadlock).

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { internal, invalidArgument, LazysnapError, notFound } from '../errors.js';

export type RuntimeName = 'crun' | 'runc';

export interface OciRuntime {
  name: RuntimeName;
  /** absolute path of the runtime binary */
  path: string;
}

export interface RunContainerOptions {
  /** directory holding config.json */
  bundleDir: string;
  /** container id; default newContainerId() */
  id?: string;
  runtime: OciRuntime;
  /** 'inherit': the container uses our stdio; 'pipe': stdin is /dev/null, output is returned */
  stdio: 'inherit' | 'pipe';
  /** abort: SIGTERM to the container, SIGKILL after killGraceMs */
  signal?: AbortSignal;
  /** default 10 s, as `docker stop` waits */
  killGraceMs?: number;
  /** cap on each of stdout and stderr kept in 'pipe' mode (default 16 MiB); the rest is dropped */
  maxOutputBytes?: number;
}

export interface RunResult {
  /** the container process's exit status (128 + signal number when it was killed) */
  exitCode: number;
  stdout?: Buffer;
  stderr?: Buffer;
  /** set when output went past maxOutputBytes and its tail was dropped */
  outputTruncated?: boolean;
}

/** Tried in this order when no runtime is preferred (crun first, as DESIGN.md says). */
const RUNTIME_NAMES: readonly RuntimeName[] = ['crun', 'runc'];
/** Runtimes live in sbin on Debian, which a non-root PATH often lacks. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 10_000;
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * The runtime to use: `preferred` first, then the other one, looked up in `searchPath`
 * (default: PATH, then the sbin directories). NOT_FOUND naming both when neither is there.
 */
export async function findRuntime(preferred?: RuntimeName, searchPath = defaultSearchPath()): Promise<OciRuntime> {
  const names = preferred ? [preferred, ...RUNTIME_NAMES.filter((n) => n !== preferred)] : RUNTIME_NAMES;
  const dirs = searchPath.split(delimiter).filter((d) => isAbsolute(d));
  for (const name of names) {
    for (const dir of dirs) {
      const path = join(dir, name);
      try {
        await access(path, constants.X_OK);
        return { name, path };
      } catch {
        // not here; keep looking
      }
    }
  }
  throw notFound(`no OCI runtime found: neither crun nor runc is in ${searchPath || '(empty search path)'}`);
}

function defaultSearchPath(): string {
  return [process.env.PATH ?? '', ...SBIN_DIRS].filter(Boolean).join(delimiter);
}

/** A fresh container id: lazysnap-<12 hex digits>. */
export function newContainerId(): string {
  return `lazysnap-${randomBytes(6).toString('hex')}`;
}

/**
 * Runs the bundle in the foreground until the container exits and returns its exit
 * code. The container is deleted afterwards (`RUNTIME delete -f`), also on abort or
 * error. An abort does not reject: the result carries the exit code the kill produced.
 */
export async function runContainer(opts: RunContainerOptions): Promise<RunResult> {
  const id = opts.id ?? newContainerId();
  if (!CONTAINER_ID.test(id)) throw invalidArgument(`container id "${id}" must be letters, digits, '_', '.', '-'`);
  if (!isAbsolute(opts.bundleDir)) throw invalidArgument(`bundle directory "${opts.bundleDir}" is not absolute`);
  opts.signal?.throwIfAborted();

  let result: RunResult | undefined;
  let failure: unknown;
  try {
    result = await runForeground(opts, id);
  } catch (err) {
    failure = err;
  }
  try {
    await runtimeCommand(opts.runtime, ['delete', '-f', id]);
  } catch (err) {
    // A leaked container keeps its cgroup and state; say so unless something failed first.
    if (failure === undefined) throw internal(`container ${id} ran but could not be deleted: ${(err as Error).message}`, err);
  }
  if (failure !== undefined) throw failure;
  return result as RunResult;
}

function runForeground(opts: RunContainerOptions, id: string): Promise<RunResult> {
  const [file, argv] = wrapRuntime(opts.runtime, ['run', '--bundle', opts.bundleDir, id]);
  const child = spawn(file, argv, {
    stdio: opts.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  const maxBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const out = { stdout: new OutputBuffer(maxBytes), stderr: new OutputBuffer(maxBytes) };
  child.stdout?.on('data', (b: Buffer) => out.stdout.push(b));
  child.stderr?.on('data', (b: Buffer) => out.stderr.push(b));

  // The runtime's kill reaches the container's process; signalling the runtime's own
  // process is the fallback while the container does not exist yet. (From a terminal,
  // Ctrl-C also reaches the runtime, which forwards it itself: the container may see it twice.)
  const forward = (sig: NodeJS.Signals): void => {
    runtimeCommand(opts.runtime, ['kill', id, sig]).catch(() => {
      if (child.exitCode === null) child.kill(sig);
    });
  };
  const onSigint = (): void => forward('SIGINT');
  const onSigterm = (): void => forward('SIGTERM');
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    forward('SIGTERM');
    killTimer = setTimeout(() => forward('SIGKILL'), opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const cleanup = (): void => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    opts.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  };

  return new Promise<RunResult>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(err.code === 'ENOENT'
        ? notFound(`cannot start ${file} for runtime ${opts.runtime.name}: not found`, err)
        : internal(`cannot start ${file} for runtime ${opts.runtime.name}: ${err.message}`, err));
    });
    child.once('close', (code, sig) => {
      cleanup();
      const exitCode = code ?? 128 + signalNumber(sig);
      if (opts.stdio === 'inherit') return resolve({ exitCode });
      const truncated = out.stdout.truncated || out.stderr.truncated;
      resolve({
        exitCode, stdout: out.stdout.concat(), stderr: out.stderr.concat(),
        ...(truncated ? { outputTruncated: true } : {}),
      });
    });
  });
}

/** Runs a short runtime subcommand (kill, delete, state); rejects with its stderr. */
function runtimeCommand(runtime: OciRuntime, args: string[]): Promise<string> {
  const [file, argv] = wrapRuntime(runtime, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new LazysnapError('INTERNAL', `${runtime.name} ${args.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/**
 * The command line for a runtime subcommand. crun runs in a private mount namespace
 * with the cgroup2 mount of a hybrid hierarchy removed: crun 1.8 otherwise takes the
 * host for cgroup v2 and fails to create the container. The umount stays in that
 * namespace; the host keeps its mounts.
 */
export function wrapRuntime(runtime: OciRuntime, args: string[]): [string, string[]] {
  if (runtime.name === 'runc') return [runtime.path, args];
  const script = 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"';
  return ['unshare', ['-m', 'sh', '-c', script, 'lazysnap-crun', runtime.path, ...args]];
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const n = sig ? (osConstants.signals as Record<string, number | undefined>)[sig] : undefined;
  return n ?? 0;
}

/** Keeps the first maxBytes of a stream (bounded memory for chatty containers). */
class OutputBuffer {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;
  constructor(private readonly maxBytes: number) {}
  push(b: Buffer): void {
    const room = this.maxBytes - this.bytes;
    if (b.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(kept);
    this.bytes += kept.length;
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
