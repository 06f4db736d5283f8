// Hands a mount server's garbage back once it goes quiet. Opening an image (the parsed TOC
// JSON), a walk of the tree (a path string and a stat object per FUSE callback) and a
// prefetch (decoded chunks on their way to the caches) each leave tens of megabytes of
// garbage in a heap that V8 keeps committed until the next burst of allocation: on an idle
// server, which is what most mounts are most of the time, that is never. Measured: the
// python image's server held 35 MB above its base after mounting, 9 MB after one full
// collection. So: one collection each time activity stops, never during it (a full
// collection of this heap stalls the JS thread for some milliseconds, which a read waiting
// on it would feel), at most one per burst. The same idea as Go's background scavenger.
//
// Needs gc() from V8's --expose-gc (a mount server sets it up at run time:
// cli/commands/mount-server-command.ts); without it this does nothing.

export interface IdleCollectorOptions {
  /** A number that changes whenever the server works (FUSE callbacks, fetched bytes). */
  activity(): number;
  /** How long activity must have stood still before collecting. */
  quietMs?: number;
  /** How long after a collection the follow-up comes (if still quiet). */
  followUpMs?: number;
  /** How often activity is sampled. */
  checkMs?: number;
  /** The collection itself (tests pass a counter). */
  collect?: () => void;
}

const DEFAULT_QUIET_MS = 2_000;
const DEFAULT_CHECK_MS = 500;
const DEFAULT_FOLLOW_UP_MS = 1_000;

/**
 * The decision alone: fed samples of activity, says when to collect. The process starts
 * dirty (it has just opened an image), so the first collection comes once the mount has
 * been quiet for quietMs; then one after each later burst. Each is followed by one more
 * followUpMs later if still quiet: V8 gives back the pages a collection emptied only
 * after its sweeping, which runs behind it, so it takes a second collection to return
 * them (measured: a server's old space 15.2 MB committed, 7.7 MB used after one
 * collection; servers 2-9 MB apart from one run to the next, ~0.5 MB with the second).
 */
export class IdleWatch {
  private last: number;
  private quietSince: number;
  private dirty = true;
  private followUpAt: number | undefined;

  constructor(activity: number, now: number, private readonly quietMs = DEFAULT_QUIET_MS,
    private readonly followUpMs = DEFAULT_FOLLOW_UP_MS) {
    this.last = activity;
    this.quietSince = now;
  }

  /** True when a collection is due now. */
  sample(activity: number, now: number): boolean {
    if (activity !== this.last) {
      this.last = activity;
      this.quietSince = now;
      this.dirty = true;
      this.followUpAt = undefined;
      return false;
    }
    if (this.dirty) {
      if (now - this.quietSince < this.quietMs) return false;
      this.dirty = false;
      this.followUpAt = now + this.followUpMs;
      return true;
    }
    if (this.followUpAt === undefined || now < this.followUpAt) return false;
    this.followUpAt = undefined;
    return true;
  }
}

/** Starts watching on a timer; returns a stop function. */
export function collectWhenIdle(opts: IdleCollectorOptions): () => void {
  const collect = opts.collect ?? (globalThis as { gc?: () => void }).gc;
  if (!collect) return () => {};
  const watch = new IdleWatch(opts.activity(), Date.now(), opts.quietMs, opts.followUpMs);
  const timer = setInterval(() => {
    if (watch.sample(opts.activity(), Date.now())) collect();
  }, opts.checkMs ?? DEFAULT_CHECK_MS);
  timer.unref(); // never what keeps the process alive
  return () => clearInterval(timer);
}
