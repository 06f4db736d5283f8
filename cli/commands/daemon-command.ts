// The body of the daemon process (the control side): `lazysnap daemon` in the foreground,
// and the lean entry cli/daemon-main.ts, which the CLI starts in the background
// (lean-process.ts says why).

import type { Context } from '../context.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { streamLog } from '../../src/daemon/log.js';
import { processHost } from '../../src/daemon/process-host.js';
import { mountServerArgs, setLeanHeap } from './lean-process.js';

/** Runs the state dir's daemon until it is told to stop (or a signal ends it). */
export async function runDaemon(ctx: Context): Promise<void> {
  const { chunkStoreSizes } = await import('../../src/image/chunk-store-setup.js');
  setLeanHeap();
  const log = streamLog(process.stderr);
  // The daemon holds no cache: the mount servers do. It reports the configured limit.
  const host = processHost({
    stateDir: ctx.stateDir, log, serverCommand: (spec) => mountServerArgs(ctx, spec),
    spareCommand: (socket) => [...mountServerArgs(ctx, undefined), '--spare', socket],
    ownCache: { memoryBytes: 0, diskBytes: 0, diskLimitBytes: chunkStoreSizes().diskBytes },
  });
  const daemon = await createDaemon({ stateDir: ctx.stateDir, host, log, handleSignals: true });
  await daemon.closed;
}
