// What every command needs, built once from the global options: the state dir, the
// registry client (insecure hosts from --insecure and LAZYSNAP_INSECURE), output mode.

import { mkdirSync } from 'node:fs';
import { RegistryClient } from '../src/registry/client.js';
import { resolveStateDir, statePaths } from '../src/state-dir.js';

export interface GlobalOptions {
  stateDir?: string;
  insecure?: string[];
  quiet?: boolean;
}

export interface Context {
  stateDir: string;
  paths: ReturnType<typeof statePaths>;
  insecureHosts: string[];
  quiet: boolean;
  client(): RegistryClient;
  close(): Promise<void>;
}

export function createContext(g: GlobalOptions): Context {
  const stateDir = resolveStateDir(g.stateDir);
  const paths = statePaths(stateDir);
  const insecureHosts = [
    ...(g.insecure ?? []),
    ...(process.env.LAZYSNAP_INSECURE ?? '').split(',').map((h) => h.trim()).filter(Boolean),
  ];
  let client: RegistryClient | undefined;
  return {
    stateDir,
    paths,
    insecureHosts,
    quiet: g.quiet ?? false,
    client() {
      if (!client) {
        mkdirSync(paths.spool, { recursive: true, mode: 0o700 });
        client = new RegistryClient({ insecureHosts, spoolDir: paths.spool });
      }
      return client;
    },
    async close() {
      await client?.close();
    },
  };
}
