// The stargz-snapshotter peer: its eStargz conversion (ctr-remote, through a throwaway
// containerd) and its lazy mount (../shared/peers/stargz/stargz-mount.sh).

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defer } from './cleanup.js';
import { run, start, stopChild, which } from './exec.js';
import { pushFromLayout } from './registry-fixtures.js';
import { Skip } from './types.js';

/** The peer's mount script, resolved from the repo root; undefined when absent. */
export function peerScript(repoRoot: string): string | undefined {
  const candidates = [resolve(repoRoot, '../shared/peers/stargz/stargz-mount.sh'), '/work/shared/peers/stargz/stargz-mount.sh'];
  return candidates.find((p) => existsSync(p));
}

/** Makes sure ctr and ctr-remote exist: apt-installs containerd and stargz-snapshotter as root. */
async function ensureCtrRemote(): Promise<void> {
  if ((await which('ctr-remote')) && (await which('containerd')) && (await which('ctr'))) return;
  if (process.getuid?.() !== 0) {
    throw new Skip('ctr-remote/containerd missing: apt-get install containerd stargz-snapshotter (as root)');
  }
  process.stderr.write('bench: installing containerd stargz-snapshotter (for ctr-remote)\n');
  const apt = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', 'containerd', 'stargz-snapshotter'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = await run('apt-get', apt, { check: false, env, timeoutMs: 900_000 });
  if (r.code !== 0) throw new Skip('ctr-remote missing and apt-get install containerd stargz-snapshotter failed');
}

async function manifestDigest(ref: string): Promise<string> {
  const m = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref)!;
  const res = await fetch(`http://${m[1]}/v2/${m[2]}/manifests/${m[3]}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest) throw new Error(`HEAD manifest ${ref}: HTTP ${res.status}`);
  return digest;
}

/**
 * Converts src (gzip, in the bench registry) to eStargz with stargz-snapshotter's own
 * `ctr-remote image convert --oci --estargz` and pushes it as dst. The result is kept in an
 * OCI layout under cacheDir (keyed by the source's manifest digest), since a conversion takes
 * about 40 s and the source never changes between runs.
 */
export async function convertWithCtrRemote(src: string, dst: string, cacheDir: string): Promise<void> {
  const layout = join(cacheDir, 'peer-estargz-oci');
  const tag = `ctr-remote-${(await manifestDigest(src)).replace('sha256:', '').slice(0, 16)}`;
  if (existsSync(join(layout, 'index.json'))) {
    const r = await run('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`], { check: false });
    if (r.code === 0) {
      await pushFromLayout(layout, tag, dst);
      return;
    }
  }
  await ensureCtrRemote();
  // Short path: containerd's unix socket paths are limited to 108 bytes.
  const dir = await mkdtemp('/tmp/ctd.');
  const removeDir = defer(`containerd dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'containerd.sock');
  await writeFile(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",',
      '  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",',
      '  "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${sock}.ttrpc"`,
      '[debug]',
      `  address = "${dir}/debug.sock"`,
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const containerd = start('containerd', ['--config', join(dir, 'config.toml')]);
  const stopContainerd = defer('throwaway containerd', () => stopChild(containerd, 10_000));
  try {
    for (let i = 0; !existsSync(sock); i++) {
      if (i > 300 || containerd.exitCode !== null) throw new Skip('throwaway containerd did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ctr = ['-a', sock, '-n', 'bench'];
    const long = { timeoutMs: 900_000 };
    await run('ctr', [...ctr, 'images', 'pull', '--plain-http', src], long);
    await run('ctr-remote', [...ctr, 'image', 'convert', '--oci', '--estargz', src, dst], long);
    await run('ctr', [...ctr, 'images', 'push', '--plain-http', dst], long);
  } finally {
    await stopContainerd();
    await removeDir();
  }
  // Keep it for the next run (best effort: a failure here only costs time next run).
  await mkdir(cacheDir, { recursive: true });
  await run('skopeo', ['copy', '-q', '--preserve-digests', '--src-tls-verify=false', `docker://${dst}`, `oci:${layout}:${tag}`], { check: false, timeoutMs: 600_000 });
}

export interface PeerMount {
  /** The script's own figure: manifest GET + store start + overlay mount. */
  mountMs: number;
  /** Wall time of the whole mount command, as the bench times `lazysnap mount`. */
  wallMs: number;
  compressedBytes?: number;
  umount(): Promise<void>;
  fetchedBytes(): Promise<number | undefined>;
}

/** What the peer's store is run with; recorded in the report. */
export function peerStoreArgs(): string {
  // Upstream fetches whole layers in the background after the mount; that would make the
  // byte count a moving target and compete with the workload on a throttled link. Landmark
  // prefetch stays on. The user's STARGZ_STORE_ARGS wins.
  return process.env.STARGZ_STORE_ARGS ?? '-no-background-fetch';
}

export async function peerMount(script: string, ref: string, rootfs: string, insecure: string[]): Promise<PeerMount> {
  const env = { ...process.env, STARGZ_STORE_ARGS: peerStoreArgs() };
  const args = ['mount', ref, rootfs, ...insecure.flatMap((h) => ['--insecure', h])];
  const r = await run('bash', [script, ...args], { env, timeoutMs: 600_000 });
  const umount = defer(`peer umount ${rootfs}`, async () => {
    await run('bash', [script, 'umount', rootfs], { check: false, timeoutMs: 60_000, forCleanup: true });
  });
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  const info = JSON.parse(line) as { mountMs?: number; compressedBytes?: number };
  return {
    mountMs: info.mountMs ?? r.ms,
    wallMs: r.ms,
    compressedBytes: info.compressedBytes,
    umount,
    fetchedBytes: async () => {
      const s = await run('bash', [script, 'stats', rootfs], { check: false, timeoutMs: 30_000 });
      try {
        const v = (JSON.parse(s.stdout) as { fetchedBytes?: number | null }).fetchedBytes;
        return typeof v === 'number' ? v : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
