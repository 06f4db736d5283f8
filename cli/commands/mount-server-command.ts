// The body of a mount server process: `lazysnap mount-server` (hidden) and the lean entry
// cli/mount-server-main.ts, which the CLI and the daemon start (lean-process.ts says why).
// Also where the engine modules a server needs are loaded from.

import { createWriteStream } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Context, GlobalOptions } from '../context.js';
import { streamLog } from '../../src/daemon/log.js';
import { mountServerPaths, parseServerSpec, runMountServerProcess, type MountServerSpec } from '../../src/daemon/mount-server.js';
import { invalidArgument } from '../../src/errors.js';
import { statePaths } from '../../src/state-dir.js';
import { storedBlobsIn } from '../../src/store/stored-blobs.js';
import { parseLeanArgs, setLeanHeap } from './lean-process.js';

export interface ServerArgs {
  global: GlobalOptions;
  spec?: string;
  spare?: string;
}

/** `[--state-dir DIR] [--insecure HOST]... [-q] mount-server [SPEC] [--spare SOCKET]` */
export function parseServerArgs(argv: readonly string[]): ServerArgs {
  const { global, options, positionals } = parseLeanArgs(argv, 'mount-server', ['--spare'], 1);
  const spare = options.get('--spare');
  return { global, ...(positionals[0] !== undefined ? { spec: positionals[0] } : {}), ...(spare !== undefined ? { spare } : {}) };
}

/**
 * A mount server's V8 options, set at run time once its modules are loaded (lean-process.ts
 * says why not as node flags): the lean heap, and
 * - gc(), as --expose-gc gives it: src/daemon/idle-collector.ts collects once each time
 *   the server goes quiet;
 * - --liftoff-only: the zstd decoder (WebAssembly) stays in V8's baseline compiler's code.
 *   Its optimising compiler, when the decoder got hot, left 5-7 MB of compiler memory
 *   resident in a malloc arena for the server's life, and decoded no faster.
 * Nothing before this point compiles WebAssembly or needs gc().
 */
function setServerV8Options(): void {
  setLeanHeap();
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
    // Only looked at (is a layer stored?), never opened: opening creates the store's layout.
    const localStore = storedBlobsIn(statePaths(spec.stateDir).content);
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
