// lazysnap's benchmark: `node dist/bench/main.js [--quick] [--image python|debian|REF]
// [--runs N] [--rtt-sweep] [--out DIR]`. Sets up a throwaway registry with the fixture
// images, measures what users feel (time to a first useful result, bytes fetched) for lazy
// mounts against full pulls, native disk and the stargz-snapshotter peer, and writes
// DIR/latest.json (+ a timestamped copy), DIR/latest.md and DIR/*.svg. Progress on stderr.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat as fsStat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addRatios, toCase } from './aggregate.js';
import { cleanupAll, cleanupOnSignals, defer, isAborted } from './cleanup.js';
import { measureDaemonMemoryMedian } from './daemon-memory.js';
import { run, which } from './exec.js';
import { lazyRead } from './lazy-read.js';
import { largeRead } from './large-read.js';
import { Lazysnap, leftovers } from './lazysnap-cli.js';
import { describeMachine } from './machine.js';
import { convertWithCtrRemote, peerScript, peerStoreArgs } from './peer.js';
import { plan } from './plan.js';
import { buildFixtures, compressedSize, copyImage, fixturesAvailable, pushFromLayout, startRegistry } from './registry-fixtures.js';
import { renderMarkdown } from './report-markdown.js';
import { renderPlots } from './report-plots.js';
import { dropCaches, type BenchEnv, type LinkRef } from './scenarios.js';
import { DEFAULT_BANDWIDTH_BITS, DEFAULT_RTT_MS, startThrottleProxy } from './throttle-proxy.js';
import { WireLog } from './wire-log.js';
import { caseId, Skip, type BenchReport, type CaseResult, type Format, type Sample } from './types.js';
import { workloads, type Workload } from './workloads.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      image: { type: 'string', default: 'python' },
      runs: { type: 'string' },
      'rtt-sweep': { type: 'boolean', default: false },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node dist/bench/main.js [--quick] [--image python|debian|REF] [--runs N] [--rtt-sweep] [--out DIR]\n');
    process.exit(0);
  }
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) throw new Skip(`--runs wants a positive integer, got ${values.runs}`);
  return { quick: values.quick!, image: values.image!, runs, rttSweep: values['rtt-sweep']!, out: resolve(values.out!) };
}

async function step<T>(what: string, notes: string[], fn: () => Promise<T>): Promise<T | undefined> {
  log(what);
  try {
    return await fn();
  } catch (err) {
    const msg = `${what}: ${(err as Error).message.split('\n')[0]}`;
    log(`  skipped: ${msg}`);
    notes.push(msg);
    return undefined;
  }
}

/** The file with the most bytes under root (path inside the image). */
async function largestFile(root: string): Promise<{ path?: string; files: number }> {
  let best: { path?: string; size: number } = { size: -1 };
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      files++;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const s = await fsStat(p);
        if (s.size > best.size) best = { path: p.slice(root.length), size: s.size };
      }
    }
  };
  await walk(root);
  return { path: best.path, files };
}

async function main(): Promise<void> {
  const o = options();
  cleanupOnSignals();
  const notes: string[] = [];
  const fixturesDir = process.env.LAZYSNAP_FIXTURES ?? '/var/cache/lazysnap-fixtures';
  const fixtureName = o.image === 'python' || o.image === 'debian' ? o.image : undefined;
  for (const tool of ['skopeo', 'umoci', 'docker-registry', 'chroot']) {
    if (!(await which(tool))) throw new Skip(`${tool} not found: apt-get install ${tool === 'chroot' ? 'coreutils' : tool} (needed to set up the bench registry)`);
  }

  if (fixtureName) {
    log(`fixture images in ${fixturesDir} (test/fixtures/build-images.sh)`);
    await buildFixtures(repoRoot, fixturesDir).catch((err: Error) => {
      if (!fixturesAvailable(fixturesDir)) throw err;
      notes.push(`build-images.sh failed (${err.message.split('\n')[0]}); used the existing layout`);
    });
  }
  const work = await mkdtemp(join(tmpdir(), 'lazysnap-bench-'));
  defer(`work dir ${work}`, () => rm(work, { recursive: true, force: true }));

  log('starting a throwaway docker-registry');
  const registry = await startRegistry(repoRoot);
  const host = registry.host;
  const name = `fixtures/${fixtureName ?? 'custom'}`;
  const repoTags: Partial<Record<Format, string>> = {};

  if (fixtureName) {
    const layout = join(fixturesDir, 'oci');
    log(`pushing ${fixtureName} (gzip, zstd:chunked) to ${host}`);
    await pushFromLayout(layout, fixtureName, `${host}/${name}:gzip`);
    repoTags.gzip = `${name}:gzip`;
    await step(`push ${fixtureName}-zstdchunked`, notes, async () => {
      await pushFromLayout(layout, `${fixtureName}-zstdchunked`, `${host}/${name}:zstdchunked`);
      repoTags['zstd-chunked'] = `${name}:zstdchunked`;
    });
  } else {
    log(`copying ${o.image} into the bench registry`);
    await copyImage(o.image, `${host}/${name}:gzip`);
    repoTags.gzip = `${name}:gzip`;
    notes.push(`${o.image}: no zstd:chunked variant is made for a user-named image`);
  }

  const prefetchList = join(repoRoot, 'bench', 'prefetch', `${fixtureName ?? 'none'}.txt`);
  await step('lazysnap convert to eStargz (with the prefetch landmark)', notes, async () => {
    const ls = await Lazysnap.create(repoRoot);
    try {
      const list = existsSync(prefetchList) ? ['--prefetch-list', prefetchList] : [];
      await ls.cli(['convert', `${host}/${repoTags.gzip}`, `${host}/${name}:estargz`, '--format', 'estargz', ...list]);
      repoTags.estargz = `${name}:estargz`;
    } finally {
      await ls.close();
    }
  });

  const peer = peerScript(repoRoot);
  if (!peer) notes.push('stargz peer: ../shared/peers/stargz/stargz-mount.sh not found; its rows are skipped');
  let peerFormat: 'estargz' | 'estargz-ctr-remote' = 'estargz';
  if (peer) {
    await step("stargz-snapshotter's own eStargz (ctr-remote image convert --oci --estargz)", notes, async () => {
      await convertWithCtrRemote(`${host}/${repoTags.gzip}`, `${host}/${name}:estargz-ctr-remote`, join(fixturesDir, 'bench'));
      repoTags['estargz-ctr-remote'] = `${name}:estargz-ctr-remote`;
      peerFormat = 'estargz-ctr-remote';
    });
    if (peerFormat === 'estargz') notes.push("the peer reads lazysnap's eStargz (ctr-remote conversion failed)");
    notes.push(`stargz peer store args: ${peerStoreArgs() || '(upstream defaults)'}; time of either tool = wall time of its mount command + the workload (the peer's own mountMs + workload in brackets)`);
  }

  const compressed: Partial<Record<Format, number>> = {};
  for (const [format, tag] of Object.entries(repoTags) as [Format, string][]) {
    await step(`compressed size of ${tag}`, notes, async () => void (compressed[format] = await compressedSize(`${host}/${tag}`)));
  }

  // The native tree: the image unpacked on local disk (baseline for warm reads and FUSE).
  const nativeRoot = await step('native tree (skopeo copy + umoci unpack)', notes, async () => {
    await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${host}/${repoTags.gzip}`, `oci:${work}/native-oci:img`], { timeoutMs: 1_800_000 });
    await run('umoci', ['unpack', '--image', `${work}/native-oci:img`, `${work}/native`], { timeoutMs: 1_800_000 });
    return join(work, 'native', 'rootfs');
  });
  const tree = nativeRoot ? await largestFile(nativeRoot) : { files: undefined, path: undefined };
  const squashImage = o.quick || !nativeRoot ? undefined : await step('mksquashfs of the native tree', notes, async () => {
    if (!(await which('mksquashfs'))) throw new Error('mksquashfs not found: apt-get install squashfs-tools');
    await run('mksquashfs', [nativeRoot, `${work}/tree.squashfs`, '-noappend', '-quiet', '-no-progress', '-comp', 'lz4'], { timeoutMs: 1_800_000 });
    return `${work}/tree.squashfs`;
  });
  const canDropCaches = await dropCaches();
  if (!canDropCaches) notes.push('drop_caches not permitted here: no warm-after-drop rows');

  // Every proxied link counts what crosses it (bench/wire-log.ts): wire bytes and blob
  // ranges fetched twice. --quick has no throttled link, so it gets a "counted" one: the
  // proxy with no limit and no delay, for the cold rows whose bytes matter.
  const proxied = async (name: string, bandwidthBitsPerSec: number, rttMs: number): Promise<LinkRef> => {
    const wire = new WireLog();
    const proxy = await startThrottleProxy({ target: host, bandwidthBitsPerSec, rttMs, wireLog: wire });
    defer(`proxy ${name}${rttMs ? ` rtt ${rttMs}` : ''}`, () => proxy.stop());
    return { link: name, host: proxy.host, rttMs: name === 'counted' ? undefined : rttMs, wire };
  };
  const links: LinkRef[] = [{ link: 'loopback', host }];
  if (o.quick) links.push(await proxied('counted', Infinity, 0));
  else links.push(await proxied('throttled', DEFAULT_BANDWIDTH_BITS, DEFAULT_RTT_MS));
  const sweep: LinkRef[] = [];
  if (o.rttSweep) {
    for (const rttMs of [0, 5, 20, 50]) sweep.push(await proxied('sweep', DEFAULT_BANDWIDTH_BITS, rttMs));
  }

  const all: Workload[] = workloads(tree.path).map((w) =>
    w.needs && nativeRoot && !existsSync(join(nativeRoot, w.needs))
      ? { ...w, run: async () => { throw new Skip(`${w.needs} is not in the image`); } }
      : w,
  );
  const env: BenchEnv = { repoRoot, repoTags, compressedBytes: compressed, canDropCaches, peerScript: peer, nativeRoot, squashImage };
  const scenarios = plan(env, all, { quick: o.quick, links, sweep, peerFormat });

  const samples = new Map<string, Sample[]>();
  const skips = new Map<string, string>();
  for (const [i, sc] of scenarios.entries()) {
    for (let r = 1; r <= o.runs; r++) {
      if (isAborted()) return;
      log(`[${i + 1}/${scenarios.length}] ${sc.label}: run ${r}/${o.runs}`);
      try {
        for (const [id, s] of await sc.run()) samples.set(id, [...(samples.get(id) ?? []), s]);
      } catch (err) {
        const reason = err instanceof Skip ? err.message : `failed: ${(err as Error).message.split('\n')[0]}`;
        log(`  skipped: ${reason}`);
        for (const k of sc.keys) skips.set(caseId(k), reason);
        break; // the same failure would repeat
      }
    }
  }
  const seen = new Set<string>();
  const cases: CaseResult[] = [];
  for (const k of scenarios.flatMap((s) => s.keys)) {
    const id = caseId(k);
    if (seen.has(id)) continue;
    seen.add(id);
    cases.push(toCase(k, samples.get(id) ?? [], compressed, skips.get(id)));
  }
  addRatios(cases);

  // Sections with their own figures: issue 4 (lazy reads) and issue 9 (daemon memory).
  const lazy = repoTags.estargz
    ? await step('lazy-read section (issue 4)', notes, () =>
        lazyRead({ repoRoot, host, estargz: repoTags.estargz!, gzip: repoTags.gzip, importJson: all.find((w) => w.name === 'python-import-json'), runs: o.runs }),
      )
    : undefined;
  const memory = fixtureName
    ? await step('daemon memory section (issue 9: debian and python mounted in one daemon)', notes, async () => {
        const refs: string[] = [];
        for (const img of ['debian', 'python', 'edge']) {
          const tag = `fixtures/${img}:zstdchunked`;
          if (img !== fixtureName) await pushFromLayout(join(fixturesDir, 'oci'), `${img}-zstdchunked`, `${host}/${tag}`);
          refs.push(`${host}/${tag}`);
        }
        const base = refs.pop()!; // edge: the small image whose server is the fixed base
        return measureDaemonMemoryMedian(repoRoot, refs, base);
      })
    : undefined;

  const largeReport = !o.quick
    ? await step('warm 1 GiB read section (issue 9)', notes, () => largeRead({ repoRoot, host, runs: o.runs }))
    : undefined;

  const left = await leftovers();
  for (const l of left) log(`LEFTOVER: ${l}`);
  notes.push(left.length ? `left behind after the run: ${left.join('; ')}` : 'after the run: no lazysnap mount or daemon of this run remained (checked /proc/mounts and /proc/*/cmdline)');

  const report: BenchReport = {
    version: 1,
    machine: await describeMachine(),
    options: { quick: o.quick, image: o.image, runs: o.runs, rttSweep: o.rttSweep, bandwidthBitsPerSec: DEFAULT_BANDWIDTH_BITS, rttMs: DEFAULT_RTT_MS },
    image: { name: o.image, files: tree.files, compressedBytes: compressed, largestFile: tree.path },
    notes,
    cases,
    lazyRead: lazy,
    memory,
    largeRead: largeReport,
  };
  await writeReport(report, o.out);
}

async function writeReport(report: BenchReport, out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(join(out, 'latest.json'), json);
  await copyFile(join(out, 'latest.json'), join(out, `${report.machine.date.replace(/[:.]/g, '-')}.json`));
  await writeFile(join(out, 'latest.md'), renderMarkdown(report));
  for (const [file, svg] of await renderPlots(report)) await writeFile(join(out, file), svg);
  log(`results in ${out}: latest.json, latest.md, *.svg`);
  process.stdout.write(renderMarkdown(report));
}

try {
  await main();
  await cleanupAll();
} catch (err) {
  // After Ctrl-C the signal handler cleans up and exits; do not race it.
  if (isAborted()) await new Promise(() => {});
  log(err instanceof Skip ? err.message : `error: ${(err as Error).stack ?? err}`);
  await cleanupAll();
  process.exit(err instanceof Skip ? 1 : 2);
}
