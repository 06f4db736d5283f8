// Everything a bench run starts (registry, proxies, mounts, daemons, temp dirs) registers its
// undo here, so that a failure or Ctrl-C still leaves the machine as it was. Undo runs last
// registered first: a mount goes before the registry it reads from.

type Undo = () => Promise<void> | void;

const stack: { label: string; undo: Undo }[] = [];
let installed = false;
let aborted = false;
const late = new Set<Promise<void>>();

/** Thrown by defer() once a signal has started the cleanup: the run stops there. */
export class Aborted extends Error {}

export function isAborted(): boolean {
  return aborted;
}

/** Registers an undo; call the returned function to run it now (once) and drop it. */
export function defer(label: string, undo: Undo): () => Promise<void> {
  const entry = { label, undo };
  if (aborted) {
    // Something finished starting after Ctrl-C (a temp dir, a child): undo it at once.
    const p = runOne(entry).finally(() => late.delete(p));
    late.add(p);
    throw new Aborted(`interrupted (${label} undone)`);
  }
  stack.push(entry);
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    const i = stack.indexOf(entry);
    if (i >= 0) stack.splice(i, 1);
    await runOne(entry);
  };
}

async function runOne(entry: { label: string; undo: Undo }): Promise<void> {
  try {
    await entry.undo();
  } catch (err) {
    process.stderr.write(`bench: cleanup "${entry.label}" failed: ${(err as Error).message}\n`);
  }
}

let running: Promise<void> | undefined;

/** Runs every pending undo, newest first; concurrent callers share one pass (keeps the order). */
export function cleanupAll(): Promise<void> {
  running ??= (async () => {
    while (stack.length > 0) await runOne(stack.pop()!);
  })().finally(() => (running = undefined));
  return running;
}

/** On SIGINT/SIGTERM: clean up, then exit 130/143. */
export function cleanupOnSignals(): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(sig, () => {
      aborted = true;
      process.stderr.write(`\nbench: ${sig}: cleaning up\n`);
      void (async () => {
        await cleanupAll();
        // Operations already in flight (a mkdtemp, a spawn) may still register an undo:
        // give them a moment, then undo those too.
        await new Promise((r) => setTimeout(r, 300));
        await Promise.all([...late]);
        await cleanupAll();
      })().finally(() => process.exit(code));
    });
  }
}
