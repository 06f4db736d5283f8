// The FUSE adapter through the real kernel: a MemoryTree mounted with mountTree, checked
// with fs/promises from this process and with getfattr/stat as ASYNC child processes
// (a synchronous one would deadlock: this process serves the mount).

process.env.UV_THREADPOOL_SIZE ??= '16'; // many reads in flight from this process

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, stat, statfs, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { mountTree } from '../../fs/mount-tree.js';
import { makedev } from '../../fs/node-stat.js';
import { listMountpoints, probeMountpoint } from '../../src/daemon/mountpoint.js';
import { isCode } from '../../src/errors.js';
import type { TreeMount } from '../../src/daemon/tree-mount.js';
import { BIG_SIZE, generated, MTIME_MS, sampleTree, type SampleTree } from './memory-tree.js';
import { mountDir } from './fuse-harness.js';

/** stdout of an async child process; rejects on a non-zero exit. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

interface Mounted {
  mnt: string;
  mount: TreeMount;
  sample: SampleTree;
  errors: { op: string; path: string; err: unknown }[];
}

async function mountSample(t: import('node:test').TestContext, readDelayMs?: number): Promise<Mounted> {
  const { mnt, onCleanup } = await mountDir(t);
  const sample = sampleTree({ readDelayMs });
  const errors: Mounted['errors'] = [];
  const mount = await mountTree({ mountpoint: mnt, tree: sample.tree, read: sample.read, fsName: 'test', onError: (err, op, path) => errors.push({ op, path, err }) });
  onCleanup(() => mount.unmount());
  return { mnt, mount, sample, errors };
}

test('metadata through the kernel matches the tree', async (t) => {
  const { mnt, sample } = await mountSample(t);
  const { tree } = sample;

  const root = await stat(mnt);
  assert.equal(root.ino, 1);
  assert.ok(root.isDirectory());
  assert.deepEqual((await readdir(mnt)).sort(), [...tree.root.children!.keys()].sort());

  for (const path of ['etc', 'etc/hostname', 'bin/su', 'tmp', 'home/user', 'home/user/notes', 'big.bin', 'fifo', 'null', 'empty']) {
    const node = tree.lookup(path)!;
    const st = await lstat(join(mnt, path));
    assert.equal(st.ino, node.ino, `${path} ino`);
    assert.equal(st.mode & 0o7777, node.mode, `${path} mode`);
    assert.equal(st.uid, node.uid, `${path} uid`);
    assert.equal(st.gid, node.gid, `${path} gid`);
    assert.equal(st.nlink, node.nlink, `${path} nlink`);
    assert.equal(st.size, node.size, `${path} size`);
    assert.equal(st.blocks, Math.ceil(node.size / 512), `${path} blocks`);
    assert.equal(st.blksize, 4096, `${path} blksize`);
    assert.equal(st.mtimeMs, MTIME_MS, `${path} mtime`);
  }
  assert.equal((await stat(join(mnt, 'bin/su'))).mode & 0o7777, 0o4755);
  assert.equal((await stat(join(mnt, 'tmp'))).mode & 0o7777, 0o1777);
  assert.ok((await lstat(join(mnt, 'fifo'))).isFIFO());
  assert.equal((await stat(mnt)).nlink, 2 + 4, 'root nlink counts its child dirs');

  // Hardlinks: one inode under two names.
  const [h1, h2] = await Promise.all([stat(join(mnt, 'hard1')), stat(join(mnt, 'etc/hard2'))]);
  assert.equal(h1.ino, h2.ino);
  assert.equal(h1.nlink, 2);

  // Symlinks: lstat sees the link, stat and reads follow it inside the mount.
  const ln = await lstat(join(mnt, 'link'));
  assert.ok(ln.isSymbolicLink());
  assert.equal(ln.size, 'etc/hostname'.length);
  assert.equal(await readlink(join(mnt, 'link')), 'etc/hostname');
  assert.equal(await readFile(join(mnt, 'link'), 'utf8'), 'lazysnap\n');

  // Devices: rdev in the glibc encoding, checked against stat(1) too.
  const nul = await lstat(join(mnt, 'null'));
  assert.ok(nul.isCharacterDevice());
  assert.equal(nul.rdev, makedev(1, 3));
  assert.equal((await run('stat', ['-c', '%t:%T', join(mnt, 'bigdev')])).trim(), `${(300).toString(16)}:${(70000).toString(16)}`);
  assert.equal((await run('stat', ['-c', '%F %a %u:%g', join(mnt, 'home/user/notes')])).trim(), 'regular file 600 1000:1000');

  // Missing names are ENOENT, and an answer, not an error.
  await assert.rejects(stat(join(mnt, 'nope')), { code: 'ENOENT' });
  await assert.rejects(readlink(join(mnt, 'etc/hostname')), { code: 'EINVAL' });

  const fs = await statfs(mnt);
  assert.equal(fs.bsize, 4096);
  assert.equal(fs.bfree, 0);
  assert.equal(fs.files, tree.size);
});

test('xattrs through getfattr', async (t) => {
  const { mnt } = await mountSample(t);
  const path = join(mnt, 'etc/hostname');
  assert.equal(await run('getfattr', ['--only-values', '-n', 'user.lazysnap', path]), 'hello');
  assert.match(await run('getfattr', ['-d', '-m', '-', path]), /user\.lazysnap="hello"/);
  await assert.rejects(run('getfattr', ['-n', 'user.missing', path]), /No such attribute/);
  assert.equal((await run('getfattr', ['-d', '-m', '-', join(mnt, 'etc')])).trim(), '');
});

test('file bytes: whole files, EOF, and many concurrent reads of a big file', async (t) => {
  const { mnt, sample, mount } = await mountSample(t, 3);
  const notes = sample.tree.lookup('home/user/notes')!;
  assert.deepEqual(await readFile(join(mnt, 'home/user/notes')), generated(notes.ino, 0, notes.size));
  assert.equal((await readFile(join(mnt, 'empty'))).length, 0);

  const big = sample.tree.lookup('big.bin')!;
  const fh = await open(join(mnt, 'big.bin'), 'r');
  try {
    // Scattered reads of odd sizes, all in flight together, some crossing EOF.
    const reads = Array.from({ length: 48 }, (_, i) => {
      const offset = i === 0 ? BIG_SIZE - 1000 : Math.floor(((i * 7919) % 997) / 997 * BIG_SIZE);
      const length = 1 + ((i * 104729) % 300000);
      return { offset, length };
    });
    await Promise.all(reads.map(async ({ offset, length }) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      const expect = Math.min(length, BIG_SIZE - offset);
      assert.equal(bytesRead, expect, `bytes at ${offset}`);
      assert.ok(buf.subarray(0, bytesRead).equals(generated(big.ino, offset, expect)), `content at ${offset}+${length}`);
    }));
  } finally {
    await fh.close();
  }
  assert.ok(sample.inFlight.max > 1, `reads were served one at a time (max in flight ${sample.inFlight.max})`);

  // The whole file, start to end.
  const whole = await readFile(join(mnt, 'big.bin'));
  assert.equal(whole.length, BIG_SIZE);
  assert.ok(whole.equals(generated(big.ino, 0, BIG_SIZE)));
  const s = mount.stats();
  assert.ok(s.ops > 0);
  assert.equal(s.errors, 0);
  assert.ok(s.readLatencyMs.p50 > 0 && s.readLatencyMs.p99 >= s.readLatencyMs.p50);
});

test('a failing read is EIO, logged and counted; ENOENT is not an error', async (t) => {
  const { mnt, mount, errors } = await mountSample(t);
  await assert.rejects(stat(join(mnt, 'missing')), { code: 'ENOENT' });
  assert.equal(mount.stats().errors, 0);
  await assert.rejects(readFile(join(mnt, 'broken')), { code: 'EIO' });
  assert.ok(mount.stats().errors >= 1);
  assert.ok(errors.length >= 1);
  assert.equal(errors[0]!.op, 'read');
  assert.equal(errors[0]!.path, '/broken');
  assert.ok(isCode(errors[0]!.err, 'UNAVAILABLE'));
});

test('every write is EROFS', async (t) => {
  const { mnt, mount } = await mountSample(t);
  const file = join(mnt, 'etc/hostname');
  const erofs = { code: 'EROFS' };
  await assert.rejects(writeFile(file, 'x'), erofs);
  await assert.rejects(open(file, constants.O_RDWR), erofs);
  await assert.rejects(open(file, constants.O_WRONLY), erofs);
  await assert.rejects(writeFile(join(mnt, 'new'), 'x'), erofs);
  await assert.rejects(mkdir(join(mnt, 'd')), erofs);
  await assert.rejects(unlink(file), erofs);
  await assert.rejects(rename(file, join(mnt, 'etc/other')), erofs);
  await assert.rejects(chmod(file, 0o600), erofs);
  await assert.rejects(symlink('x', join(mnt, 's')), erofs);
  await assert.rejects(utimes(file, 1, 1), erofs);
  await assert.rejects(run('setfattr', ['-n', 'user.x', '-v', 'y', file]), /Read-only file system/);
  await assert.rejects(run('chown', ['1:1', file]), /Read-only file system/);
  assert.equal(await readFile(file, 'utf8'), 'lazysnap\n', 'still readable after all that');
  assert.equal(mount.stats().errors, 0);
});

test('mountpoint checks and unmount', async (t) => {
  const { dir, mnt, onCleanup } = await mountDir(t);
  const sample = sampleTree();
  const mountAt = (mountpoint: string) => mountTree({ mountpoint, tree: sample.tree, read: sample.read });
  await assert.rejects(mountAt(join(dir, 'absent')), (e) => isCode(e, 'INVALID_ARGUMENT'));
  await writeFile(join(dir, 'file'), '');
  await assert.rejects(mountAt(join(dir, 'file')), (e) => isCode(e, 'INVALID_ARGUMENT'));

  const m = await mountAt(mnt);
  onCleanup(() => m.unmount());
  assert.equal(m.mountpoint, mnt);
  assert.ok((await listMountpoints()).has(mnt));
  const info = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === mnt) ?? '';
  assert.match(info, / ro[, ]/, 'mounted read-only');
  assert.match(info, /fuse\.lazysnap lazysnap:image /);
  assert.match(info, /default_permissions/);
  assert.match(info, /allow_other/);
  await assert.rejects(mountAt(mnt), (e) => isCode(e, 'FAILED_PRECONDITION'));
  assert.equal((await stat(mnt)).ino, 1, 'the first mount still answers');

  await m.unmount();
  await m.unmount(); // idempotent
  assert.equal(await probeMountpoint(mnt), 'dir');
  assert.ok(!(await listMountpoints()).has(mnt));
});

test('unmounting a busy mount detaches it lazily and aborts its reads', async (t) => {
  const { mnt, mount } = await mountSample(t);
  const fh = await open(join(mnt, 'big.bin'), 'r');
  try {
    await mount.unmount();
    assert.equal(await probeMountpoint(mnt), 'dir', 'the path is free at once');
    // The open file still reaches the (closing) server: reads stop instead of hanging.
    await assert.rejects(fh.read(Buffer.alloc(4096), 0, 4096, 5 * 1024 * 1024), { code: 'EIO' });
  } finally {
    await fh.close();
  }
});
