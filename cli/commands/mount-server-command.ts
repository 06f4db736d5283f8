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
import { parseReference, type ImageReference } from '../../src/reference/reference.js';
import type { RegistryClient } from '../../src/registry/client.js';
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
 * --liftoff-only: WebAssembly (undici's HTTP parser, the zstd decoder) stays in V8's
 * baseline compiler's code. Its optimising compiler, when the decoder got hot, left 5-7 MB
 * of compiler memory resident in a malloc arena for the server's life, and decoded no
 * faster; compiling the HTTP parser with it while the engine loads cost ~150 ms of the two
 * cores. Set before the first request (the manifest's prefetch), which compiles the parser.
 */
function setWasmBaselineOnly(): void {
  setFlagsFromString('--liftoff-only');
}

/**
 * A mount server's other V8 options, set at run time once its modules are loaded
 * (lean-process.ts says why not as node flags): the lean heap, and gc(), as --expose-gc
 * gives it: src/daemon/idle-collector.ts collects once each time the server goes quiet.
 * Nothing before this point needs gc().
 */
function setServerV8Options(): void {
  setLeanHeap();
  setFlagsFromString('--expose-gc');
  // The flag gives gc() to contexts made from now on; the main one was made before.
  (globalThis as { gc?: unknown }).gc ??= runInNewContext('gc');
}

/** Serves one mount: from `specText`, or as a spare listening for `spare` once a spec comes on stdin. */
export async function serveMount(ctx: Context, specText: string | undefined, spare: string | undefined): Promise<void> {
  if (!spare && !specText) throw invalidArgument('mount-server needs a spec (or --spare)');
  const given = specText !== undefined && !spare ? parseServerSpec(specText) : undefined;
  // A server given its image now asks for the manifest as soon as the registry client is
  // loaded: the round trips overlap the loading of the rest of the engine (~50-100 ms).
  const client = await ctx.client();
  setWasmBaselineOnly();
  if (given) prefetchManifestOf(client, given.record.reference);
  // A spare loads the engine before its spec arrives: that is what a spare is for.
  const [{ openProcessChunkStore }, { ImageBackend }, { layersDir }, { mountTree }] = await Promise.all([
    import('../../src/image/chunk-store-setup.js'), import('../../src/image/image-backend.js'),
    import('../../src/image/lazy-image.js'), import('../../fs/mount-tree.js'),
  ]);
  setServerV8Options();
  let log = streamLog(process.stderr);
  let spec: MountServerSpec;
  if (given) {
    spec = given;
  } else {
    const text = await readSpecFromStdin();
    if (text === undefined) return; // the daemon went away before giving us a mount
    spec = parseServerSpec(text);
    if (spec.socketPath !== spare) throw invalidArgument(`spare mount server for ${spare} was given a spec for ${spec.socketPath}`);
    // From here on this process is that mount's server: log where its log belongs.
    log = streamLog(createWriteStream(mountServerPaths(spec.stateDir, spec.record.mountpoint).log, { flags: 'a', mode: 0o600 }));
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

/** Asks for a registry image's manifest ahead (an OCI layout or a bad reference: nothing to do here). */
function prefetchManifestOf(client: RegistryClient, reference: string): void {
  let ref: ImageReference;
  try {
    ref = parseReference(reference);
  } catch {
    return; // opening the image says what is wrong with it
  }
  if (ref.kind === 'registry') client.prefetchManifest(ref);
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
