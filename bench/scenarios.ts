// One scenario = what one run of a setup measures; it may yield several cases at once (a
// cold mount, then the same mount warm). Each returns its samples keyed by case id; the
// harness repeats it N times and turns a thrown Skip into "skipped: reason" for its cases.

import { mkdtemp, rm } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';
import { run, start, stopChild } from './exec.js';
import { Lazysnap } from './lazysnap-cli.js';
import { peerMount } from './peer.js';
import type { WireLog } from './wire-log.js';
import type { Workload } from './workloads.js';
import { caseId, Skip, type CaseKey, type Format, type Prefetch, type Sample } from './types.js';

export interface Scenario {
  label: string;
  keys: CaseKey[];
  run(): Promise<Map<string, Sample>>;
}

export interface LinkRef {
  /** Link name for the table ("loopback", "throttled"). */
  link: string;
  /** host:port the clients use: the registry, or the throttling proxy in front of it. */
  host: string;
  rttMs?: number;
  /** Set when the link is the bench proxy: what crossed it, per blob. */
  wire?: WireLog;
}

export interface BenchEnv {
  repoRoot: string;
  /** NAME:TAG in the registry for a format, e.g. fixtures/python:estargz. */
  repoTags: Partial<Record<Format, string>>;
  compressedBytes: Partial<Record<Format, number>>;
  canDropCaches: boolean;
  peerScript?: string;
  nativeRoot?: string;
  squashImage?: string;
}

async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: defer(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true })) };
}

function refOf(env: BenchEnv, format: Format, link: LinkRef): string {
  const tag = env.repoTags[format];
  if (!tag) throw new Skip(`no ${format} image in the bench registry (its conversion failed earlier)`);
  return `${link.host}/${tag}`;
}

/** Drops the page cache (dentries, inodes, pages) where the kernel lets us. */
export async function dropCaches(): Promise<boolean> {
  await run('sync', [], { check: false });
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/** The link's figures since its last reset (nothing for a direct loopback link). */
function wireSample(link: LinkRef): Partial<Sample> {
  if (!link.wire) return {};
  const f = link.wire.figures();
  return { wireBytes: f.wireDownBytes, wireBlobBytes: f.blobBytes, distinctBlobBytes: f.distinctBlobBytes, duplicateBytes: f.duplicateBytes };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** lazysnap: cold mount (fresh state dir and daemon), then optionally warm and warm after drop_caches. */
export function lazyMount(env: BenchEnv, w: Workload, link: LinkRef, format: Format, prefetch: Prefetch, warm: boolean): Scenario {
  const base = { system: 'lazysnap', workload: w.name, link: link.link, format, prefetch, rttMs: link.rttMs } as const;
  const cold: CaseKey = { ...base, mode: 'cold' };
  const hot: CaseKey = { ...base, mode: 'warm' };
  const dropped: CaseKey = { ...base, mode: 'warm-dropped' };
  const keys = warm ? [cold, hot, ...(env.canDropCaches ? [dropped] : [])] : [cold];
  return {
    label: `lazysnap ${format} prefetch=${prefetch} ${w.name} (${link.link}${link.rttMs !== undefined ? ` rtt ${link.rttMs}ms` : ''})`,
    keys,
    run: async () => {
      const ref = refOf(env, format, link);
      const out = new Map<string, Sample>();
      const mnt = await tempDir('lazysnap-bench-mnt-');
      const ls = await Lazysnap.create(env.repoRoot);
      try {
        link.wire?.reset();
        // Cold: wall time of `lazysnap mount` (CLI start, a fresh daemon's start, manifest,
        // config and indexes, FUSE mount) + the workload.
        const t0 = performance.now();
        const umount = await ls.mount(ref, mnt.dir, prefetch);
        const setupMs = performance.now() - t0;
        try {
          await w.run(mnt.dir);
          const ms = performance.now() - t0;
          // Status first, the link's count after: with background prefetch still running,
          // the link then has at least what status counted (no false "fetched twice").
          const fig = await ls.mountFigures(mnt.dir);
          const wire = wireSample(link);
          out.set(caseId(cold), {
            ms,
            setupMs,
            ...wire,
            bytesFetched: fig.mount?.bytesFetched,
            requests: fig.mount?.requests,
            daemonRssBytes: fig.daemonRssBytes,
          });
          if (warm) {
            out.set(caseId(hot), { ms: await timed(() => w.run(mnt.dir)) });
            if (env.canDropCaches && (await dropCaches())) {
              out.set(caseId(dropped), { ms: await timed(() => w.run(mnt.dir)) });
            }
          }
        } finally {
          await umount();
        }
      } finally {
        await ls.close();
        await mnt.remove();
      }
      return out;
    },
  };
}

/** The stargz-snapshotter peer on its own eStargz image: cold, then warm. */
export function peerCase(env: BenchEnv, w: Workload, link: LinkRef, format: Format, warm: boolean): Scenario {
  const base = { system: 'stargz-peer', workload: w.name, link: link.link, format, rttMs: link.rttMs } as const;
  const cold: CaseKey = { ...base, mode: 'cold' };
  const hot: CaseKey = { ...base, mode: 'warm' };
  return {
    label: `stargz peer ${format} ${w.name} (${link.link})`,
    keys: warm ? [cold, hot] : [cold],
    run: async () => {
      if (!env.peerScript) throw new Skip('stargz peer absent: ../shared/peers/stargz/stargz-mount.sh not found');
      const ref = refOf(env, format, link);
      const out = new Map<string, Sample>();
      const mnt = await tempDir('lazysnap-bench-peer-');
      try {
        const rootfs = join(mnt.dir, 'rootfs');
        link.wire?.reset();
        const m = await peerMount(env.peerScript, ref, rootfs, []);
        try {
          // ms: wall time of its mount command + the workload, as for lazysnap (its script's
          // package and build checks included, ~0.1 s). toolMs: its own mountMs (manifest GET
          // + store start + overlay mount) + the workload, the figure kinder to the peer.
          const wms = await timed(() => w.run(rootfs));
          const wire = wireSample(link);
          out.set(caseId(cold), { ms: m.wallMs + wms, setupMs: m.wallMs, toolMs: m.mountMs + wms, bytesFetched: await m.fetchedBytes(), ...wire });
          if (warm) out.set(caseId(hot), { ms: await timed(() => w.run(rootfs)) });
        } finally {
          await m.umount();
        }
      } finally {
        await mnt.remove();
      }
      return out;
    },
  };
}

/** Full pull with lazysnap itself: pull --all + unpack + workload, fresh state dir. */
export function lazysnapFullPull(env: BenchEnv, w: Workload, link: LinkRef): Scenario {
  const key: CaseKey = { system: 'lazysnap-full-pull', mode: 'full-pull', workload: w.name, link: link.link, format: 'gzip', rttMs: link.rttMs };
  return {
    label: `lazysnap pull --all + unpack, ${w.name} (${link.link})`,
    keys: [key],
    run: async () => {
      const ref = refOf(env, 'gzip', link);
      const dir = await tempDir('lazysnap-bench-unpack-');
      const ls = await Lazysnap.create(env.repoRoot);
      try {
        const rootfs = join(dir.dir, 'rootfs');
        link.wire?.reset();
        const t0 = performance.now();
        await ls.cli(['pull', '--all', ref]);
        await ls.cli(['unpack', ref, rootfs]);
        const setupMs = performance.now() - t0;
        await w.run(rootfs);
        const ms = performance.now() - t0;
        // No mount, so no status figure: the image's size, and the link's count where there is one.
        return new Map([[caseId(key), { ms, setupMs, bytesFetched: env.compressedBytes.gzip, ...wireSample(link) }]]);
      } finally {
        await ls.close();
        await dir.remove();
      }
    },
  };
}

/** The outside baseline: skopeo copy + umoci unpack + workload. */
export function skopeoUmoci(env: BenchEnv, w: Workload, link: LinkRef): Scenario {
  const key: CaseKey = { system: 'skopeo-umoci', mode: 'full-pull', workload: w.name, link: link.link, format: 'gzip', rttMs: link.rttMs };
  return {
    label: `skopeo copy + umoci unpack, ${w.name} (${link.link})`,
    keys: [key],
    run: async () => {
      const ref = refOf(env, 'gzip', link);
      const dir = await tempDir('lazysnap-bench-skopeo-');
      try {
        link.wire?.reset();
        const t0 = performance.now();
        await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir.dir}/oci:img`], { timeoutMs: 1_800_000 });
        await run('umoci', ['unpack', '--image', `${dir.dir}/oci:img`, `${dir.dir}/bundle`], { timeoutMs: 1_800_000 });
        const setupMs = performance.now() - t0;
        await w.run(`${dir.dir}/bundle/rootfs`);
        const ms = performance.now() - t0;
        return new Map([[caseId(key), { ms, setupMs, bytesFetched: env.compressedBytes.gzip, ...wireSample(link) }]]);
      } finally {
        await dir.remove();
      }
    },
  };
}

/** Native disk, squashfuse or fuse-overlayfs over the unpacked tree; warm (run once first). */
export function localTree(env: BenchEnv, w: Workload, system: 'native' | 'squashfuse' | 'fuse-overlayfs'): Scenario {
  const key: CaseKey = { system, mode: 'local', workload: w.name, link: 'local' };
  return {
    label: `${system} ${w.name}`,
    keys: [key],
    run: async () => {
      const native = env.nativeRoot;
      if (!native) throw new Skip('no native tree (skopeo copy + umoci unpack of the image failed)');
      if (system === 'native') {
        await w.run(native);
        return new Map([[caseId(key), { ms: await timed(() => w.run(native)) }]]);
      }
      const mnt = await tempDir(`lazysnap-bench-${system}-`);
      try {
        const dir = join(mnt.dir, 'mnt');
        await run('mkdir', [dir]);
        let server;
        if (system === 'squashfuse') {
          if (!env.squashImage) throw new Skip('no squashfs image (mksquashfs missing or failed: apt-get install squashfs-tools squashfuse)');
          server = start('squashfuse', ['-f', env.squashImage, dir]);
        } else {
          await run('mkdir', [join(mnt.dir, 'upper'), join(mnt.dir, 'work')]);
          server = start('fuse-overlayfs', ['-f', '-o', `lowerdir=${native},upperdir=${mnt.dir}/upper,workdir=${mnt.dir}/work`, dir]);
        }
        const unmount = defer(`${system} at ${dir}`, async () => {
          await run('fusermount', ['-u', dir], { check: false, forCleanup: true });
          await stopChild(server);
        });
        try {
          await waitForMount(dir, server, system);
          await w.run(dir);
          return new Map([[caseId(key), { ms: await timed(() => w.run(dir)) }]]);
        } finally {
          await unmount();
        }
      } finally {
        await mnt.remove();
      }
    },
  };
}

async function waitForMount(dir: string, server: ReturnType<typeof start>, tool: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) throw new Skip(`${tool} exited ${server.exitCode} (is it installed? apt-get install ${tool})`);
    const r = await run('mountpoint', ['-q', dir], { check: false });
    if (r.code === 0) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Skip(`${tool} did not mount within 10 s`);
}
