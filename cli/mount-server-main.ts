// The lean entry of a mount server process, which the CLI and the daemon start for each
// mount: the same arguments as `lazysnap mount-server` (global options, the command name,
// the spec or --spare SOCKET), parsed by hand (mount-server-command.ts). No node flags on
// its command line: the server sets its V8 options itself (setServerV8Options says why).
//
// Why not through cli/main.ts: every mount server would first load and run the whole
// command line (commander, every command's definition, the progress bars) only to pick this
// one hidden command. Traced on a cold mount here, a server reached its command 136-149 ms
// after it started, 100 ms of it in the CLI's module; a cold mount waits for that.
// The argument shape stays `... mount-server [SPEC] [--spare SOCKET]`: a later daemon
// recognises a server by the socket named on its command line.

import { createContext } from './context.js';
import { fail } from './output.js';
import { parseServerArgs, serveMount, type ServerArgs } from './commands/mount-server-command.js';

async function main(): Promise<void> {
  let args: ServerArgs;
  try {
    args = parseServerArgs(process.argv.slice(2));
  } catch (err) {
    fail(err);
  }
  const ctx = createContext(args.global);
  try {
    await serveMount(ctx, args.spec, args.spare);
  } catch (err) {
    await ctx.close().catch(() => {});
    fail(err);
  }
  await ctx.close();
}

await main();
