// lazysnap as the bench drives it: its command line (CLI.md), one state dir (so one daemon)
// per instance. A command that fails becomes a Skip naming the command and its error, so
// that rows light up as the features land and the bench runs meanwhile.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
}

export interface StatusDoc {
  daemon?: { pid?: number };
  mounts?: StatusMount[];
}

export class Lazysnap {
  private close_: () => Promise<void> = async () => {};

  private constructor(
    private readonly bin: string,
    readonly stateDir: string,
  ) {}

  /** A fresh state dir (so a fresh daemon and an empty cache); close() stops both. */
  static async create(repoRoot: string): Promise<Lazysnap> {
    const dir = await mkdtemp(join(tmpdir(), 'lazysnap-bench-state-'));
    const ls = new Lazysnap(join(repoRoot, 'bin', 'lazysnap'), dir);
    // Registered at once, so that Ctrl-C mid-mount still stops the daemon this state dir got.
    ls.close_ = defer(`lazysnap daemon and state dir ${dir}`, async () => {
      await ls.stopDaemon();
      await rm(dir, { recursive: true, force: true });
    });
    return ls;
  }

  async cli(args: string[], timeoutMs = 600_000): Promise<RunResult> {
    try {
      return await run('node', [this.bin, '--state-dir', this.stateDir, '--quiet', ...args], { timeoutMs });
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
    await this.cli(['mount', image, dir, ...(prefetch ? ['--prefetch', prefetch] : [])]);
    return defer(`lazysnap umount ${dir}`, async () => {
      const r = await run('node', [this.bin, '--state-dir', this.stateDir, '--quiet', 'umount', dir], { check: false, timeoutMs: 30_000, forCleanup: true });
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

  /** The figures of the mount at dir (or the first mount). */
  async mountFigures(dir: string): Promise<{ mount?: StatusMount; daemonRssBytes?: number }> {
    const s = await this.status();
    const mount = s.mounts?.find((m) => m.mountpoint === dir) ?? s.mounts?.[0];
    const pid = s.daemon?.pid;
    return { mount, daemonRssBytes: pid ? await rssBytes(pid) : undefined };
  }

  /** Stops the daemon and removes the state dir. */
  close(): Promise<void> {
    return this.close_();
  }

  /** Stops the daemon by the pid it reports (there may be no daemon command to stop it). */
  private async stopDaemon(): Promise<void> {
    const s = await run('node', [this.bin, '--state-dir', this.stateDir, '--quiet', 'status', '--json'], { check: false, timeoutMs: 30_000, forCleanup: true });
    let pid: number | undefined;
    try {
      pid = (JSON.parse(s.stdout) as StatusDoc).daemon?.pid;
    } catch {
      // no daemon, or no status yet
    }
    if (pid) await stopPid(pid);
  }
}

/** VmRSS of a process, in bytes. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

async function stopPid(pid: number): Promise<void> {
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
