// lazysnap's command line (the contract is ../shared/CLI.md). This file only declares
// commands and flags; each command's work is in cli/commands/, the engine in src/.

import { Command, CommanderError, Option } from 'commander';
import { runWithContext, type Context, type GlobalOptions } from './context.js';
import { fail } from './output.js';
import { registerImageCommands } from './commands/image-commands.js';
import { registerFileCommands } from './commands/file-commands.js';
import { registerMountCommands } from './commands/mount-commands.js';
import { VERSION } from '../src/version.js';

const program = new Command();
program
  .name('lazysnap')
  .description('Mount OCI container images as directories without downloading them first')
  .version(VERSION)
  .option('--state-dir <dir>', 'state directory (env LAZYSNAP_STATE_DIR; default /var/lib/lazysnap as root)')
  .addOption(new Option('--insecure <host>', 'use plain HTTP for this registry host (repeatable; env LAZYSNAP_INSECURE)')
    .argParser((v: string, prev: string[] = []) => [...prev, v]))
  .option('-q, --quiet', 'no progress output')
  .showHelpAfterError()
  .exitOverride();

/** Runs a command body with a context, turning every error into one line and an exit code. */
export type Runner = (body: (ctx: Context) => Promise<void>) => Promise<void>;
const run: Runner = (body) => runWithContext(() => program.opts<GlobalOptions>(), body);

registerImageCommands(program, run);
registerFileCommands(program, run);
registerMountCommands(program, run);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; usage errors were printed by commander: exit 1.
    process.exit(err.exitCode === 0 ? 0 : 1);
  }
  fail(err);
}
