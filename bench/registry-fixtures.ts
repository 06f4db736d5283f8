// The images the bench reads: the fixture OCI layout (built by test/fixtures/build-images.sh),
// pushed into a throwaway docker-registry, plus lazysnap's own eStargz conversion.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';
import { run } from './exec.js';

export interface Registry {
  host: string;
  stop(): Promise<void>;
}

/** Builds the fixture layout if needed (idempotent, quick when cached). */
export async function buildFixtures(repoRoot: string, fixturesDir: string): Promise<void> {
  await run('bash', [join(repoRoot, 'test/fixtures/build-images.sh'), fixturesDir], { timeoutMs: 1_800_000 });
}

export async function startRegistry(repoRoot: string): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'lazysnap-bench-registry-'));
  const script = join(repoRoot, 'test/fixtures/registry.sh');
  const removeDir = defer(`registry dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const r = await run('bash', [script, 'start', dir], { timeoutMs: 120_000 });
  const stopRegistry = defer(`registry in ${dir}`, async () => {
    await run('bash', [script, 'stop', dir], { check: false, timeoutMs: 30_000, forCleanup: true });
  });
  return {
    host: r.stdout.trim(),
    stop: async () => {
      await stopRegistry();
      await removeDir();
    },
  };
}

/** Copies a tag of an OCI layout to HOST/NAME:TAG with the layout's exact manifest. */
export async function pushFromLayout(layout: string, tag: string, dest: string): Promise<void> {
  await run('skopeo', ['copy', '-q', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${dest}`], { timeoutMs: 600_000 });
}

/** Copies an image between registries (a user-named REF into the bench registry). */
export async function copyImage(src: string, dest: string): Promise<void> {
  await run('skopeo', ['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src}`, `docker://${dest}`], { timeoutMs: 1_800_000 });
}

interface ManifestLike {
  mediaType?: string;
  layers?: { size: number }[];
  manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[];
}

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Sum of the layer sizes of HOST/NAME:TAG (plain HTTP: the bench registry is on loopback). */
export async function compressedSize(ref: string): Promise<number> {
  const m = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref);
  if (!m) throw new Error(`not HOST/NAME:TAG: ${ref}`);
  const [, host, name] = m;
  let reference = m[3]!;
  for (let depth = 0; depth < 2; depth++) {
    const res = await fetch(`http://${host}/v2/${name}/manifests/${reference}`, { headers: { accept: ACCEPT } });
    if (!res.ok) throw new Error(`GET manifest ${ref}: HTTP ${res.status}`);
    const doc = (await res.json()) as ManifestLike;
    if (doc.layers) return doc.layers.reduce((n, l) => n + l.size, 0);
    const pick = doc.manifests?.find((x) => x.platform?.os === 'linux' && x.platform?.architecture === 'amd64') ?? doc.manifests?.[0];
    if (!pick) break;
    reference = pick.digest;
  }
  throw new Error(`no layers in the manifest of ${ref}`);
}

export function fixturesAvailable(fixturesDir: string): boolean {
  return existsSync(join(fixturesDir, 'oci', 'index.json'));
}
