// Runs the built lazysnap CLI as a user would (a child process: never synchronous, so a
// test process that serves nothing still never blocks on a FUSE mount).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './registry.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/**
 * `node bin/lazysnap ARGS`; with `asCommand`, `bin/lazysnap ARGS` itself, as the installed
 * command runs (its shell line hands NODE_EXTRA_CA_CERTS over first: bin/lazysnap says why).
 */
export function runCli(args: readonly string[],
  opts: { stateDir?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; asCommand?: boolean } = {}): Promise<CliResult> {
  const env = { ...process.env, ...opts.env };
  if (opts.stateDir) env.LAZYSNAP_STATE_DIR = opts.stateDir;
  const bin = join(REPO_ROOT, 'bin', 'lazysnap');
  return new Promise((resolve) => {
    const child = execFile(opts.asCommand ? bin : process.execPath, opts.asCommand ? args : [bin, ...args], {
      env, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 512 * 1024 * 1024, encoding: 'buffer',
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 2) : 0;
      resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), stdoutBytes: stdout });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
