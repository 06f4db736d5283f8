// lazysnap as the bench drives it: its command line (CLI.md), one state dir (so one daemon)
// per instance. A command that fails becomes a Skip naming the command and its error, so
// that rows light up as the features land and the bench runs meanwhile.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';
import { CommandError, run, type RunResult } from './exec.js';
import { Skip, type Prefetch } from './types.js';

export interface StatusMount {
  mountpoint: string;
  bytesFetched?: number;
  requests?: number;
  cacheHits?: number;
  cacheMisses?: number;
  /** The process serving this mount (absent when the daemon serves it itself). */
  serverPid?: number;
}

export interface StatusDoc {
  daemon?: { pid?: number };
  mounts?: StatusMount[];
}

// Every state dir and mountpoint this process used: checked after the run (leftovers()).
const usedStateDirs = new Set<string>();
const usedMountpoints = new Set<string>();

export class Lazysnap {
  private close_: () => Promise<void> = async () => {};
  private readonly mountpoints = new Set<string>();

  private constructor(
    private readonly bin: string,
    readonly stateDir: string,
  ) {}

  /** A fresh state dir (so a fresh daemon and an empty cache); close() stops both. */
  static async create(repoRoot: string): Promise<Lazysnap> {
    const dir = await mkdtemp(join(tmpdir(), 'lazysnap-bench-state-'));
    const ls = new Lazysnap(join(repoRoot, 'bin', 'lazysnap'), dir);
    usedStateDirs.add(dir);
    // Registered at once, so that Ctrl-C mid-mount still stops the daemon this state dir got.
    ls.close_ = defer(`lazysnap daemon and state dir ${dir}`, async () => {
      await ls.stopDaemon();
      await rm(dir, { recursive: true, force: true });
    });
    return ls;
  }

  /** `lazysnap ARGS` as a user runs the installed command: bin/lazysnap itself, not `node bin/lazysnap`. */
  async cli(args: string[], timeoutMs = 600_000): Promise<RunResult> {
    try {
      return await run(this.bin, ['--state-dir', this.stateDir, '--quiet', ...args], { timeoutMs });
    } catch (err) {
      if (err instanceof CommandError) {
        const last = err.result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${err.result.code}`;
        throw new Skip(`lazysnap ${args[0]} failed: ${last.slice(0, 200)}`);
      }
      throw err;
    }
  }

  /** Mounts and registers the umount; resolves when the CLI returns (the mount answers stat). */
  async mount(image: string, dir: string, prefetch?: Prefetch): Promise<() => Promise<void>> {
    usedMountpoints.add(dir);
    this.mountpoints.add(dir);
    await this.cli(['mount', image, dir, ...(prefetch ? ['--prefetch', prefetch] : [])]);
    return defer(`lazysnap umount ${dir}`, async () => {
      const r = await run(this.bin, ['--state-dir', this.stateDir, '--quiet', 'umount', dir], { check: false, timeoutMs: 30_000, forCleanup: true });
      // A daemon that died leaves a stale FUSE endpoint: detach it so the dir can go.
      if (r.code !== 0) await run('fusermount', ['-uz', dir], { check: false, forCleanup: true });
    });
  }

  async status(): Promise<StatusDoc> {
    const r = await this.cli(['status', '--json'], 30_000);
    try {
      return JSON.parse(r.stdout) as StatusDoc;
    } catch {
      throw new Skip('lazysnap status --json printed no JSON document');
    }
  }

  /**
   * The figures of the mount at dir (or the first mount), and the resident set of every
   * lazysnap process on this state dir: the daemon and, where lazysnap serves each mount
   * from its own process, those too (the tree and caches live there).
   */
  async mountFigures(dir: string): Promise<{ mount?: StatusMount; daemonRssBytes?: number }> {
    const s = await this.status();
    const mount = s.mounts?.find((m) => m.mountpoint === dir) ?? s.mounts?.[0];
    let rss = 0;
    for (const pid of await pidsOfStateDir(this.stateDir)) rss += (await rssBytes(pid)) ?? 0;
    return { mount, daemonRssBytes: rss || undefined };
  }

  /** Stops the daemon and removes the state dir. */
  close(): Promise<void> {
    return this.close_();
  }

  /** The daemon's pid, or undefined when none runs (status never starts one). */
  async daemonPid(): Promise<number | undefined> {
    const s = await run(this.bin, ['--state-dir', this.stateDir, '--quiet', 'status', '--json'], { check: false, timeoutMs: 30_000, forCleanup: true });
    try {
      return (JSON.parse(s.stdout) as StatusDoc).daemon?.pid ?? undefined;
    } catch {
      return undefined; // no daemon, or no status yet
    }
  }

  /**
   * `daemon stop` (it unmounts what it serves and exits), then by pid every process still
   * running on this state dir (the daemon, and per-mount servers where lazysnap has them):
   * `status` may fail or a daemon may hang, and neither may outlive the run. Then any of our
   * mountpoints still mounted is detached.
   */
  private async stopDaemon(): Promise<void> {
    await run(this.bin, ['--state-dir', this.stateDir, '--quiet', 'daemon', 'stop'], { check: false, timeoutMs: 30_000, forCleanup: true });
    for (const pid of await pidsOfStateDir(this.stateDir)) await stopPid(pid);
    for (const mp of await mountedOf(this.mountpoints)) await run('fusermount', ['-uz', mp], { check: false, forCleanup: true });
  }
}

/**
 * What this run left behind: FUSE mounts on the mountpoints it used, daemons of the state
 * dirs it made. Only ours are looked at (others may be running lazysnap on this machine).
 */
export async function leftovers(): Promise<string[]> {
  const out = (await mountedOf(usedMountpoints)).map((mp) => `still mounted: ${mp}`);
  for (const dir of usedStateDirs) {
    for (const pid of await pidsOfStateDir(dir)) out.push(`lazysnap process still running: pid ${pid} (--state-dir ${dir})`);
  }
  return out;
}

/** Those of dirs that are mount points now. */
async function mountedOf(dirs: Set<string>): Promise<string[]> {
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '');
  return mounts
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((mp): mp is string => !!mp && dirs.has(mp));
}

/** Pids of the lazysnap processes (daemon, mount servers, CLIs) started on this state dir. */
export async function pidsOfStateDir(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p))) {
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const i = cmd.indexOf('--state-dir');
    if (i >= 0 && cmd[i + 1] === dir && Number(pid) !== process.pid) out.push(Number(pid));
  }
  return out;
}

/** VmRSS of a process, in bytes. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

/**
 * Anonymous memory of a process (smaps_rollup), in bytes: its heap, malloc'd and other
 * memory not backed by a file, which only it holds. VmRSS also counts file pages: the node
 * binary's code a process has run (shared with every node process) and the pages of the
 * cache's memory-mapped files it has touched (shared by the servers of a state dir).
 */
export async function anonBytes(pid: number): Promise<number | undefined> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const kb = /^Anonymous:\s+(\d+) kB/m.exec(rollup)?.[1];
  return kb !== undefined ? Number(kb) * 1024 : undefined;
}

export async function stopPid(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}
