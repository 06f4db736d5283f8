// The compact (typed-array) form of a merged tree: every way to reach a node agrees,
// inode numbers follow the documented order, and the rare fields, names outside ASCII
// and the BMP, and sources survive the copy out of the Builder's objects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntryType, LayerEntry } from '../../src/formats/layer-entry.js';
import { buildTree, type MergedTree } from '../../src/tree/build-tree.js';
import type { TreeNode } from '../../src/tree/tree-node.js';

function e(name: string, type: EntryType = 'reg', extra: Partial<LayerEntry> = {}): LayerEntry {
  return { name, type, size: type === 'reg' ? 3 : 0, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtimeMs: 1000, linkName: '', devMajor: 0, devMinor: 0, xattrs: {}, ...extra };
}
const dir = (name: string, extra: Partial<LayerEntry> = {}) => e(name, 'dir', extra);

/** Every path reached by walking `children` from the root, with its node ('' = root). */
function walk(tree: MergedTree): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>([['', tree.root]]);
  const visit = (n: TreeNode, p: string) => {
    for (const [name, c] of n.children ?? []) {
      const q = p ? `${p}/${name}` : name;
      out.set(q, c);
      visit(c, q);
    }
  };
  visit(tree.root, '');
  return out;
}

/** Every TreeNode field but children and source (compared separately). */
function fields(n: TreeNode) {
  return { ino: n.ino, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, mtimeMs: n.mtimeMs, size: n.size, linkName: n.linkName,
    devMajor: n.devMajor, devMinor: n.devMinor, xattrs: n.xattrs, nlink: n.nlink };
}

// Outside the BMP: U+1F600 is a surrogate pair, which JS string order puts before U+E000
// while UTF-8 byte order puts it after.
const EMOJI = '\u{1F600}';
const PRIVATE = '\uE000';

const layers: LayerEntry[][] = [
  [
    dir('etc', { mode: 0o700, uid: 7, gid: 8, mtimeMs: 1234.5 }),
    e('etc/passwd', 'reg', { size: 100, xattrs: { 'user.a': Buffer.from('x'), 'security.capability': Buffer.from([1, 2]) } }),
    e('etc/link', 'symlink', { linkName: '../usr/bin/tool' }),
    e('dev/null', 'char', { devMajor: 1, devMinor: 3 }),
    e('dev/sda', 'block', { devMajor: 8, devMinor: 0 }),
    e('dev/zero-dev', 'char'),
    e('fifo', 'fifo', { mode: 0o600 }),
    dir('usr/bin'),
    e('usr/bin/tool', 'reg', { size: 10, mode: 0o4755 }),
    e('usr/bin/alias', 'hardlink', { linkName: 'usr/bin/tool' }),
    e('usr/bin/tool2', 'hardlink', { linkName: 'usr/bin/tool' }),
    e('empty', 'reg', { size: 0 }),
  ],
  [
    e(`names/caf\u00e9`),
    e(`names/${EMOJI}`),
    e(`names/${PRIVATE}`),
    e('names/z'),
    e(`names/${EMOJI}dir/inner`),
    e(`names/\u65e5\u672c`),
    e('etc/passwd', 'reg', { size: 200, uid: 2 ** 40, gid: 0xffffffff }),
    e('wide', 'reg', { uid: 0xffffffff, gid: 5 }),
  ],
];

test('lookup of every walked path gives the walked node; byIno round-trips; size counts nodes', () => {
  const t = buildTree(layers);
  const all = walk(t);
  for (const [path, node] of all) {
    const found = t.lookup(path);
    assert.ok(found, path);
    assert.deepEqual(fields(found), fields(node), path);
    assert.deepEqual(fields(t.byIno(node.ino)!), fields(node), path);
  }
  const inos = new Set([...all.values()].map((n) => n.ino));
  assert.equal(t.size, inos.size);
  assert.deepEqual([...inos].sort((a, b) => a - b), Array.from({ length: t.size }, (_, i) => i + 1));
  assert.equal(t.byIno(0), undefined);
  assert.equal(t.byIno(t.size + 1), undefined);
  assert.equal(t.byIno(1.5), undefined);
  assert.equal(t.root.ino, 1);
});

test('inodes: depth-first, children in JS string order, a hardlink numbered at its first name', () => {
  const t = buildTree([[e('b/y'), e('b/x'), e('a', 'reg'), e('c', 'hardlink', { linkName: 'a' }), e('B')]]);
  const ino = (p: string) => t.lookup(p)!.ino;
  assert.deepEqual(['', 'B', 'a', 'b', 'b/x', 'b/y'].map(ino), [1, 2, 3, 4, 5, 6]);
  assert.equal(ino('c'), 3);
  assert.equal(t.size, 6);
});

test('hardlinks share one ino and nlink; directories count 2 + their child dirs', () => {
  const t = buildTree(layers);
  const tool = t.lookup('usr/bin/tool')!;
  assert.equal(tool.nlink, 3);
  for (const p of ['usr/bin/alias', 'usr/bin/tool2']) {
    assert.equal(t.lookup(p)!.ino, tool.ino);
    assert.equal(t.lookup(p)!.nlink, 3);
  }
  const bin = t.lookup('usr/bin')!.children!;
  assert.equal(bin.size, 3);
  assert.deepEqual([...bin.values()].map((n) => n.ino), [tool.ino, tool.ino, tool.ino]);
  assert.equal(t.root.nlink, 2 + 4); // dev, etc, names, usr
  assert.equal(t.lookup('names')!.nlink, 3);
  assert.equal(t.lookup('usr/bin')!.nlink, 2);
});

test('names outside ASCII and the BMP: found, listed in byte order, numbered in JS order', () => {
  const t = buildTree(layers);
  const names = t.lookup('names')!.children!;
  const expected = ['caf\u00e9', EMOJI, `${EMOJI}dir`, PRIVATE, 'z', '\u65e5\u672c'];
  const byBytes = [...expected].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual([...names.keys()], byBytes);
  assert.notDeepEqual(byBytes, [...expected].sort(), 'the test needs names whose two orders differ');
  for (const name of expected) {
    assert.ok(names.has(name), name);
    assert.equal(names.get(name)!.ino, t.lookup(`names/${name}`)!.ino, name);
  }
  assert.equal(t.lookup(`names/${EMOJI}dir/inner`)!.type, 'reg');
  // JS string order for inodes: the emoji (a surrogate pair, 0xD83D...) before U+E000.
  assert.ok(t.lookup(`names/${EMOJI}`)!.ino < t.lookup(`names/${PRIVATE}`)!.ino);
  assert.equal(names.get('caf'), undefined);
  assert.equal(names.get(`${EMOJI}d`), undefined);
});

test('xattrs, devices, symlink targets and ids wider than 32 bits survive', () => {
  const t = buildTree(layers);
  const passwd = t.lookup('etc/passwd')!;
  assert.deepEqual(Object.keys(passwd.xattrs), []); // the upper layer's entry replaced it
  assert.deepEqual([passwd.uid, passwd.gid, passwd.size], [2 ** 40, 0xffffffff, 200]);
  assert.deepEqual([t.lookup('wide')!.uid, t.lookup('wide')!.gid], [0xffffffff, 5]);
  const t0 = buildTree([layers[0]!]);
  assert.deepEqual(t0.lookup('etc/passwd')!.xattrs, { 'user.a': Buffer.from('x'), 'security.capability': Buffer.from([1, 2]) });
  assert.deepEqual(t0.lookup('etc')!.xattrs, {});
  const etc = t.lookup('etc')!;
  assert.deepEqual([etc.mode, etc.uid, etc.gid, etc.mtimeMs], [0o700, 7, 8, 1234.5]);
  const link = t.lookup('etc/link')!;
  assert.deepEqual([link.type, link.linkName, link.size], ['symlink', '../usr/bin/tool', '../usr/bin/tool'.length]);
  assert.equal(t.lookup('etc/passwd')!.linkName, '');
  const nul = t.lookup('dev/null')!;
  assert.deepEqual([nul.type, nul.devMajor, nul.devMinor], ['char', 1, 3]);
  assert.deepEqual([t.lookup('dev/sda')!.type, t.lookup('dev/sda')!.devMajor, t.lookup('dev/sda')!.devMinor], ['block', 8, 0]);
  assert.deepEqual([t.lookup('dev/zero-dev')!.devMajor, t.lookup('dev/zero-dev')!.devMinor], [0, 0]);
  assert.deepEqual([t.lookup('fifo')!.type, t.lookup('fifo')!.mode], ['fifo', 0o600]);
  assert.equal(t.lookup('usr/bin/tool')!.mode, 0o4755);
});

test('source is the very entry object at its layer and position', () => {
  const t = buildTree(layers);
  const passwd = t.lookup('etc/passwd')!.source!;
  assert.equal(passwd.layer, 1);
  assert.equal(passwd.entry, layers[1]![6]);
  const tool = t.lookup('usr/bin/alias')!.source!; // a hardlink: its target's entry
  assert.equal(tool.layer, 0);
  assert.equal(tool.entry, layers[0]![8]);
  for (const p of ['', 'etc', 'etc/link', 'dev/null', 'fifo', 'empty']) assert.equal(t.lookup(p)!.source, undefined, p);
});

test('not found: missing components, paths through files, stray slashes; the root is ""', () => {
  const t = buildTree(layers);
  assert.equal(t.lookup('')!.ino, 1);
  for (const p of ['nope', 'etc/nope', 'nope/passwd', 'etc/passwd/x', 'etc/link/x', 'fifo/x', '/etc', 'etc/', 'etc//passwd', '/', 'et', 'etc/passw', 'etc/passwdx']) {
    assert.equal(t.lookup(p), undefined, p);
  }
  assert.equal(t.lookup('etc/passwd')!.children, undefined);
  assert.equal(t.lookup('etc/passwd')!.children?.get('x'), undefined);
});

test('children is a ReadonlyMap over the directory', () => {
  const t = buildTree([[e('d/b'), e('d/a'), dir('d/c'), dir('empty')]]);
  const d = t.lookup('d')!.children!;
  assert.equal(d.size, 3);
  assert.deepEqual([...d.keys()], ['a', 'b', 'c']);
  assert.deepEqual([...d.values()].map((n) => n.ino), ['a', 'b', 'c'].map((n) => t.lookup(`d/${n}`)!.ino));
  assert.deepEqual([...d.entries()].map(([k, n]) => [k, n.type]), [['a', 'reg'], ['b', 'reg'], ['c', 'dir']]);
  assert.deepEqual([...d].map(([k]) => k), ['a', 'b', 'c']);
  const seen: string[] = [];
  d.forEach((n, k, map) => {
    assert.equal(map, d);
    seen.push(`${k}:${n.ino}`);
  });
  assert.deepEqual(seen, [...d].map(([k, n]) => `${k}:${n.ino}`));
  assert.ok(d.has('c'));
  assert.ok(!d.has('e'));
  assert.equal(t.lookup('empty')!.children!.size, 0);
  assert.deepEqual([...t.lookup('empty')!.children!], []);
});

test('a big directory: binary search finds every name and nothing else', () => {
  const names = Array.from({ length: 2000 }, (_, i) => `f${(i * 7919) % 10007}${i % 3 ? '.py' : ''}`);
  const t = buildTree([names.map((n) => e(`big/${n}`))]);
  for (const n of names) assert.equal(t.lookup(`big/${n}`)!.type, 'reg', n);
  for (const n of ['f', 'f1.p', 'g', '', 'f10007', '\u00ff']) assert.equal(t.lookup(`big/${n}`), undefined, n);
  assert.equal(t.lookup('big')!.children!.size, names.length);
});

test('more layers than a byte can number: sources still name theirs', () => {
  const many = Array.from({ length: 300 }, (_, i) => [e(`f${i}`, 'reg', { size: i + 1 })]);
  const t = buildTree(many);
  for (const i of [0, 254, 255, 299]) {
    const src = t.lookup(`f${i}`)!.source!;
    assert.equal(src.layer, i);
    assert.equal(src.entry, many[i]![0]);
  }
});

test('with a resolver, a source asks it for the entry (layer and position) and the lists go', () => {
  const layers = [[dir('etc'), e('etc/passwd')], [e('etc/hosts'), e('etc/passwd', 'reg', { size: 9 })]];
  const asked: [number, number][] = [];
  const stand = e('stand-in');
  const t = buildTree(layers, (layer, pos) => {
    asked.push([layer, pos]);
    return stand;
  });
  assert.deepEqual(asked, [], 'nothing is resolved while building');
  assert.equal(t.lookup('etc/passwd')!.source!.entry, stand);
  assert.equal(t.lookup('etc/passwd')!.source!.layer, 1);
  assert.equal(t.lookup('etc/hosts')!.source!.layer, 1);
  assert.deepEqual(asked, [[1, 1], [1, 1], [1, 0]]);
});
