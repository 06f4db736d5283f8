// The body of a mount server process: `lazysnap mount-server` (hidden) and the lean entry
// cli/mount-server-main.ts, which the CLI and the daemon start (it skips the whole command
// line: see there). Also where the engine modules a server needs are loaded from.

import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Context, GlobalOptions } from '../context.js';
import { streamLog } from '../../src/daemon/log.js';
import { mountServerPaths, parseServerSpec, runMountServerProcess, type MountServerSpec } from '../../src/daemon/mount-server.js';
import { invalidArgument } from '../../src/errors.js';

/**
 * The script that runs a mount server: the bundle's lean entry when there is a bundle
 * (scripts/bundle.mjs), else the compiled one. The bundle sits at the same depth as
 * dist/cli/, so the repository root is three levels up from either.
 */
export function mountServerEntry(): string {
  const root = new URL('../../../', import.meta.url);
  const bundled = new URL('dist/bundle/cli/mount-server-main.mjs', root);
  return fileURLToPath(existsSync(bundled) ? bundled : new URL('dist/cli/mount-server-main.js', root));
}

export interface ServerArgs {
  global: GlobalOptions;
  spec?: string;
  spare?: string;
}

/** `[--state-dir DIR] [--insecure HOST]... [-q] mount-server [SPEC] [--spare SOCKET]` */
export function parseServerArgs(argv: readonly string[]): ServerArgs {
  const global: GlobalOptions = {};
  const out: ServerArgs = { global };
  let command = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw invalidArgument(`mount-server: ${name} needs a value`);
      return v;
    };
    if (!command && name === '--state-dir') global.stateDir = value();
    else if (!command && name === '--insecure') global.insecure = [...(global.insecure ?? []), value()];
    else if (!command && (arg === '-q' || arg === '--quiet')) global.quiet = true;
    else if (!command && arg === 'mount-server') command = true;
    else if (command && name === '--spare') out.spare = value();
    else if (command && !arg.startsWith('-') && out.spec === undefined) out.spec = arg;
    else throw invalidArgument(`mount-server: unexpected argument ${JSON.stringify(arg)}`);
  }
  if (!command) throw invalidArgument('mount-server: the command name is missing');
  return out;
}

/**
 * A mount server's V8 options, set at run time once its modules are loaded, not as node
 * flags on its command line: any V8 flag there (or set before) changes V8's flag hash, and
 * node then compiles its own modules from source instead of using the code cache they are
 * built with. Measured on the lean entry (20 interleaved starts each): 59 ms to exit with
 * no V8 flag, 81-90 ms with any one of these. Set after the loading, the code cache served
 * it; and nothing before this point compiles WebAssembly or needs gc(). The price: the
 * young generation has grown to 2 MB semi-spaces by then (1 MB with the flag from the
 * start), which it keeps: 2 MB more per server, against ~100 ms off a cold mount.
 * - Young generation: semi-spaces that stop growing (--semi-space-growth-factor=1;
 *   --max-semi-space-size cannot change once the heap is made). A server allocates in
 *   bursts (opening an image: tens of megabytes of short-lived objects), which grew the
 *   default semi-spaces to 16 MB, committed for the server's life: measured on the python
 *   image, 13.5 MB above the base after mounting, a walk and a collection, against 22-35
 *   MB; the image opened no slower.
 * - gc(), as --expose-gc gives it: src/daemon/idle-collector.ts collects once each time
 *   the server goes quiet.
 * - --liftoff-only: the zstd decoder (WebAssembly) stays in V8's baseline compiler's code.
 *   Its optimising compiler, when the decoder got hot, left 5-7 MB of compiler memory
 *   resident in a malloc arena for the server's life, and decoded no faster.
 */
function setServerV8Options(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--expose-gc');
  // The flag gives gc() to contexts made from now on; the main one was made before.
  (globalThis as { gc?: unknown }).gc ??= runInNewContext('gc');
}

/** Serves one mount: from `specText`, or as a spare listening for `spare` once a spec comes on stdin. */
export async function serveMount(ctx: Context, specText: string | undefined, spare: string | undefined): Promise<void> {
  // Load the engine before the spec arrives: that is what a spare is for.
  const [client, { openProcessChunkStore }, { ImageBackend }, { layersDir }, { mountTree }] = await Promise.all([
    ctx.client(), import('../../src/image/chunk-store-setup.js'), import('../../src/image/image-backend.js'),
    import('../../src/image/lazy-image.js'), import('../../fs/mount-tree.js'),
  ]);
  setServerV8Options();
  let log = streamLog(process.stderr);
  let spec: MountServerSpec;
  if (spare) {
    const text = await readSpecFromStdin();
    if (text === undefined) return; // the daemon went away before giving us a mount
    spec = parseServerSpec(text);
    if (spec.socketPath !== spare) throw invalidArgument(`spare mount server for ${spare} was given a spec for ${spec.socketPath}`);
    // From here on this process is that mount's server: log where its log belongs.
    log = streamLog(createWriteStream(mountServerPaths(spec.stateDir, spec.record.mountpoint).log, { flags: 'a', mode: 0o600 }));
  } else {
    if (!specText) throw invalidArgument('mount-server needs a spec (or --spare)');
    spec = parseServerSpec(specText);
  }
  // Its own registry client and memory cache, over the state dir's shared disk cache.
  const store = await openProcessChunkStore(spec.stateDir);
  try {
    // Still opening while the image's manifest is fetched (~20-30 ms of file work on a
    // fresh state dir, off a cold mount's path); a failure is reported when the image opens.
    const localStore = ctx.localStore();
    localStore.catch(() => {});
    const backend = new ImageBackend({ client, store, layersDir: layersDir(spec.stateDir), localStore, log: (m) => log.warn(m) });
    await runMountServerProcess({ spec, backend, mountTree, log });
  } finally {
    await store.close();
  }
}

/** A spare's spec: one JSON document on stdin, or undefined when stdin closes empty. */
async function readSpecFromStdin(maxBytes = 64 * 1024): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of process.stdin) {
    n += (chunk as Buffer).length;
    if (n > maxBytes) throw invalidArgument(`mount server spec on stdin is longer than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text === '' ? undefined : text;
}
