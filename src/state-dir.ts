// Where lazysnap keeps its state (CLI.md): --state-dir, else $LAZYSNAP_STATE_DIR, else
// /var/lib/lazysnap for root and $XDG_DATA_HOME/lazysnap (~/.local/share/lazysnap) otherwise.
// One daemon owns one state dir; everything lazysnap writes on its own lives below it.

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveStateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.LAZYSNAP_STATE_DIR) return resolve(env.LAZYSNAP_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/lazysnap';
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'lazysnap');
}

/** The fixed layout of a state dir. */
export function statePaths(stateDir: string) {
  return {
    root: stateDir,
    content: join(stateDir, 'content'), //   OCI image layout: manifests, configs, pulled blobs
    cache: join(stateDir, 'cache'), //       disk chunk cache
    layers: join(stateDir, 'layers'), //     local random-access forms of plain gzip/zstd layers
    spool: join(stateDir, 'spool'), //       temp files (convert, registries that ignore Range)
    socket: join(stateDir, 'lazysnapd.sock'),
  } as const;
}
