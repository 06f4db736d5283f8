// Mounting: mount, umount, status, daemon, bundle, run. The CLI talks to the daemon of
// its state dir over the control socket and starts it in the background when absent; the
// daemon starts one mount server process per mount (cli/mount-server-main.ts; the hidden
// `mount-server` command runs the same).

import type { Command } from 'commander';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import type { Runner } from '../main.js';
import type { Context } from '../context.js';
import { printJson, printLine, humanBytes } from '../output.js';
import { DaemonClient, ensureDaemon, forceUnmount } from '../../src/daemon/client.js';
import { PREFETCH_MODES, type PrefetchMode } from '../../src/daemon/backend.js';
import { mountServerPaths, type MountServerSpec } from '../../src/daemon/mount-server.js';
import { serveMount } from './mount-server-command.js';
import { daemonArgs, mountServerArgs } from './lean-process.js';
import { runDaemon } from './daemon-command.js';
import { READY_FD, startMountServer } from '../../src/daemon/process-host.js';
import type { MountRequest, MountStatus, StatusReport } from '../../src/daemon/protocol.js';
import { loadRecords, newMountRecord } from '../../src/daemon/mount-records.js';
import { resolveMountpoint } from '../../src/daemon/mountpoint.js';
import { stopServer } from '../../src/daemon/server-process.js';
import { parsePlatform } from '../../src/image/platform.js';
import { invalidArgument, isCode } from '../../src/errors.js';

/** Engine modules, loaded when a command runs: `mount`, `umount` and `status` stay quick to start. */
const load = {
  runtime_spec: () => import('../../src/runtime/runtime-spec.js'),
  bundle: () => import('../../src/runtime/bundle.js'),
  run_container: () => import('../../src/runtime/run-container.js'),
};

/**
 * Mounts through the daemon of the state dir. When none runs and nothing is recorded (the
 * first mount of a state dir), the mount server is started here, beside the daemon rather
 * than after it, and the daemon adopts it once both are up: a cold `mount` waits for one
 * node process less (~100 ms). Otherwise the daemon mounts (starting it if needed, its
 * restore of recorded mounts first).
 */
async function mountThroughDaemon(ctx: Context, req: MountRequest & { prefetch: PrefetchMode }): Promise<MountStatus> {
  const running = await DaemonClient.connect(ctx.stateDir).catch(() => undefined);
  // Records (or unreadable ones) mean a daemon has mounts to restore first: it mounts.
  const recorded = running ? 0 : await loadRecords(ctx.stateDir).then((r) => r.length, () => 1);
  if (running || recorded > 0) return (running ?? await ensureDaemon(ctx.stateDir, daemonArgs(ctx))).mount(req);

  const mountpoint = await resolveMountpoint(req.mountpoint);
  const record = newMountRecord(mountpoint, req);
  const spec: MountServerSpec = { stateDir: ctx.stateDir, record, socketPath: mountServerPaths(ctx.stateDir, mountpoint).socket, readyFd: READY_FD };
  const daemon = ensureDaemon(ctx.stateDir, daemonArgs(ctx));
  daemon.catch(() => {}); // awaited below; a failure then is reported there
  const server = await startMountServer(spec, mountServerArgs(ctx, spec));
  const served = { ...record, serverPid: server.pid, serverSocket: server.socketPath };
  try {
    return await (await daemon).adopt({ ...served, ...(server.stats ? { readyStats: server.stats } : {}) });
  } catch (err) {
    // Not adopted: nobody would know this mount; it goes.
    await stopServer(served).catch(() => {});
    throw err;
  }
}

function checkPrefetch(p: string): PrefetchMode {
  if (!(PREFETCH_MODES as readonly string[]).includes(p)) throw invalidArgument(`--prefetch ${p}: want one of ${PREFETCH_MODES.join(', ')}`);
  return p as PrefetchMode;
}

function describeMount(m: MountStatus): string {
  const lazy = m.layers.map((l) => `${l.format}${l.lazy ? '' : ' (not lazy: ' + (l.reason ?? 'full fetch') + ')'}`).join(', ');
  const pct = m.compressedBytes ? ((100 * m.bytesFetched) / m.compressedBytes).toFixed(1) : '0';
  return [
    `${m.mountpoint}  ${m.image}`,
    `  digest ${m.digest}, ${m.layers.length} layers: ${lazy}`,
    `  fetched ${humanBytes(m.bytesFetched)} of ${humanBytes(m.compressedBytes)} (${pct}%) in ${m.requests} requests; ` +
      `cache ${m.cacheHits} hits / ${m.cacheMisses} misses (${(100 * m.cacheHitRate).toFixed(0)}%)`,
    `  read latency p50 ${m.readLatencyMs.p50.toFixed(2)} ms, p99 ${m.readLatencyMs.p99.toFixed(2)} ms; errors ${m.errors}`,
  ].join('\n');
}

function printStatus(s: StatusReport): void {
  printLine(`daemon pid ${s.daemon.pid} (v${s.daemon.version}), state ${s.daemon.stateDir}`);
  printLine(`cache: memory ${humanBytes(s.cache.memoryBytes)}, disk ${humanBytes(s.cache.diskBytes)} of ${humanBytes(s.cache.diskLimitBytes)}`);
  if (s.mounts.length === 0) printLine('no mounts');
  for (const m of s.mounts) printLine(describeMount(m));
  for (const f of s.restoreFailures) printLine(`not restored: ${f.mountpoint} (${f.reference}): ${f.error.message}`);
  for (const u of s.unreachable) printLine(`not answering: ${u.mountpoint} (${u.reference}, server pid ${u.serverPid ?? '?'}): ${u.error.message}`);
}

export function registerMountCommands(program: Command, run: Runner): void {
  program
    .command('mount')
    .description("mount an image's merged rootfs read-only and lazily; returns once the mount answers")
    .argument('<image>', 'image reference')
    .argument('<mountpoint>', 'an existing empty directory')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--prefetch <mode>', 'none | landmark | all (landmark: the files an eStargz image prioritises)', 'landmark')
    .option('--json', 'print the mount as JSON')
    .action((image: string, mountpoint: string, o: { platform?: string; prefetch: string; json?: boolean }) =>
      run(async (ctx) => {
        const prefetch = checkPrefetch(o.prefetch);
        if (o.platform) parsePlatform(o.platform);
        const m = await mountThroughDaemon(ctx, { reference: image, mountpoint, platform: o.platform, prefetch });
        if (o.json) return printJson(m);
        if (!ctx.quiet) process.stderr.write(`mounted ${m.image} at ${m.mountpoint} (${m.layers.map((l) => l.format).join(', ')})\n`);
      }),
    );

  program
    .command('umount')
    .alias('unmount')
    .description('unmount a lazysnap mount (also after a daemon crash)')
    .argument('<mountpoint>', 'the mountpoint')
    .action((mountpoint: string) =>
      run(async (ctx) => {
        let client: DaemonClient | undefined;
        try {
          client = await DaemonClient.connect(ctx.stateDir);
        } catch {
          client = undefined; // no daemon: clean up the endpoint ourselves
        }
        if (client) {
          try {
            await client.umount(mountpoint);
            return;
          } catch (err) {
            if (!isCode(err, 'NOT_FOUND')) throw err;
            // Not the daemon's (e.g. a stale record or a dead endpoint): fall through.
          }
        }
        await forceUnmount(ctx.stateDir, mountpoint);
      }),
    );

  program
    .command('status')
    .description('daemon, mounts (lazy or not, what was fetched, cache hits) and cache figures')
    .option('--json', 'one JSON document on stdout (schema in CLI.md)')
    .action((o: { json?: boolean }) =>
      run(async (ctx) => {
        let client: DaemonClient;
        try {
          client = await DaemonClient.connect(ctx.stateDir);
        } catch {
          if (o.json) return printJson({ daemon: null, mounts: [], cache: null });
          printLine(`no daemon runs for ${ctx.stateDir}`);
          return;
        }
        const s = await client.status();
        if (o.json) return printJson(s);
        printStatus(s);
      }),
    );

  program
    .command('daemon')
    .description('run the daemon (the control side) in the foreground; the CLI starts it when needed')
    .argument('[action]', 'start: start it in the background, as the CLI does, unless it runs; stop: stop the control side (mounts keep serving; with --all they are unmounted too)')
    .option('--all', 'with stop: also unmount every mount (they come back when a daemon starts again)')
    .action((action: string | undefined, o: { all?: boolean }) =>
      run(async (ctx) => {
        if (action !== undefined && action !== 'start' && action !== 'stop') throw invalidArgument(`daemon ${action}: the actions are "start" and "stop"`);
        if (o.all && action !== 'stop') throw invalidArgument('--all goes with "daemon stop"');
        if (action === 'stop') {
          const client = await DaemonClient.connect(ctx.stateDir).catch(() => undefined);
          if (client) await client.shutdown({ unmountAll: o.all === true });
          return;
        }
        if (action === 'start') {
          const { daemon } = await (await ensureDaemon(ctx.stateDir, daemonArgs(ctx))).status();
          if (!ctx.quiet) process.stdout.write(`lazysnap daemon running, pid ${daemon.pid} (state dir ${ctx.stateDir})\n`);
          return;
        }
        await runDaemon(ctx);
      }),
    );

  program
    .command('mount-server', { hidden: true })
    .description('serve one FUSE mount (started by the daemon, detached; not for direct use)')
    .argument('[spec]', 'JSON: stateDir, record, socketPath, readyFd')
    .option('--spare <socket>', 'load everything first, then read the spec (for this socket) from stdin; the daemon keeps one ready')
    .action((specText: string | undefined, o: { spare?: string }) =>
      run((ctx) => serveMount(ctx, specText, o.spare)),
    );

  program
    .command('bundle')
    .description('write an OCI runtime bundle whose root is a lazy, read-only mount of IMAGE')
    .argument('<image>', 'image reference')
    .argument('<dir>', 'bundle directory (absent or empty); the rootfs is mounted at DIR/rootfs')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--prefetch <mode>', 'none | landmark | all', 'landmark')
    .action((image: string, dir: string, o: { platform?: string; prefetch: string }) =>
      run(async (ctx) => {
        const bundle = resolve(dir);
        await makeBundle(ctx, image, bundle, o, undefined);
        printLine(bundle);
      }),
    );

  program
    .command('run')
    .description('run IMAGE with crun or runc on a lazy mount, then clean up')
    .argument('<image>', 'image reference')
    .argument('[command...]', 'command and arguments (after --), replacing the image CMD')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--prefetch <mode>', 'none | landmark | all', 'landmark')
    .option('--runtime <name>', 'crun or runc (default: whichever is installed, crun first)')
    .action((image: string, command: string[], o: { platform?: string; prefetch: string; runtime?: string }) =>
      run(async (ctx) => {
        if (o.runtime && o.runtime !== 'crun' && o.runtime !== 'runc') throw invalidArgument(`--runtime ${o.runtime}: want crun or runc`);
        const runtime = await (await load.run_container()).findRuntime(o.runtime as 'crun' | 'runc' | undefined);
        const bundle = await mkdtemp(join(tmpdir(), 'lazysnap-run-'));
        const rootfs = join(bundle, 'rootfs');
        let code = 0;
        try {
          await makeBundle(ctx, image, bundle, o, command.length ? command : undefined);
          const r = await (await load.run_container()).runContainer({ bundleDir: bundle, runtime, stdio: 'inherit' });
          code = r.exitCode;
        } finally {
          const client = await DaemonClient.connect(ctx.stateDir).catch(() => undefined);
          await client?.umount(rootfs).catch(() => forceUnmount(ctx.stateDir, rootfs).catch(() => {}));
          await rm(bundle, { recursive: true, force: true }).catch(() => {});
        }
        process.exitCode = code;
      }),
    );
}

/**
 * A bundle in DIR (absent or empty): IMAGE mounted lazily at DIR/rootfs, then DIR/config.json
 * from the image config (written after the mount: a named USER is looked up in the image).
 */
async function makeBundle(ctx: Context, image: string, bundle: string, o: { platform?: string; prefetch: string }, args: string[] | undefined): Promise<void> {
  const prefetch = checkPrefetch(o.prefetch);
  const [{ prepareBundleDir, writeBundle }, { createRuntimeSpec }] = await Promise.all([load.bundle(), load.runtime_spec()]);
  const source = await ctx.source(image);
  const resolved = await source.resolve(o.platform ? parsePlatform(o.platform) : undefined).finally(() => source.close());
  const dir = await prepareBundleDir(bundle);
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs);
  const client = await ensureDaemon(ctx.stateDir, daemonArgs(ctx));
  await client.mount({ reference: image, mountpoint: rootfs, platform: o.platform, prefetch });
  try {
    const spec = await createRuntimeSpec(resolved.config, { rootPath: rootfs, readonlyRoot: true, ...(args ? { args } : {}) });
    await writeBundle(dir, spec, { prepared: true });
  } catch (err) {
    await client.umount(rootfs).catch(() => {});
    throw err;
  }
}
