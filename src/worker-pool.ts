// forEachLimited: the one bounded worker pool (layers opened in parallel, blobs pulled in
// parallel). Items start in order, at most `limit` at a time. The first failure stops new
// starts, aborts the signal the running ones were given, and is thrown once every started
// item has settled, so nothing keeps running behind the caller's back (a pull's writers
// close, keeping partial data for a resume). An outer signal aborts the same way.

export async function forEachLimited<T>(
  items: readonly T[], limit: number,
  work: (item: T, index: number, signal: AbortSignal) => Promise<void>,
  outer?: AbortSignal,
): Promise<void> {
  const ctl = new AbortController();
  const onOuter = () => ctl.abort(outer!.reason);
  if (outer?.aborted) onOuter();
  outer?.addEventListener('abort', onOuter, { once: true });
  let next = 0;
  let firstError: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !ctl.signal.aborted) {
      const i = next++;
      try {
        await work(items[i]!, i, ctl.signal);
      } catch (err) {
        if (!firstError) firstError = { err };
        ctl.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  if (firstError) throw firstError.err;
  ctl.signal.throwIfAborted();
}
