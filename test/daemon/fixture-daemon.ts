// A daemon process for tests that need one outside the test process (kill -9, SIGTERM):
// `node fixture-daemon.js STATE_DIR` runs createDaemon with the fake backend and the
// real FUSE adapter until it is told to stop.

import { mountTree } from '../../fs/mount-tree.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { streamLog } from '../../src/daemon/log.js';
import { codeOf } from '../../src/errors.js';
import { fakeBackend } from './fake-backend.js';

const stateDir = process.argv[2];
if (!stateDir) {
  process.stderr.write('usage: fixture-daemon STATE_DIR\n');
  process.exit(2);
}
try {
  const daemon = await createDaemon({ stateDir, backend: fakeBackend(), mountTree, log: streamLog(), handleSignals: true });
  await daemon.closed;
  process.exit(0);
} catch (err) {
  process.stderr.write(`fixture-daemon: ${String((err as Error).stack ?? err)}\n`);
  process.exit(codeOf(err) === 'ALREADY_EXISTS' ? 3 : 1);
}
