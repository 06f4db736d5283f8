// Commands about whole images: inspect, pull, unpack, convert, push, login.

import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Runner } from '../main.js';
import { printJson, printLine, humanBytes, parseSize } from '../output.js';
import { DaemonClient } from '../../src/daemon/client.js';
import { createProgress } from '../progress.js';
import { parsePlatform } from '../../src/image/platform.js';
import { parseReference, formatReference } from '../../src/reference/reference.js';
import { invalidArgument } from '../../src/errors.js';

/** Engine modules, loaded when a command runs: `mount`, `umount` and `status` stay quick to start. */
const load = {
  prune: () => import('../../src/image/prune.js'),
  inspect: () => import('../../src/image/inspect.js'),
  pull: () => import('../../src/image/pull.js'),
  content_store: () => import('../../src/store/content-store.js'),
  unpack_image: () => import('../../src/image/unpack-image.js'),
  chunk_store_setup: () => import('../../src/image/chunk-store-setup.js'),
  convert_image: () => import('../../src/convert/convert-image.js'),
  push_image: () => import('../../src/image/push-image.js'),
};

export function registerImageCommands(program: Command, run: Runner): void {
  program
    .command('inspect')
    .description("show an image's manifest, config, platform and layers (digest, size, media type, lazy format)")
    .argument('<image>', 'image reference (HOST/NAME[:TAG][@DIGEST], or oci:PATH[:TAG])')
    .option('--platform <os/arch>', 'platform to resolve in a multi-platform image')
    .option('--json', 'one JSON document on stdout')
    .action((image: string, o: { platform?: string; json?: boolean }) =>
      run(async (ctx) => {
        const source = await ctx.source(image);
        try {
          const info = await (await load.inspect()).inspectImage(source, { platform: o.platform ? parsePlatform(o.platform) : undefined });
          if (o.json) return printJson(info);
          printLine(`Image:     ${info.reference}`);
          printLine(`Digest:    ${info.digest}`);
          if (info.manifestDigest !== info.digest) printLine(`Manifest:  ${info.manifestDigest}`);
          printLine(`MediaType: ${info.mediaType}`);
          printLine(`Platform:  ${info.platform}`);
          printLine(`Config:    ${info.config.digest} (${info.config.size} bytes)`);
          if (info.created) printLine(`Created:   ${info.created}`);
          printLine(`Layers:    ${info.layers.length}, ${humanBytes(info.compressedSize)} compressed`);
          for (const [i, l] of info.layers.entries()) {
            printLine(`  ${String(i + 1).padStart(2)}  ${l.digest}  ${humanBytes(l.size).padStart(9)}  ${l.format.padEnd(12)}  ${l.mediaType}`);
          }
        } finally {
          await source.close();
        }
      }),
    );

  program
    .command('pull')
    .description('fetch manifest, config and layer indexes; with --all every byte (parallel, resumable)')
    .argument('<image>', 'image reference')
    .option('--all', 'fetch every layer blob into the local store')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--json', 'one JSON document on stdout')
    .action((image: string, o: { all?: boolean; platform?: string; json?: boolean }) =>
      run(async (ctx) => {
        const source = await ctx.source(image);
        const store = await (await load.content_store()).ContentStore.open(ctx.paths.content);
        const progress = createProgress({ quiet: ctx.quiet, json: !!o.json });
        try {
          const result = await (await load.pull()).pullImage(source, store, {
            reference: formatReference(parseReference(image)),
            all: !!o.all,
            platform: o.platform ? parsePlatform(o.platform) : undefined,
            onProgress: (ev) => {
              if (ev.type === 'start') progress.start(ev.digest, `layer ${ev.digest.slice(7, 19)}`, ev.size);
              else if (ev.type === 'bytes') progress.update(ev.digest, ev.done);
              else if (ev.type === 'done') progress.finish(ev.digest, ev.skipped ? 'already present' : 'done');
            },
          });
          progress.close();
          // Without --all: the layer indexes (TOCs) too, into the chunk cache, so a later
          // mount starts without fetching them. (With --all every blob is local already.)
          let formats = new Map<string, string>();
          if (!o.all) {
            const chunks = await (await load.chunk_store_setup()).openProcessChunkStore(ctx.stateDir);
            try {
              const info = await (await load.inspect()).inspectImage(source, {
                platform: o.platform ? parsePlatform(o.platform) : undefined, store: chunks,
              });
              formats = new Map(info.layers.map((l) => [l.digest, l.format]));
            } finally {
              await chunks.close();
            }
          }
          const layers = result.layers.map((l) => ({ ...l, format: formats.get(l.digest) }));
          if (o.json) return printJson({ ...result, layers });
          printLine(`${result.reference}: ${result.manifestDigest}`);
          for (const l of layers) printLine(`  ${l.digest} ${humanBytes(l.size)} ${l.format ?? ''} ${l.present ? 'present' : o.all ? 'fetched' : 'lazy'}`);
        } finally {
          progress.close();
          await source.close();
        }
      }),
    );

  program
    .command('unpack')
    .description('extract the full merged rootfs into DIR (the non-lazy path), applying whiteouts')
    .argument('<image>', 'image reference')
    .argument('<dir>', 'destination directory (absent or empty)')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--json', 'print a JSON summary')
    .action((image: string, dir: string, o: { platform?: string; json?: boolean }) =>
      run(async (ctx) => {
        const progress = createProgress({ quiet: ctx.quiet, json: !!o.json });
        const source = await ctx.source(image);
        const store = await (await load.chunk_store_setup()).openProcessChunkStore(ctx.stateDir);
        try {
          const summary = await (await load.unpack_image()).unpackImage(source, dir, {
            stateDir: ctx.stateDir,
            store,
            localStore: await ctx.localStore(),
            platform: o.platform ? parsePlatform(o.platform) : undefined,
            progress,
          });
          progress.close();
          if (o.json) return printJson(summary);
          printLine(`unpacked ${summary.reference} into ${summary.dir}: ${summary.files} entries, ${humanBytes(summary.bytesFetched)} fetched`);
          for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
        } finally {
          progress.close();
          await store.close();
          await source.close();
        }
      }),
    );

  program
    .command('convert')
    .description('rewrite an image into a lazy format (eStargz) and store it (oci:PATH) or push it (registry)')
    .argument('<src>', 'source image reference')
    .argument('<dst>', 'destination reference (registry, or oci:PATH[:TAG])')
    .option('--format <format>', 'estargz (zstd-chunked is not written yet)', 'estargz')
    .option('--prefetch-list <file>', 'files read at start-up, one path per line: stored first, before the landmark')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--json', 'one JSON document on stdout')
    .action((src: string, dst: string, o: { format: string; prefetchList?: string; platform?: string; json?: boolean }) =>
      run(async (ctx) => {
        if (o.format !== 'estargz') {
          throw invalidArgument(`--format ${o.format}: only estargz is written (zstd-chunked layers are read, not yet written)`);
        }
        const prefetch = o.prefetchList
          ? (await readFile(o.prefetchList, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
          : undefined;
        const progress = createProgress({ quiet: ctx.quiet, json: !!o.json });
        const source = await ctx.source(src);
        try {
          const result = await (await load.convert_image()).convertImage(source, dst, {
            client: await ctx.client(),
            stateDir: ctx.stateDir,
            prefetchFiles: prefetch,
            platform: o.platform ? parsePlatform(o.platform) : undefined,
            progress,
          });
          progress.close();
          if (o.json) return printJson(result);
          printLine(`${result.reference}: ${result.manifestDigest} (${result.layers.length} eStargz layers)`);
        } finally {
          progress.close();
          await source.close();
        }
      }),
    );

  program
    .command('push')
    .description('push an image from the local store (or an oci: layout) to a registry')
    .argument('<image>', 'image in the local store (as pulled or converted), or oci:PATH[:TAG]')
    .argument('[dst]', 'destination registry reference (default: the image reference itself)')
    .option('--json', 'one JSON document on stdout')
    .action((image: string, dst: string | undefined, o: { json?: boolean }) =>
      run(async (ctx) => {
        const result = await (await load.push_image()).pushImage(image, dst ?? image, { client: await ctx.client(), stateDir: ctx.stateDir });
        if (o.json) return printJson(result);
        printLine(`pushed ${result.reference}: ${result.manifestDigest}`);
      }),
    );

  program
    .command('bench')
    .description('run the benchmarks (bench/): time to first result, bytes fetched, lazy vs full pull vs the stargz peer')
    .option('--quick', 'python image, fewer modes, one run (under 3 minutes)')
    .option('--image <name>', 'python, debian, or an image reference', 'python')
    .option('--runs <n>', 'runs per case (default 3; 1 with --quick)')
    .option('--rtt-sweep', 'also sweep round-trip times 0, 5, 20, 50 ms')
    .option('--out <dir>', 'where results go', 'bench/results')
    .action((o: { quick?: boolean; image: string; runs?: string; rttSweep?: boolean; out: string }) =>
      run(async () => {
        // The harness is its own program (it starts registries, daemons and peers and
        // cleans them up on Ctrl-C); run it as a child with our stdio.
        const { spawn } = await import('node:child_process');
        const main = fileURLToPath(new URL('../../bench/main.js', import.meta.url));
        const args = [main, '--image', o.image, '--out', o.out, ...(o.quick ? ['--quick'] : []),
          ...(o.runs ? ['--runs', o.runs] : []), ...(o.rttSweep ? ['--rtt-sweep'] : [])];
        const child = spawn(process.execPath, args, { stdio: 'inherit' });
        const code = await new Promise<number>((done) => child.on('exit', (c, sig) => done(c ?? (sig ? 2 : 0))));
        process.exitCode = code;
      }),
    );

  program
    .command('prune')
    .description('drop unused cache, local layer copies and images no tag reaches')
    .option('--cache-limit <size>', 'disk chunk cache budget to keep (e.g. 2G; default 0: empty it)', '0')
    .option('--json', 'one JSON document on stdout')
    .action((o: { cacheLimit: string; json?: boolean }) =>
      run(async (ctx) => {
        let limit: number;
        try {
          limit = parseSize(o.cacheLimit);
        } catch (err) {
          throw invalidArgument(`--cache-limit: ${(err as Error).message}`);
        }
        const daemon = await DaemonClient.connect(ctx.stateDir).catch(() => undefined);
        const inUse = new Set<string>();
        if (daemon) for (const m of (await daemon.status()).mounts) for (const l of m.layers) inUse.add(l.digest);
        const r = await (await load.prune()).pruneState(ctx.stateDir, { cacheLimitBytes: limit, layersInUse: inUse, daemonRunning: !!daemon });
        if (o.json) return printJson(r);
        printLine(`cache ${humanBytes(r.cacheBytesBefore)} -> ${humanBytes(r.cacheBytesAfter)}; ` +
          `${r.layerCopiesRemoved} layer copies (${humanBytes(r.layerBytesFreed)}) and ${r.blobsRemoved} blobs (${humanBytes(r.blobBytesFreed)}) removed`);
      }),
    );

  program
    .command('login')
    .description("store credentials for a registry in docker's config.json")
    .argument('<host>', 'registry host[:port]')
    .requiredOption('-u, --username <user>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .action((host: string, o: { username: string; passwordStdin?: boolean; password?: string }) =>
      run(async (ctx) => {
        let password = o.password;
        if (o.passwordStdin) {
          const chunks: Buffer[] = [];
          for await (const c of process.stdin) chunks.push(c as Buffer);
          password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
        }
        if (!password) throw invalidArgument('no password: use --password-stdin (or -p)');
        await (await ctx.client()).login(host, o.username, password);
        printLine(`Login Succeeded (${host})`);
      }),
    );
}
