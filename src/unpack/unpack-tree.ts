// The non-lazy path: writes a merged Tree into a directory, as `umoci unpack` would.
// Safety: the tree has clean names and dest starts empty, so every path component below
// dest is a directory this function made itself; files are opened O_EXCL|O_NOFOLLOW and
// links are made with link/symlink, which never follow a final symlink. Symlink targets
// are written as stored (absolute or escaping targets are just data here).

import { constants } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, open, readdir, realpath, symlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { regularBytes, type Tree, type TreeNode } from '../tree/tree-node.js';
import { runTool, xattrValueArg } from './exec-tool.js';

/**
 * Yields a regular file's content: exactly node.size bytes in order. Called once per
 * file node (hardlinks are written once and linked).
 */
export type ReadNodeContent = (node: TreeNode, signal?: AbortSignal) => AsyncIterable<Buffer>;

export interface UnpackOptions {
  /** Set owners from the tree (needs root). Default: process.getuid() === 0. */
  sameOwner?: boolean;
  /** Regular-file bytes written so far, of the total. */
  onProgress?(doneBytes: number, totalBytes: number): void;
  signal?: AbortSignal;
}

export interface UnpackResult {
  /** What was skipped: devices without root, refused xattrs, a missing setfattr, ... */
  readonly warnings: readonly string[];
  readonly bytesWritten: number;
}

interface PendingDir { readonly node: TreeNode; readonly path: string; readonly depth: number }

export async function unpackTree(tree: Tree, dest: string, readFile: ReadNodeContent, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const u = new Unpacker(readFile, opts);
  const root = await prepareDest(dest);
  return u.run(tree, root);
}

/** dest must be absent (made here) or an empty directory. */
async function prepareDest(dest: string): Promise<string> {
  const st = await lstat(dest).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) {
    await mkdir(dest, { recursive: true, mode: 0o700 });
  } else {
    const real = await realpath(dest);
    const rst = await lstat(real);
    if (!rst.isDirectory()) throw failedPrecondition(`unpack destination ${dest} exists and is not a directory`);
    if ((await readdir(real)).length > 0) throw failedPrecondition(`unpack destination ${dest} is not empty`);
  }
  return realpath(dest);
}

function checkName(name: string, parent: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw invalidArgument(`tree has an unsafe name ${JSON.stringify(name)} under ${parent}`);
  }
}

class Unpacker {
  private readonly sameOwner: boolean;
  private readonly warnings: string[] = [];
  /** Where each hardlinked file was written first, by ino (node objects may be per-lookup views). */
  private readonly firstPath = new Map<number, string>();
  private readonly dirs: PendingDir[] = [];
  private setfattrMissing = false;
  private done = 0;
  private total = 0;

  constructor(private readonly readFile: ReadNodeContent, private readonly opts: UnpackOptions) {
    this.sameOwner = opts.sameOwner ?? process.getuid?.() === 0;
  }

  async run(tree: Tree, root: string): Promise<UnpackResult> {
    this.total = regularBytes(tree.root); // hardlinked content is written once
    await this.setXattrs(tree.root, root);
    this.dirs.push({ node: tree.root, path: root, depth: 0 });
    await this.walk(tree.root, root, 1);
    // Directories last, deepest first: writing children changes a dir's mtime, and a
    // read-only mode must not stop the children from being written.
    this.dirs.sort((a, b) => b.depth - a.depth);
    for (const d of this.dirs) {
      await this.own(d.node, d.path);
      await chmod(d.path, d.node.mode & 0o7777);
      await this.setTimes(d.node, d.path);
    }
    return { warnings: this.warnings, bytesWritten: this.done };
  }

  private async walk(dir: TreeNode, dirPath: string, depth: number): Promise<void> {
    const names = [...dir.children!.keys()].sort();
    for (const name of names) {
      this.opts.signal?.throwIfAborted();
      checkName(name, dirPath);
      const node = dir.children!.get(name)!;
      const path = join(dirPath, name);
      if (node.type !== 'dir' && node.nlink > 1) {
        const first = this.firstPath.get(node.ino);
        if (first !== undefined) {
          await link(first, path);
          continue;
        }
      }
      const made = await this.create(node, path, depth);
      if (made && node.type !== 'dir' && node.nlink > 1) this.firstPath.set(node.ino, path);
    }
  }

  /** Creates one node with its attributes; false when skipped (with a warning). */
  private async create(node: TreeNode, path: string, depth: number): Promise<boolean> {
    switch (node.type) {
      case 'dir':
        await mkdir(path, 0o700);
        await this.setXattrs(node, path);
        this.dirs.push({ node, path, depth });
        await this.walk(node, path, depth + 1);
        return true;
      case 'reg':
        await this.writeRegular(node, path);
        break;
      case 'symlink':
        await symlink(node.linkName, path);
        break;
      case 'char':
      case 'block':
        if (process.getuid?.() !== 0) {
          this.warnings.push(`${path}: ${node.type} device ${node.devMajor}:${node.devMinor} skipped (needs root)`);
          return false;
        }
        await this.tool('mknod', ['--', path, node.type === 'char' ? 'c' : 'b', String(node.devMajor), String(node.devMinor)], path);
        break;
      case 'fifo':
        await this.tool('mkfifo', ['--', path], path);
        break;
    }
    // Owner before mode (chown clears setuid/setgid), xattrs after chown (it clears
    // security.capability), times last.
    if (node.type !== 'reg') {
      await this.own(node, path);
      if (node.type !== 'symlink') await chmod(path, node.mode & 0o7777);
    }
    await this.setXattrs(node, path);
    await this.setTimes(node, path);
    return true;
  }

  private async writeRegular(node: TreeNode, path: string): Promise<void> {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      let written = 0;
      if (node.size > 0) {
        for await (const buf of this.readFile(node, this.opts.signal)) {
          if (written + buf.length > node.size) throw invalidArgument(`content of ${path} is longer than its ${node.size} bytes`);
          for (let off = 0; off < buf.length;) {
            const { bytesWritten } = await fh.write(buf, off, buf.length - off);
            off += bytesWritten;
          }
          written += buf.length;
          this.done += buf.length;
          this.opts.onProgress?.(this.done, this.total);
        }
      }
      if (written !== node.size) throw invalidArgument(`content of ${path} is ${written} bytes, not ${node.size}`);
      if (this.sameOwner) await fh.chown(node.uid, node.gid);
      await fh.chmod(node.mode & 0o7777);
    } finally {
      await fh.close();
    }
  }

  private async own(node: TreeNode, path: string): Promise<void> {
    if (this.sameOwner) await lchown(path, node.uid, node.gid);
  }

  private async setTimes(node: TreeNode, path: string): Promise<void> {
    const t = node.mtimeMs / 1000;
    await lutimes(path, t, t);
  }

  private async tool(name: string, args: string[], path: string): Promise<void> {
    const r = await runTool(name, args);
    if (!r.ok) throw failedPrecondition(`${name} failed for ${path}: ${r.message}`);
  }

  private async setXattrs(node: TreeNode, path: string): Promise<void> {
    for (const [key, value] of Object.entries(node.xattrs)) {
      if (this.setfattrMissing) return;
      const r = await runTool('setfattr', ['-h', '-n', key, '-v', xattrValueArg(value), '--', path]);
      if (r.ok) continue;
      if (r.missing) {
        this.setfattrMissing = true;
        this.warnings.push(`setfattr is not installed (Debian package attr): extended attributes skipped`);
        return;
      }
      this.warnings.push(`${path}: xattr ${key} not set: ${r.message}`);
    }
  }
}
