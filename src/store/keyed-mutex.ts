// In-process mutual exclusion per key (a digest, "index.json"): callers queue on a promise
// chain; release() hands the key to the next waiter. Cross-process exclusion is the
// lock file's job (file-lock.ts); this keeps one process from polling against itself.

export type Release = () => void;

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async lock(key: string, signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: Release;
    const mine = new Promise<void>((resolve) => {
      let done = false;
      release = () => {
        if (done) return;
        done = true;
        if (this.tails.get(key) === tail) this.tails.delete(key);
        resolve();
      };
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    if (signal) {
      // Waiting can be abandoned; our slot is then released as soon as it comes up.
      const abandoned = new Promise<never>((_, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        void previous.then(() => signal.removeEventListener('abort', onAbort));
      });
      abandoned.catch(() => {}); // an abort after we got the key is nobody's business

      try {
        await Promise.race([previous, abandoned]);
      } catch (err) {
        void previous.then(release);
        throw err;
      }
    } else {
      await previous;
    }
    return release;
  }
}
