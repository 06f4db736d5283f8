// Resolves a path inside a container root the way the container would see it: symlinks
// are followed relative to the root, never out of it (an image's /etc/passwd may be a
// link to /usr/share/..., and an absolute link must not read the host's file).
//
// Async fs only: the root is often a FUSE mount served by this same process, and a
// synchronous call into it would block the thread that has to answer it.

import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';

/** Linux's own limit on links followed in one lookup (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * Host path of `containerPath` under `rootPath`, with every symlink resolved inside the
 * root. Missing components are fine (the result may not exist); a link loop is
 * INVALID_ARGUMENT.
 */
export async function resolveInRoot(rootPath: string, containerPath: string): Promise<string> {
  let pending = splitPath(containerPath);
  const done: string[] = [];
  let links = 0;
  let missing = false; // once a component is absent, the rest is resolved lexically
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop(); // ".." at the root stays at the root, as in the kernel's chroot lookup
      continue;
    }
    const hostPath = join(rootPath, ...done, part);
    let isLink = false;
    if (!missing) {
      try {
        isLink = (await lstat(hostPath)).isSymbolicLink();
      } catch {
        missing = true;
      }
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw invalidArgument(`too many symbolic links resolving ${containerPath} in ${rootPath}`);
    }
    const target = await readlink(hostPath);
    if (target.startsWith('/')) done.length = 0;
    pending = [...splitPath(target), ...pending];
  }
  return join(rootPath, ...done);
}

function splitPath(p: string): string[] {
  // No lexical normalisation: "a/../b" must follow a if a is a link.
  return p.split('/').filter((s) => s !== '');
}
