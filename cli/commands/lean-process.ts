// What the two long-lived processes lazysnap starts (the daemon and each mount server)
// share: an entry of their own instead of the whole command line, their arguments parsed
// by hand, and V8 options set at run time.
//
// Why an entry of their own: through cli/main.ts every such process would first load and
// run the whole command line (commander, every command's definition, the progress bars)
// only to pick one command. Traced on a cold mount, a mount server reached its command
// 136-149 ms after it started, ~100 ms of it in the CLI's module; a cold mount waits for
// its server, and its daemon starts beside it on the same two cores.
//
// Why V8 options at run time: any V8 flag on node's command line (or set before node has
// loaded its own modules) changes V8's flag hash, and node then compiles its modules from
// source instead of using the code cache they are built with. Measured on the mount
// server's entry (20 interleaved starts each): 59 ms to exit with no V8 flag, 81-90 ms
// with any one of --expose-gc, --liftoff-only, --max-semi-space-size=1.
//
// The argument shape stays `[global options] COMMAND ...` as `lazysnap COMMAND` takes it:
// a later daemon recognises a mount server by the socket named on its command line.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type { Context, GlobalOptions } from '../context.js';
import type { MountServerSpec } from '../../src/daemon/mount-server.js';
import { invalidArgument } from '../../src/errors.js';

/**
 * The script of a lean entry (`mount-server-main`, `daemon-main`): the bundle's when
 * there is a bundle (scripts/bundle.mjs), else the compiled one. The bundle's chunks sit
 * as deep as this file compiled (dist/cli/commands/), so the repository root is three
 * levels up from either.
 */
export function leanEntry(name: string): string {
  const root = new URL('../../../', import.meta.url);
  const bundled = new URL(`dist/bundle/cli/${name}.mjs`, root);
  return fileURLToPath(existsSync(bundled) ? bundled : new URL(`dist/cli/${name}.js`, root));
}

/** The command that runs this state dir's daemon in the foreground (with our registry options). */
export function daemonArgs(ctx: Context): string[] {
  return [process.execPath, leanEntry('daemon-main'), ...globalArgs(ctx), 'daemon'];
}

/** The command that runs one mount server (the daemon passes on its registry options). */
export function mountServerArgs(ctx: Context, spec: MountServerSpec | undefined): string[] {
  return [process.execPath, leanEntry('mount-server-main'), ...globalArgs(ctx), 'mount-server', ...(spec ? [JSON.stringify(spec)] : [])];
}

function globalArgs(ctx: Context): string[] {
  return ['--state-dir', ctx.stateDir, ...ctx.insecureHosts.flatMap((h) => ['--insecure', h])];
}

/** What a lean entry's command line says: the global options, then the command's own. */
export interface LeanArgs {
  global: GlobalOptions;
  /** The command's own `--name VALUE` options given, by name. */
  options: Map<string, string>;
  /** Its arguments that are not options, in order. */
  positionals: string[];
}

/**
 * `[--state-dir DIR] [--insecure HOST]... [-q] COMMAND [--OPTION VALUE | ARG]...`: the
 * global options before the command, `commandOptions` (each taking a value) and at most
 * `maxPositionals` other arguments after it. Anything else is refused by name.
 */
export function parseLeanArgs(argv: readonly string[], command: string, commandOptions: readonly string[] = [], maxPositionals = 0): LeanArgs {
  const out: LeanArgs = { global: {}, options: new Map(), positionals: [] };
  const { global } = out;
  let seen = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw invalidArgument(`${command}: ${name} needs a value`);
      return v;
    };
    if (!seen && name === '--state-dir') global.stateDir = value();
    else if (!seen && name === '--insecure') global.insecure = [...(global.insecure ?? []), value()];
    else if (!seen && (arg === '-q' || arg === '--quiet')) global.quiet = true;
    else if (!seen && arg === command) seen = true;
    else if (seen && commandOptions.includes(name)) out.options.set(name, value());
    else if (seen && !arg.startsWith('-') && out.positionals.length < maxPositionals) out.positionals.push(arg);
    else throw invalidArgument(`${command}: unexpected argument ${JSON.stringify(arg)}`);
  }
  if (!seen) throw invalidArgument(`${command}: the command name is missing`);
  return out;
}

/**
 * The young generation of a long-lived process: semi-spaces that stop growing
 * (--semi-space-growth-factor=1; --max-semi-space-size cannot change once the heap is
 * made). The daemon and the servers allocate in bursts (opening an image: tens of
 * megabytes of short-lived objects), which grew the default semi-spaces to 16 MB,
 * committed for the process's life: measured on the python image, a server held 13.5 MB
 * above its base after mounting, a walk and a collection, against 22-35 MB; the image
 * opened no slower. Set once the modules are loaded (see above), by which time the
 * semi-spaces have grown to 2 MB (1 MB with the flag from the start): 2 MB more a
 * process, against ~100 ms off a cold mount.
 */
export function setLeanHeap(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
