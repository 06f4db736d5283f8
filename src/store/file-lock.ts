// A lock file for exclusion between processes sharing one store (the daemon and a CLI
// command): created with O_EXCL, holding "PID TOKEN". A lock whose process is gone is
// stale and broken (a kill -9 mid-ingest must not wedge the store); a live holder is
// waited for, polling with backoff, for as long as the caller's signal allows.

import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { pidAlive } from './durable-file.js';

export type AsyncRelease = () => Promise<void>;

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 250;
/** A lock file without a readable owner (its creator died between open and write) is stale after this. */
const OWNERLESS_STALE_MS = 10_000;

export async function acquireFileLock(path: string, signal?: AbortSignal): Promise<AsyncRelease> {
  const token = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  let wait = FIRST_POLL_MS;
  for (;;) {
    signal?.throwIfAborted();
    if (await tryCreate(path, token)) {
      return async () => {
        // Only remove the lock if it is still ours (never someone else's after a break).
        const now = await readFile(path, 'utf8').catch(() => undefined);
        if (now === token) await rm(path, { force: true });
      };
    }
    if (await breakIfStale(path)) continue;
    await sleep(wait, signal);
    wait = Math.min(wait * 2, MAX_POLL_MS);
  }
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(token);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes the lock when its owner is dead; true when it did (or the lock vanished). */
async function breakIfStale(path: string): Promise<boolean> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const pid = Number(content.split(' ')[0]);
  if (Number.isSafeInteger(pid) && pid > 0) {
    if (pidAlive(pid)) return false;
  } else {
    const st = await stat(path).catch(() => undefined);
    if (!st) return true;
    if (Date.now() - st.mtimeMs < OWNERLESS_STALE_MS) return false;
  }
  // Move the stale lock aside atomically; if what we moved is not what we judged stale
  // (another process broke and re-took it meanwhile), put it back.
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== content) await link(aside, path).catch(() => {});
  await rm(aside, { force: true });
  return true;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
