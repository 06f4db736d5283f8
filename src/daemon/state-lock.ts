// One daemon per state dir. The lock is a listening socket in Linux's abstract namespace,
// named after the state dir: binding it is atomic and exclusive, and the kernel releases
// it when the holder dies, even by kill -9, so there is no stale lock to judge (a pid file
// would need a liveness guess and a racy takeover).

import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { alreadyExists, internal } from '../errors.js';

export interface StateLock {
  release(): Promise<void>;
}

export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  const id = createHash('sha256').update(await realpath(stateDir)).digest('hex').slice(0, 40);
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((done, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'EADDRINUSE'
        ? alreadyExists(`a lazysnap daemon already runs for ${stateDir}`)
        : internal(`cannot take the daemon lock for ${stateDir}`, err));
    });
    server.listen(`\0lazysnapd-${id}`, () => done());
  });
  server.unref(); // the lock alone must not keep a process alive
  let released: Promise<void> | undefined;
  return {
    release: () => (released ??= new Promise<void>((done) => server.close(() => done()))),
  };
}
