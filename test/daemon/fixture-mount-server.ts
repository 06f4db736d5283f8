// A mount-server process for tests: `node fixture-mount-server.js SPEC_JSON` is what
// `lazysnap mount-server` does, with the fake backend instead of registry and cache.

import { mountTree } from '../../fs/mount-tree.js';
import { streamLog } from '../../src/daemon/log.js';
import { parseServerSpec, runMountServerProcess } from '../../src/daemon/mount-server.js';
import { fakeBackend } from './fake-backend.js';

try {
  await runMountServerProcess({ spec: parseServerSpec(process.argv[2] ?? ''), backend: fakeBackend(), mountTree, log: streamLog() });
  process.exit(0);
} catch (err) {
  process.stderr.write(`fixture-mount-server: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
}
