// A daemon process for tests that need one outside the test process (kill -9, SIGTERM):
// `node fixture-daemon.js STATE_DIR` runs createDaemon as production does (processHost:
// one detached fixture-mount-server.js per mount, fake backend, real FUSE) until it is
// told to stop. Exit 3 when another daemon holds the state dir.

import { fileURLToPath } from 'node:url';
import { createDaemon } from '../../src/daemon/daemon.js';
import { streamLog } from '../../src/daemon/log.js';
import { processHost } from '../../src/daemon/process-host.js';
import { codeOf } from '../../src/errors.js';

const SERVER = fileURLToPath(new URL('./fixture-mount-server.js', import.meta.url));

const stateDir = process.argv[2];
if (!stateDir) {
  process.stderr.write('usage: fixture-daemon STATE_DIR\n');
  process.exit(2);
}
try {
  const log = streamLog();
  const host = processHost({
    stateDir, log, serverCommand: (spec) => [process.execPath, SERVER, JSON.stringify(spec)],
    ownCache: { memoryBytes: 0, diskBytes: 0, diskLimitBytes: 3 },
  });
  const daemon = await createDaemon({ stateDir, host, log, handleSignals: true });
  await daemon.closed;
  process.exit(0);
} catch (err) {
  process.stderr.write(`fixture-daemon: ${String((err as Error).stack ?? err)}\n`);
  process.exit(codeOf(err) === 'ALREADY_EXISTS' ? 3 : 1);
}
