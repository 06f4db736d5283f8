// FetchLimiter: bounds the Range requests a layer reader has in flight, and keeps
// prefetch out of the way of on-demand reads: queued 'demand' jobs always start before
// queued 'prefetch' jobs, and prefetch never holds more than one slot, so a process
// reading files while a background prefetch runs waits for at most one prefetch request.

import { invalidArgument, unavailable } from '../errors.js';

export type FetchPriority = 'demand' | 'prefetch';

interface Job {
  readonly priority: FetchPriority;
  readonly start: () => void;
  readonly cancel: () => void;
}

/** Most requests one limiter runs at once; higher is a configuration error. */
export const MAX_CONCURRENT_FETCHES = 256;

export class FetchLimiter {
  private running = 0;
  private runningPrefetch = 0;
  private readonly demand: Job[] = [];
  private readonly prefetch: Job[] = [];

  constructor(readonly maxConcurrent: number) {
    if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1 || maxConcurrent > MAX_CONCURRENT_FETCHES) {
      throw invalidArgument(`maxConcurrentFetches must be 1..${MAX_CONCURRENT_FETCHES}, got ${maxConcurrent}`);
    }
  }

  /** Runs fn when a slot is free; a signal that aborts while the job waits cancels it. */
  run<T>(priority: FetchPriority, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(unavailable('fetch aborted before it started', signal.reason));
      const queue = priority === 'demand' ? this.demand : this.prefetch;
      const onAbort = () => {
        const i = queue.indexOf(job);
        if (i >= 0) queue.splice(i, 1);
        reject(unavailable('fetch aborted before it started', signal?.reason));
      };
      const job: Job = {
        priority,
        cancel: onAbort,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.running++;
          if (priority === 'prefetch') this.runningPrefetch++;
          fn().then(resolve, reject).finally(() => {
            this.running--;
            if (priority === 'prefetch') this.runningPrefetch--;
            this.pump();
          });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(job);
      this.pump();
    });
  }

  /** Jobs waiting for a slot (for tests and status). */
  get queued(): number {
    return this.demand.length + this.prefetch.length;
  }

  get active(): number {
    return this.running;
  }

  private pump(): void {
    while (this.running < this.maxConcurrent) {
      let job = this.demand.shift();
      if (!job && this.runningPrefetch === 0) job = this.prefetch.shift();
      if (!job) return;
      job.start();
    }
  }
}
