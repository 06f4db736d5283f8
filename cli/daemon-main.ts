// The lean entry of the daemon process, which the CLI starts in the background: the same
// arguments as `lazysnap daemon` run in the foreground (global options, the command name),
// parsed by hand. No node flags on its command line (cli/commands/lean-process.ts says why).

import { runWithContext } from './context.js';
import { parseLeanArgs } from './commands/lean-process.js';
import { runDaemon } from './commands/daemon-command.js';

// No action and no option: this entry only runs the daemon (`lazysnap daemon start|stop` are the CLI's).
await runWithContext(() => parseLeanArgs(process.argv.slice(2), 'daemon').global, runDaemon);
