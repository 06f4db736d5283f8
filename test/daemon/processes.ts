// Process helpers for tests that start real daemons and mount servers: liveness that does
// not count zombies (a killed, re-parented server may linger unreaped), and a cleanup that
// kills every process whose command line names a test's state dir, even after a failure.

import { readdir, readFile } from 'node:fs/promises';

/** Running (not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z';
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function waitDead(pid: number): Promise<void> {
  await waitFor(`pid ${pid} to exit`, async () => !(await alive(pid)));
}

/** SIGKILLs every process (but this one) whose command line contains `needle`; returns their pids. */
export async function killMentioning(needle: string): Promise<number[]> {
  const killed: number[] = [];
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(needle)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}
