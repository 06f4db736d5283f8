// The lean entry of a mount server process, which the CLI and the daemon start for each
// mount: the same arguments as `lazysnap mount-server` (global options, the command name,
// the spec or --spare SOCKET), parsed by hand. No node flags on its command line: the
// server sets its V8 options itself (cli/commands/lean-process.ts says why).

import { runWithContext } from './context.js';
import { parseServerArgs, serveMount, type ServerArgs } from './commands/mount-server-command.js';

let args!: ServerArgs;
await runWithContext(() => (args = parseServerArgs(process.argv.slice(2))).global, (ctx) => serveMount(ctx, args.spec, args.spare));
