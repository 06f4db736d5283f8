import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { link, mkdir, symlink, utimes, writeFile, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../../helpers/tmp.js';
import { codeOf } from '../../../src/errors.js';
import { parseTarStream } from '../../../src/formats/tar/parse-tar-stream.js';
import { LIMITS } from '../../../src/formats/layer-index.js';
import { base256, byteAtATime, collect, END, gnuTar, header, payload, paxRecord, tarOf } from './tar-build.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const LONG_DIR = 'd'.repeat(60) + '/' + 'e'.repeat(60);
const LONG_TARGET = 't/'.repeat(80) + 'target';

/** A scratch tree exercising long names, links, special files and xattrs. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, LONG_DIR), { recursive: true });
  await writeFile(join(root, LONG_DIR, 'long-file.txt'), 'long name content\n');
  await writeFile(join(root, 'hello.txt'), 'hello world\n', { mode: 0o640 });
  await writeFile(join(root, 'big.bin'), Buffer.alloc(70_000, 7));
  await link(join(root, 'hello.txt'), join(root, 'hard.txt'));
  await symlink(LONG_TARGET, join(root, 'long-link'));
  await symlink('/etc/passwd', join(root, 'abs-link'));
  await run('mkfifo', [join(root, 'fifo')]);
  if (isRoot) await run('mknod', [join(root, 'null'), 'c', '1', '3']);
  await run('setfattr', ['-n', 'user.lazysnap', '-v', 'hi there', join(root, 'hello.txt')]);
  for (const p of ['hello.txt', 'big.bin', 'fifo', LONG_DIR, LONG_DIR + '/long-file.txt']) await utimes(join(root, p), 1_577_836_800, 1_577_836_800);
  await lutimes(join(root, 'long-link'), 1_577_836_800, 1_577_836_800);
}

for (const format of ['gnu', 'pax', 'ustar'] as const) {
  test(`GNU tar --format=${format}: names, links, specials, bodies`, async (t) => {
    const dir = await tempDir(t);
    await makeTree(dir);
    const args = [`--format=${format}`, '-C', dir];
    if (format === 'pax') args.unshift('--xattrs', '--xattrs-include=user.*');
    // ustar cannot hold a 160-byte link target: GNU tar would refuse the whole archive.
    const names = ['./hello.txt', './hard.txt', './big.bin', './abs-link', './fifo', './' + LONG_DIR.split('/')[0]!];
    if (format !== 'ustar') names.push('./long-link');
    if (isRoot) names.push('./null');
    const tar = await gnuTar([...args, ...names]);
    const items = await collect([tar]);
    const byName = new Map(items.map((i) => [i.entry.name, i]));
    assert.ok(!items.some((i) => i.entry.name.startsWith('.') || i.entry.name.startsWith('/')), 'names are clean');
    const hello = byName.get('hello.txt')!;
    assert.equal(hello.entry.type, 'reg');
    assert.equal(hello.entry.mode, 0o640);
    assert.equal(hello.entry.mtimeMs, 1_577_836_800_000);
    assert.equal(hello.body.toString(), 'hello world\n');
    assert.equal(tar.subarray(hello.dataOffset, hello.dataOffset + 12).toString(), 'hello world\n');
    if (format === 'pax') assert.equal(hello.entry.xattrs['user.lazysnap']?.toString(), 'hi there');
    const hard = byName.get('hard.txt')!;
    assert.equal(hard.entry.type, 'hardlink');
    assert.equal(hard.entry.linkName, 'hello.txt');
    assert.equal(hard.entry.size, 0);
    assert.deepEqual(byName.get('big.bin')!.body, Buffer.alloc(70_000, 7));
    assert.equal(byName.get('abs-link')!.entry.linkName, '/etc/passwd');
    assert.equal(byName.get('fifo')!.entry.type, 'fifo');
    const long = byName.get(LONG_DIR + '/long-file.txt')!;
    assert.equal(long.body.toString(), 'long name content\n');
    assert.equal(long.entry.mtimeMs, 1_577_836_800_000);
    assert.equal(byName.get(LONG_DIR)!.entry.type, 'dir');
    if (format !== 'ustar') assert.equal(byName.get('long-link')!.entry.linkName, LONG_TARGET);
    if (isRoot) {
      const dev = byName.get('null')!.entry;
      assert.deepEqual([dev.type, dev.devMajor, dev.devMinor], ['char', 1, 3]);
    }
    // Fed one byte at a time, the parser must see exactly the same entries and bodies.
    const slow = await collect(byteAtATime(tar));
    assert.deepEqual(slow, items);
  });
}

test('GNU base-256 uid and PAX numbers', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'f'), 'x');
  const gnu = await collect([await gnuTar(['--format=gnu', '--owner=:3000000', '--group=:4000000', '-C', dir, 'f'])]);
  assert.deepEqual([gnu[0]!.entry.uid, gnu[0]!.entry.gid], [3_000_000, 4_000_000]);
  const pax = await collect([await gnuTar(['--format=pax', '--owner=:3000000', '--mtime=@1577836800.25', '-C', dir, 'f'])]);
  assert.equal(pax[0]!.entry.uid, 3_000_000);
  assert.equal(pax[0]!.entry.mtimeMs, 1_577_836_800_250);
});

test('hand-made: base-256 size, PAX path/size/linkpath/xattr, GNU L/K, same path twice', async () => {
  const pax = Buffer.concat([paxRecord('path', 'p/' + 'x'.repeat(200)), paxRecord('SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2, 0xff])), paxRecord('uname', 'alice')]);
  const tar = tarOf(
    header({ name: 'f', size: 0, patch: [[124, base256(5n, 12)]] }), payload('12345'),
    header({ name: 'PaxHeader', type: 'x', size: pax.length }), payload(pax),
    header({ name: 'short', size: 3 }), payload('abc'),
    header({ name: '././@LongLink', type: 'L', size: 151 }), payload('L'.repeat(150) + '\0'),
    header({ name: '././@LongLink', type: 'K', size: 121 }), payload('K'.repeat(120) + '\0'),
    header({ name: 'trunc', type: '2', linkName: 'trunc-target' }),
    header({ name: 'f', size: 2 }), payload('zz'),
    header({ name: '/abs/../abs/./x//y/', type: '5' }),
  );
  const items = await collect([tar]);
  assert.deepEqual(items.map((i) => i.entry.name), ['f', 'p/' + 'x'.repeat(200), 'L'.repeat(150), 'f', 'abs/x/y']);
  assert.equal(items[0]!.body.toString(), '12345');
  assert.equal(items[1]!.body.toString(), 'abc');
  assert.deepEqual(items[1]!.entry.xattrs['security.capability'], Buffer.from([1, 0, 0, 2, 0xff]));
  assert.equal(items[1]!.headerOffset, 1024);
  assert.equal(items[1]!.dataOffset, 1024 + 1024 + 512);
  assert.equal(items[2]!.entry.linkName, 'K'.repeat(120));
  assert.equal(items[3]!.body.toString(), 'zz');
  // headerBytes: the PAX header, its payload and the entry's own header, verbatim.
  const headerBytes = [];
  for await (const it of parseTarStream((async function* () { yield tar; })())) headerBytes.push(it.headerBytes);
  assert.deepEqual(headerBytes[1], tar.subarray(1024, 1024 + 1536));
});

test('devices and fifo headers', async () => {
  const items = await collect([tarOf(
    header({ name: 'dev/sda', type: '4', devMajor: 8, devMinor: 0, mode: 0o660 }),
    header({ name: 'dev/tty', type: '3', devMajor: 5, devMinor: 0 }),
    header({ name: 'run/p', type: '6' }),
  )]);
  assert.deepEqual(items.map((i) => [i.entry.type, i.entry.devMajor, i.entry.devMinor]), [['block', 8, 0], ['char', 5, 0], ['fifo', 0, 0]]);
});

async function codeOfParse(tar: Buffer, opts = {}): Promise<string> {
  try {
    for await (const item of parseTarStream((async function* () { yield tar; })(), opts)) for await (const _ of item.body) { /* read */ }
  } catch (err) {
    return codeOf(err);
  }
  return 'OK';
}

test('rejects malformed and malicious tars with INVALID_ARGUMENT', async () => {
  const good = tarOf(header({ name: 'a', size: 600 }), payload(Buffer.alloc(600, 1)));
  assert.equal(await codeOfParse(good), 'OK');
  assert.equal(await codeOfParse(good.subarray(0, 700)), 'INVALID_ARGUMENT', 'truncated payload');
  assert.equal(await codeOfParse(good.subarray(0, 300)), 'INVALID_ARGUMENT', 'truncated header');
  const bad = Buffer.from(good);
  bad[3] = 0x41;
  assert.equal(await codeOfParse(bad), 'INVALID_ARGUMENT', 'bad checksum');
  assert.equal(await codeOfParse(tarOf(header({ name: '../x' }))), 'INVALID_ARGUMENT', '../ breakout');
  assert.equal(await codeOfParse(tarOf(header({ name: 'a/../../x' }))), 'INVALID_ARGUMENT', 'nested breakout');
  assert.equal(await codeOfParse(tarOf(header({ name: 'h', type: '1', linkName: '../../etc/shadow' }))), 'INVALID_ARGUMENT', 'hardlink breakout');
  assert.equal(await codeOfParse(tarOf(header({ name: 'huge', patch: [[124, base256(2n ** 60n, 12)]] }))), 'INVALID_ARGUMENT', 'absurd size');
  const bigPax = header({ name: 'PaxHeader', type: 'x', size: LIMITS.maxMetaEntryBytes + 1 });
  assert.equal(await codeOfParse(Buffer.concat([bigPax, Buffer.alloc(4096)])), 'INVALID_ARGUMENT', 'PAX record over the cap');
  const pax = paxRecord('path', 'y'.repeat(100));
  assert.equal(await codeOfParse(tarOf(header({ name: 'P', type: 'x', size: pax.length }), payload(pax), header({ name: 'z' })), { maxMetaEntryBytes: 64 }), 'INVALID_ARGUMENT', 'custom cap');
  assert.equal(await codeOfParse(tarOf(header({ name: 'P', type: 'x', size: 8 }), payload('99 a=b\n\n'), header({ name: 'z' }))), 'INVALID_ARGUMENT', 'bad PAX length');
  assert.equal(await codeOfParse(tarOf(header({ name: 's', type: 'S' }))), 'INVALID_ARGUMENT', 'GNU sparse');
  assert.equal(await codeOfParse(Buffer.concat([header({ name: 'a' }), Buffer.alloc(512), header({ name: 'b' }), END])), 'INVALID_ARGUMENT', 'lone zero block');
});

test('a tar without end blocks is accepted; an unread body is skipped', async () => {
  const tar = Buffer.concat([header({ name: 'a', size: 5 }), payload('aaaaa'), header({ name: 'b', size: 3 }), payload('bbb')]);
  const names: string[] = [];
  let second = '';
  for await (const item of parseTarStream((async function* () { yield* byteAtATime(tar); })())) {
    names.push(item.entry.name);
    if (item.entry.name === 'b') for await (const c of item.body) second += c.toString();
  }
  assert.deepEqual(names, ['a', 'b']);
  assert.equal(second, 'bbb');
});

test('stopping early returns the source iterator', async () => {
  let returned = false;
  async function* src() {
    try {
      yield tarOf(header({ name: 'a', size: 1 }), payload('a'));
      yield Buffer.alloc(512);
    } finally {
      returned = true;
    }
  }
  for await (const item of parseTarStream(src())) {
    assert.equal(item.entry.name, 'a');
    break;
  }
  assert.equal(returned, true);
});

test('PAX global records apply to every later entry; local ones override them once', async () => {
  const g = paxRecord('uid', '777');
  const x = paxRecord('uid', '888');
  const items = await collect([tarOf(
    header({ name: 'before', uid: 1 }),
    header({ name: 'G', type: 'g', size: g.length }), payload(g),
    header({ name: 'a', uid: 1 }),
    header({ name: 'X', type: 'x', size: x.length }), payload(x),
    header({ name: 'b', uid: 1 }),
    header({ name: 'c', uid: 1 }),
  )]);
  assert.deepEqual(items.map((i) => [i.entry.name, i.entry.uid]), [['before', 1], ['a', 777], ['b', 888], ['c', 777]]);
});
