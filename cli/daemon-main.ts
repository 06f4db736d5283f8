// The lean entry of the daemon process, which the CLI starts in the background: the same
// arguments as `lazysnap daemon` run in the foreground (global options, the command name),
// parsed by hand. No node flags on its command line (cli/commands/lean-process.ts says why).

import { runWithContext } from './output.js';
import { parseLeanArgs } from './commands/lean-process.js';
import { runDaemon } from './commands/daemon-command.js';
import { invalidArgument } from '../src/errors.js';

await runWithContext(() => {
  const { global, rest } = parseLeanArgs(process.argv.slice(2), 'daemon');
  if (rest.length > 0) throw invalidArgument(`daemon: unexpected argument ${JSON.stringify(rest[0])} (this entry only runs the daemon)`);
  return global;
}, runDaemon);
