// The workloads: what a user of the image does first, run against a rootfs directory (a lazy
// mount, the peer's overlay, an unpacked tree). Each resolves when the first useful result
// is there. All run as async children: the bench never blocks on a FUSE read itself.
// Output goes to the host's /dev/null: an image's /dev may be empty (and a lazy mount is
// read-only), so nothing is redirected inside the chroot.

import net from 'node:net';
import { run, start, stopChild } from './exec.js';

export interface Workload {
  name: string;
  /** What it runs, for the table. */
  command: string;
  /** A file the image must have for it, e.g. python3. */
  needs?: string;
  run(rootfs: string): Promise<void>;
}

const TIMEOUT_MS = 300_000;

function chrootSh(script: string): (rootfs: string) => Promise<void> {
  return async (rootfs) => {
    await run('chroot', [rootfs, '/bin/sh', '-c', script], { timeoutMs: TIMEOUT_MS, discardStdout: true });
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Starts python3 -m http.server in the chroot and waits for the first successful GET. */
async function httpReadiness(rootfs: string): Promise<void> {
  const port = await freePort();
  const server = start('chroot', [rootfs, 'python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', '/']);
  try {
    const deadline = performance.now() + TIMEOUT_MS;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`http.server exited ${server.exitCode} before answering`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) throw new Error('http.server did not answer in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    // Before anything unmounts the rootfs: the server holds files in it open.
    await stopChild(server);
  }
}

/** The workloads of the issue; largestFile is a path inside the image (from the native tree). */
export function workloads(largestFile: string | undefined): Workload[] {
  const list: Workload[] = [
    { name: 'sh-true', command: 'sh -c true', run: chrootSh('true') },
    { name: 'python-import-json', command: "python3 -c 'import json'", needs: '/usr/bin/python3', run: chrootSh("python3 -c 'import json'") },
    { name: 'http-ready', command: 'python3 -m http.server, until the first GET succeeds', needs: '/usr/bin/python3', run: httpReadiness },
  ];
  if (largestFile) {
    const quoted = `'${largestFile.replace(/'/g, `'\\''`)}'`;
    list.push({ name: 'read-large-file', command: `cat ${largestFile} > /dev/null`, run: chrootSh(`cat ${quoted}`) });
  }
  list.push(
    { name: 'find', command: 'find / -xdev | wc -l', run: chrootSh('find / -xdev | wc -l') },
    {
      name: 'tar',
      command: 'tar -c -C ROOTFS . | wc -c',
      // On the host: tar from the image itself would be timed too, and may be absent.
      run: async (rootfs) => {
        await run('sh', ['-c', 'tar -c -C "$1" . | wc -c', 'tar', rootfs], { timeoutMs: TIMEOUT_MS, discardStdout: true });
      },
    },
  );
  return list;
}
