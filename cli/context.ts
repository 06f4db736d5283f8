// What every command needs, built once from the global options: the state dir, the
// registry client (insecure hosts from --insecure and LAZYSNAP_INSECURE, extra CA files
// from LAZYSNAP_EXTRA_CA_CERTS), output mode.

import { mkdirSync } from 'node:fs';
import type { RegistryClient } from '../src/registry/client.js';
import type { ImageSource } from '../src/image/image-source.js';
import type { ContentStore } from '../src/store/content-store.js';
import { resolveStateDir, statePaths } from '../src/state-dir.js';
import { fail } from './output.js';

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
  /** The shared registry client, loaded on first use (undici is slow to load; mount/status never need it). */
  client(): Promise<RegistryClient>;
  /** An ImageSource for a reference (registry or oci: layout) over the shared client. */
  source(reference: string): Promise<ImageSource>;
  /** The state dir's content store (pulled and converted images), opened on first use. */
  localStore(): Promise<ContentStore>;
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
  let store: Promise<ContentStore> | undefined;
  return {
    stateDir,
    paths,
    insecureHosts,
    quiet: g.quiet ?? false,
    async client() {
      if (!client) {
        const [{ RegistryClient }, { extraCaFiles }] = await Promise.all([import('../src/registry/client.js'), import('../src/registry/extra-ca.js')]);
        mkdirSync(paths.spool, { recursive: true, mode: 0o700 });
        client ??= new RegistryClient({ insecureHosts, spoolDir: paths.spool, extraCaFiles: extraCaFiles(process.env) });
      }
      return client;
    },
    async source(reference) {
      const { openSource } = await import('../src/image/open-source.js');
      return openSource(reference, { client: await this.client() });
    },
    localStore() {
      store ??= import('../src/store/content-store.js').then(({ ContentStore }) => ContentStore.open(paths.content));
      return store;
    },
    async close() {
      await client?.close();
      if (store) await (await store.catch(() => undefined))?.close();
    },
  };
}

/**
 * Runs a command body with a context made from `global`, turning every error (the
 * context's own included) into one line and an exit code; the context is closed either way.
 */
export async function runWithContext(global: () => GlobalOptions, body: (ctx: Context) => Promise<void>): Promise<void> {
  let ctx: Context;
  try {
    ctx = createContext(global());
  } catch (err) {
    fail(err);
  }
  try {
    await body(ctx);
  } catch (err) {
    await ctx.close().catch(() => {});
    fail(err);
  }
  await ctx.close();
}
