// Durable, atomic file writes: data goes to a temp file beside the target's directory
// (in the store's ingest/ dir, same filesystem), is fsynced, renamed over the target,
// and the directory is fsynced, so a crash leaves either the old file or the new one.

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Temp names carry our pid so a later open can tell leftovers of dead processes. */
export function tempName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
}

/** The pid recorded in a temp file's name (see tempName), if any. */
export function pidOfTempName(name: string): number | undefined {
  const m = /-(\d+)-[0-9a-f]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so a rename or unlink in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `target` atomically, through a temp file in `tempDir`. */
export async function writeFileAtomic(tempDir: string, target: string, targetDir: string, data: Uint8Array): Promise<void> {
  const tmp = join(tempDir, tempName('put'));
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(targetDir);
}
