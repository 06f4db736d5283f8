// Decoding one large zstd input (a zstd:chunked TOC) with the zstd command in a child
// process, so that the decoding memory is never this process's.
//
// Why: the WebAssembly decoder (zstd-frames.ts) decodes into its own linear memory, and
// WebAssembly memory never shrinks: once a 3.4 MB TOC went through it, a mount server kept
// about 13 MB of touched pages for as long as it served (measured: a debian zstd:chunked
// mount server held 10-18 MB more with the TOC decoded in-process than out of it). The
// zstd tool (Debian `zstd`, installed by scripts/setup.sh) takes about as long (8-18 ms
// with its start against 6-20 ms for a 3.4 MB TOC) and gives every byte back when it exits.
// Without the tool, callers decode in-process as before: undefined means "not here".

import { spawn } from 'node:child_process';

/** Longest a local decode may take before it is given up (it is CPU only: bounded input). */
const DECODE_TIMEOUT_MS = 30_000;

let toolMissing = false;

const ignore = (): void => undefined;

/**
 * `data` decoded by `zstd -dc`, when it decodes to exactly `size` bytes; undefined when the
 * tool is missing, fails, or gives any other length (the caller decodes another way and
 * says why). Output past `size` stops the tool at once: a bomb costs nothing here.
 */
export function decodeZstdInChildProcess(data: Uint8Array, size: number): Promise<Buffer | undefined> {
  if (toolMissing || !Number.isSafeInteger(size) || size <= 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = spawn('zstd', ['-dcq', '--no-progress'], { stdio: ['pipe', 'pipe', 'ignore'], timeout: DECODE_TIMEOUT_MS });
    // The output lives in `state`, dropped once settled, and the handlers go with it: node
    // keeps an exited ChildProcess reachable for a while, and with it whatever its handlers
    // hold (the promise, and through it the result: a whole TOC).
    let state: { out: Buffer; n: number } | undefined = { out: Buffer.allocUnsafe(size), n: 0 };
    const settle = (result: Buffer | undefined) => {
      state = undefined;
      child.removeAllListeners();
      child.on('error', ignore); // a late error must not be an unhandled 'error' event
      child.stdout.removeAllListeners();
      child.stdout.destroy();
      child.stdin.destroy();
      resolve(result);
    };
    const refuse = () => {
      child.kill('SIGKILL');
      settle(undefined);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') toolMissing = true;
      refuse();
    });
    child.stdout.on('data', (piece: Buffer) => {
      if (!state) return;
      if (state.n + piece.length > size) return refuse();
      piece.copy(state.out, state.n);
      state.n += piece.length;
    });
    child.on('close', (code) => {
      if (!state) return;
      settle(code === 0 && state.n === size ? state.out : undefined);
    });
    // EPIPE when the tool exits early (a corrupt frame): the exit code says what happened.
    child.stdin.on('error', ignore);
    child.stdin.end(data);
  });
}
