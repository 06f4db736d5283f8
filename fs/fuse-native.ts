// A typed wrapper over the parts of fuse-native (CommonJS, untyped, libfuse 2 high-level
// API) that lazysnap uses. The subclass fixes three things the package does not let us
// configure: the full mount option string (ro, use_ino, zero timeouts), xattr replies
// larger than the kernel's buffer (must be ERANGE, not an overflow), and unmounting with
// fusermount3 instead of `fusermount -uz` so a busy mount is reported and a mount that
// is already gone still releases the native session.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { unmountPath } from '../src/daemon/mountpoint.js';

const require = createRequire(import.meta.url);

/** Negative errno values as fuse-native expects them (Fuse.ENOENT = -2...). */
export type Errno = number;

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

export interface FuseStatfs {
  bsize: number; frsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; favail: number; fsid: number; flag: number; namemax: number;
}

type Done = (err: Errno) => void;

/** The callbacks we implement; fuse-native calls each with the path first and a node-style callback last. */
export interface FuseOps {
  init(cb: Done): void;
  getattr(path: string, cb: (err: Errno, stat?: FuseStat) => void): void;
  readdir(path: string, cb: (err: Errno, names?: string[]) => void): void;
  read(path: string, fh: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
  readlink(path: string, cb: (err: Errno, target?: string) => void): void;
  statfs(path: string, cb: (err: Errno, st?: FuseStatfs) => void): void;
  getxattr(path: string, name: string, position: number, cb: (err: Errno, value?: Buffer) => void): void;
  listxattr(path: string, cb: (err: Errno, names?: string[]) => void): void;
  access(path: string, mode: number, cb: Done): void;
  // Write-ish operations: registered only to answer EROFS (the signatures differ; the callback is last).
  [writeOp: string]: (...args: never[]) => void;
}

type Signal = (...args: unknown[]) => void;

interface FuseBase {
  readonly mnt: string;
  mount(cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
}
interface FuseConstructor {
  new (mnt: string, ops: object, opts: { timeout: false | number }): FuseBase;
  [errno: string]: unknown;
}

const Fuse = require('fuse-native') as FuseConstructor;
// The package's own native binding (same module instance: require caches it by path);
// needed to release the session after we unmount with fusermount3 ourselves.
const binding = createRequire(require.resolve('fuse-native'))('node-gyp-build')(dirname(require.resolve('fuse-native'))) as {
  fuse_native_unmount(mnt: string, thread: Buffer): void;
};

/** The negative errno fuse-native wants for an errno name (unknown names: EIO). */
export function errno(name: string): Errno {
  const v = Fuse[name];
  return typeof v === 'number' ? v : (Fuse.EIO as number);
}

/** A mounted-or-not FUSE session with an explicit mount option list. */
export class ReadOnlyFuse extends (Fuse as FuseConstructor) {
  declare private _thread: Buffer | null;

  constructor(mnt: string, ops: FuseOps, private readonly optionList: readonly string[]) {
    // timeout: false: fuse-native's per-op timer would answer ETIMEDOUT on a slow fetch
    // and costs a timer per metadata op; read timeouts are ours (AbortSignal).
    super(mnt, ops, { timeout: false });
  }

  _fuseOptions(): string {
    return '-o' + this.optionList.join(',');
  }

  _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer, position: number): void {
    (this as unknown as { ops: FuseOps }).ops.getxattr(path, name, position, (err, value) => {
      if (err) return signal(err, valueBuf.buffer);
      if (!value) return signal(errno('ENODATA'), valueBuf.buffer);
      // size 0 asks for the length; a buffer too small is ERANGE (the package would overflow it).
      if (valueBuf.length === 0) return signal(value.length, valueBuf.buffer);
      if (value.length > valueBuf.length) return signal(errno('ERANGE'), valueBuf.buffer);
      value.copy(valueBuf);
      return signal(value.length, valueBuf.buffer);
    });
  }

  _op_listxattr(signal: Signal, path: string, listBuf: Buffer): void {
    (this as unknown as { ops: FuseOps }).ops.listxattr(path, (err, names) => {
      if (err || !names) return signal(err || errno('EIO'), listBuf.buffer);
      const list = Buffer.concat(names.map((n) => Buffer.from(`${n}\0`)));
      if (listBuf.length === 0) return signal(list.length, listBuf.buffer);
      if (list.length > listBuf.length) return signal(errno('ERANGE'), listBuf.buffer);
      list.copy(listBuf);
      return signal(list.length, listBuf.buffer);
    });
  }

  /** Nanoresource's close hook: unmount with fusermount3, then release the native session. */
  _close(cb: (err: Error | null) => void): void {
    unmountPath(this.mnt).then(() => {
      if (this._thread) binding.fuse_native_unmount(this.mnt, this._thread);
      cb(null);
    }, cb);
  }
}
