import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, readFile, readlink, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/tmp.js';
import { codeOf } from '../../src/errors.js';
import { BufferRangeReader } from '../../src/formats/range-reader.js';
import { openTarIndex } from '../../src/formats/tar/open-tar-index.js';
import { buildTree } from '../../src/tree/build-tree.js';
import { layerContentReader } from '../../src/unpack/layer-content.js';
import { unpackTree } from '../../src/unpack/unpack-tree.js';
import { header, payload, tarOf } from '../formats/tar/tar-build.js';
import { openLayers, treeDigest } from './oci-layers.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const FIXTURE_LAYOUT = '/var/cache/lazysnap-fixtures/oci';
const EXPECTED = '/var/cache/lazysnap-fixtures/expected';

async function unpackLayout(layout: string, tag: string, work: string, dest: string) {
  const layers = await openLayers(layout, tag, join(work, 'streamed'));
  try {
    const tree = buildTree(layers.indexes.map((i) => i.entries()));
    const r = await unpackTree(tree, dest, layerContentReader(layers.indexes));
    return { ...r, layers: layers.indexes.length };
  } finally {
    await layers.close();
  }
}

test('two umoci layers: unpackTree equals umoci unpack', { skip: !isRoot && 'umoci comparison needs root (owners, devices)' }, async (t) => {
  const dir = await tempDir(t);
  const L = join(dir, 'L');
  const B = join(dir, 'B');
  const umoci = (...args: string[]) => run('umoci', args, { maxBuffer: 64 << 20 });
  await umoci('init', '--layout', L);
  await umoci('new', '--image', `${L}:t`);
  await umoci('unpack', '--image', `${L}:t`, B);
  let r = join(B, 'rootfs');
  await mkdir(join(r, 'etc/conf.d'), { recursive: true });
  await writeFile(join(r, 'etc/conf.d/a.conf'), 'a=1\n');
  await writeFile(join(r, 'etc/gone'), 'bye\n');
  await mkdir(join(r, 'var/lib/dir-to-file'), { recursive: true });
  await writeFile(join(r, 'var/lib/dir-to-file/child'), 'c\n');
  await writeFile(join(r, 'suid'), '#!/bin/sh\n', { mode: 0o755 });
  await chmod(join(r, 'suid'), 0o4755);
  await mkdir(join(r, 'sticky'));
  await chmod(join(r, 'sticky'), 0o1777);
  await writeFile(join(r, 'owned'), 'x');
  await run('chown', ['1234:5678', join(r, 'owned')]);
  await writeFile(join(r, 'hl-a'), 'shared\n');
  await link(join(r, 'hl-a'), join(r, 'hl-b'));
  await symlink('/etc/conf.d/a.conf', join(r, 'abs-link'));
  await symlink('../../../../outside', join(r, 'escaping-link'));
  await run('mkfifo', [join(r, 'fifo')]);
  await run('mknod', [join(r, 'null'), 'c', '1', '3']);
  await run('setfattr', ['-n', 'user.note', '-v', 'kept', join(r, 'owned')]);
  await writeFile(join(r, 'big'), Buffer.alloc(3 << 20, 'z'));
  await utimes(join(r, 'etc/conf.d/a.conf'), 1_500_000_000, 1_500_000_000);
  await umoci('repack', '--image', `${L}:t`, B);
  // Layer 2, from a fresh unpack (a bundle repacks against the manifest it came from):
  // delete (whiteout), dir -> file, file -> dir, modify, add a hardlink.
  const B1 = join(dir, 'B1');
  await umoci('unpack', '--image', `${L}:t`, B1);
  r = join(B1, 'rootfs');
  await rm(join(r, 'etc/gone'));
  await rm(join(r, 'var/lib/dir-to-file'), { recursive: true });
  await writeFile(join(r, 'var/lib/dir-to-file'), 'now a file\n');
  await unlink(join(r, 'abs-link'));
  await mkdir(join(r, 'abs-link'));
  await writeFile(join(r, 'abs-link/inside'), 'in\n');
  await writeFile(join(r, 'etc/conf.d/a.conf'), 'a=2\n');
  await link(join(r, 'big'), join(r, 'big-link'));
  await umoci('repack', '--image', `${L}:t`, B1);

  await umoci('unpack', '--image', `${L}:t`, join(dir, 'B2'));
  const dest = join(dir, 'dest');
  const result = await unpackLayout(L, 't', dir, dest);
  assert.equal(result.layers, 2);
  assert.deepEqual(result.warnings, []);
  const want = await treeDigest(join(dir, 'B2', 'rootfs'));
  const got = await treeDigest(dest);
  assert.equal(got, want);
  assert.match(got, /^suid\tf\t4755\t/m);
  assert.match(got, /^owned\tf\t0644\t1234\t5678\t/m);
  assert.match(got, /^big-link\tf\t0644\t0\t0\t2\t/m);
  const { stdout } = await run('getfattr', ['--only-values', '-n', 'user.note', join(dest, 'owned')]);
  assert.equal(stdout, 'kept');
});

// edge-zstd and edge-zstdchunked are read as plain zstd streams (skippable frames included).
for (const tag of ['edge', 'edge-zstd', 'edge-zstdchunked']) {
  test(`the ${tag} fixture unpacks to its expected listing`, async (t) => {
    if (!existsSync(join(FIXTURE_LAYOUT, 'index.json')) || !existsSync(join(EXPECTED, 'edge.sha256'))) {
      t.skip(`fixture layout ${FIXTURE_LAYOUT} (tag ${tag}) is absent`);
      return;
    }
    if (!isRoot) {
      t.skip('edge has a char device and root-owned files: needs root');
      return;
    }
    const dir = await tempDir(t);
    const dest = join(dir, 'rootfs');
    await unpackLayout(FIXTURE_LAYOUT, tag, dir, dest);
    assert.equal(await treeDigest(dest), await readFile(join(EXPECTED, 'edge.sha256'), 'utf8'));
  });
}

test('malicious tars leave nothing outside dest', async (t) => {
  const dir = await tempDir(t);
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'secret\n');
  const before = await treeDigest(outside);
  const dest = join(dir, 'dest');
  const tar = tarOf(
    header({ name: 'evil', type: '2', linkName: outside }),
    header({ name: 'evil/pwned', size: 4 }), payload('pwn\n'),
    header({ name: 'up', type: '2', linkName: '../outside' }),
    header({ name: 'up/secret', size: 4 }), payload('pwn\n'),
    header({ name: `${outside}/abs`, size: 4 }), payload('abs\n'),
    header({ name: 'hl', type: '1', linkName: `${outside}/secret` }),
    header({ name: 'ok', size: 3 }), payload('ok\n'),
  );
  const index = await openTarIndex(new BufferRangeReader(tar));
  const tree = buildTree([index.entries()]);
  assert.equal(tree.warnings.length, 3, tree.warnings.join('\n'));
  await unpackTree(tree, dest, layerContentReader([index]));
  assert.equal(await treeDigest(outside), before);
  assert.equal(await readlink(join(dest, 'evil')), outside);
  assert.equal(await readFile(join(dest, outside.slice(1), 'abs'), 'utf8'), 'abs\n', 'an absolute name lands under dest');
  assert.equal(await readFile(join(dest, 'ok'), 'utf8'), 'ok\n');
  assert.equal(existsSync(join(dest, 'hl')), false);

  // `../` names and hardlinks are refused by the parser before anything is written.
  for (const bad of [tarOf(header({ name: '../escape', size: 0 })), tarOf(header({ name: 'x' }), header({ name: 'hl', type: '1', linkName: '../../outside/secret' }))]) {
    assert.equal(codeOf(await openTarIndex(new BufferRangeReader(bad)).catch((e) => e)), 'INVALID_ARGUMENT');
  }
  assert.deepEqual((await readdir(dir)).sort(), ['dest', 'outside']);
});

test('dest must be empty or absent; a short content stream is an error', async (t) => {
  const dir = await tempDir(t);
  const tree = buildTree([[{ name: 'f', type: 'reg', size: 10, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, linkName: '', devMajor: 0, devMinor: 0, xattrs: {} }]]);
  await writeFile(join(dir, 'file'), '');
  await mkdir(join(dir, 'full'));
  await writeFile(join(dir, 'full', 'x'), '');
  const none = async function* () { yield Buffer.from('short'); };
  assert.equal(codeOf(await unpackTree(tree, join(dir, 'full'), none).catch((e) => e)), 'FAILED_PRECONDITION');
  assert.equal(codeOf(await unpackTree(tree, join(dir, 'file'), none).catch((e) => e)), 'FAILED_PRECONDITION');
  assert.equal(codeOf(await unpackTree(tree, join(dir, 'new'), none).catch((e) => e)), 'INVALID_ARGUMENT');
  let progress: [number, number] = [0, 0];
  const ok = async function* () { yield Buffer.from('0123456789'); };
  await unpackTree(tree, join(dir, 'new2'), ok, { onProgress: (d, tot) => (progress = [d, tot]) });
  assert.deepEqual(progress, [10, 10]);
  assert.equal((await lstat(join(dir, 'new2', 'f'))).size, 10);
});

test('sameOwner false: owners untouched, fifo made with mode and mtime', async (t) => {
  const dir = await tempDir(t);
  const base = { size: 0, mode: 0o600, uid: 4321, gid: 4321, mtimeMs: 1e12, linkName: '', devMajor: 1, devMinor: 3, xattrs: {} };
  const tree = buildTree([[{ ...base, name: 'fifo', type: 'fifo' }, { ...base, name: 'f', type: 'reg' }]]);
  const r = await unpackTree(tree, join(dir, 'd'), async function* () {}, { sameOwner: false });
  assert.deepEqual(r.warnings, []);
  const st = await lstat(join(dir, 'd', 'fifo'));
  assert.ok(st.isFIFO());
  assert.equal(st.mode & 0o7777, 0o600);
  assert.equal(st.mtimeMs, 1e12);
  assert.equal((await lstat(join(dir, 'd', 'f'))).uid, process.getuid!());
});
