import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntryType, LayerEntry } from '../../src/formats/layer-entry.js';
import { buildTree, type MergedTree } from '../../src/tree/build-tree.js';
import { regularBytes, type TreeNode } from '../../src/tree/tree-node.js';

function e(name: string, type: EntryType = 'reg', extra: Partial<LayerEntry> = {}): LayerEntry {
  return { name, type, size: type === 'reg' ? 3 : 0, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtimeMs: 1000, linkName: '', devMajor: 0, devMinor: 0, xattrs: {}, ...extra };
}
const dir = (name: string, extra: Partial<LayerEntry> = {}) => e(name, 'dir', extra);
const wh = (name: string) => e(name, 'reg', { size: 0 });

/** Every visible path with its type, sorted. */
function paths(tree: MergedTree): string[] {
  const out: string[] = [];
  const walk = (n: TreeNode, p: string) => {
    for (const [name, c] of n.children ?? []) {
      const q = p ? `${p}/${name}` : name;
      out.push(`${q}:${c.type}`);
      walk(c, q);
    }
  };
  walk(tree.root, '');
  return out.sort();
}

test('whiteout deletes from lower layers only, never shows', () => {
  const t = buildTree([
    [dir('a'), e('a/x'), e('a/y'), dir('a/sub'), e('a/sub/z')],
    [e('a/.wh.x'), e('a/.wh.sub'), e('a/new')],
    [wh('.wh.nothing'), e('a/.wh.new'), e('a/new')], // same layer re-adds what it whites out
  ]);
  assert.deepEqual(paths(t), ['a/new:reg', 'a/y:reg', 'a:dir']);
  assert.equal(t.lookup('a/new')!.source!.layer, 2);
});

for (const order of ['before', 'after'] as const) {
  test(`opaque whiteout ${order} the dir's new entries hides only lower children`, () => {
    const upper = [dir('a', { mode: 0o700 }), e('a/fresh')];
    const opq = e('a/.wh..wh..opq', 'reg', { size: 0 });
    const t = buildTree([
      [dir('a'), e('a/old'), dir('a/d'), e('a/d/deep'), e('b')],
      order === 'before' ? [opq, ...upper] : [...upper, opq],
    ]);
    assert.deepEqual(paths(t), ['a/fresh:reg', 'a:dir', 'b:reg']);
    assert.equal(t.lookup('a')!.mode, 0o700);
  });
}

test('dir over dir keeps children and takes attributes; file over dir drops the subtree; dir over file', () => {
  const t = buildTree([
    [dir('keep', { uid: 1 }), e('keep/child'), dir('gone'), e('gone/child'), e('f')],
    [dir('keep', { uid: 2, mode: 0o711 }), e('gone', 'symlink', { linkName: '/x' }), dir('f'), e('f/inside')],
  ]);
  assert.deepEqual(paths(t), ['f/inside:reg', 'f:dir', 'gone:symlink', 'keep/child:reg', 'keep:dir']);
  assert.deepEqual([t.lookup('keep')!.uid, t.lookup('keep')!.mode], [2, 0o711]);
  assert.equal(t.lookup('gone')!.linkName, '/x');
  assert.equal(t.lookup('gone')!.size, 2);
});

test('same path twice in one layer: the later wins', () => {
  const first = e('p', 'reg', { size: 5 });
  const second = e('p', 'reg', { size: 7, mode: 0o600 });
  const t = buildTree([[first, second, dir('d', { mode: 0o700 }), dir('d', { mode: 0o750 })]]);
  assert.equal(t.lookup('p')!.source!.entry, second);
  assert.equal(t.lookup('p')!.size, 7);
  assert.equal(t.lookup('d')!.mode, 0o750);
});

test('implicit parents are made, then take a real entry\'s attributes', () => {
  const t = buildTree([[e('x/y/z'), dir('x', { mode: 0o700, uid: 5, mtimeMs: 9000 })]]);
  const x = t.lookup('x')!;
  assert.deepEqual([x.type, x.mode, x.uid, x.mtimeMs], ['dir', 0o700, 5, 9000]);
  const y = t.lookup('x/y')!;
  assert.deepEqual([y.type, y.mode, y.uid, y.gid, y.mtimeMs], ['dir', 0o755, 0, 0, 0]);
  assert.equal(y.nlink, 2);
  assert.equal(x.nlink, 3);
  assert.equal(t.root.nlink, 3);
});

test('entries through a symlink are dropped with a warning, never followed', () => {
  const t = buildTree([
    [dir('etc'), e('escape', 'symlink', { linkName: '/' }), e('rel', 'symlink', { linkName: 'etc' })],
    [e('escape/etc/passwd'), e('rel/shadow'), e('ok')],
  ]);
  assert.deepEqual(paths(t), ['escape:symlink', 'etc:dir', 'ok:reg', 'rel:symlink']);
  assert.equal(t.warnings.length, 2);
  assert.match(t.warnings[0]!, /escape\/etc\/passwd/);
});

test('hardlinks: one node, nlink counts names, survives replacement of a name', () => {
  const t = buildTree([
    [e('a'), e('b', 'hardlink', { linkName: 'a' }), e('c', 'hardlink', { linkName: 'a' }), e('dangling', 'hardlink', { linkName: 'missing' }), dir('d'), e('to-dir', 'hardlink', { linkName: 'd' })],
    [e('c')],
  ]);
  const a = t.lookup('a')!;
  assert.equal(t.lookup('b')!.ino, a.ino);
  assert.equal(a.nlink, 2);
  assert.notEqual(t.lookup('c')!.ino, a.ino);
  assert.equal(t.lookup('c')!.nlink, 1);
  assert.equal(t.lookup('dangling'), undefined);
  assert.equal(t.lookup('to-dir'), undefined);
  assert.equal(t.warnings.length, 2);
  const t2 = buildTree([[e('a'), e('b', 'hardlink', { linkName: 'a' })], [wh('.wh.a')]]);
  assert.equal(t2.lookup('b')!.nlink, 1);
});

test('inode numbers: root 1, stable, unique per node; byIno; size', () => {
  const layers = [[dir('z'), e('z/1'), e('a'), e('m', 'hardlink', { linkName: 'a' }), e('q', 'fifo')]];
  const t = buildTree(layers);
  const t2 = buildTree(layers);
  assert.equal(t.root.ino, 1);
  for (const p of ['a', 'm', 'q', 'z', 'z/1']) {
    assert.equal(t.lookup(p)!.ino, t2.lookup(p)!.ino, p);
    assert.equal(t.byIno(t.lookup(p)!.ino)!.ino, t.lookup(p)!.ino);
  }
  assert.equal(t.lookup('a')!.ino, 2);
  assert.equal(t.lookup('m')!.ino, 2);
  assert.equal(t.size, 5);
  assert.equal(t.byIno(0), undefined);
  assert.equal(t.byIno(6), undefined);
  assert.equal(t.lookup('a')!.source!.entry, layers[0]![2]);
  assert.equal(t.lookup('q')!.source, undefined);
});

test('root entry sets root attributes; empty files have no source', () => {
  const t = buildTree([[dir('', { mode: 0o700, uid: 3 }), e('empty', 'reg', { size: 0 })]]);
  assert.deepEqual([t.root.mode, t.root.uid], [0o700, 3]);
  assert.equal(t.lookup('empty')!.source, undefined);
  assert.equal(t.lookup('')!.ino, t.root.ino);
});

test('a directory replaced within one layer: later entries under its path see the replacement', () => {
  // The builder remembers the directory the previous entry went into; replacing that
  // directory (or an ancestor) must not leave entries going into the dropped one.
  const t = buildTree([[
    dir('a'), e('a/x'), e('a', 'symlink', { linkName: 't' }), e('a/y'),
    dir('b/c'), e('b/c/x'), e('b', 'reg'), e('b/c/y'),
    dir('d'), e('d/x'), dir('d'), e('d/y'),
  ]]);
  assert.deepEqual(paths(t), ['a:symlink', 'b:reg', 'd/x:reg', 'd/y:reg', 'd:dir']);
  assert.equal(t.warnings.length, 2);
});

test('regularBytes: regular files below a node, a hardlinked file once', () => {
  const t = buildTree([[
    dir('d'), e('d/a', 'reg', { size: 10 }), e('d/b', 'hardlink', { linkName: 'd/a' }), e('top', 'reg', { size: 5 }),
    e('link', 'symlink', { linkName: 'top' }), e('empty', 'reg', { size: 0 }),
  ]]);
  assert.equal(regularBytes(t.root), 15);
  assert.equal(regularBytes(t.lookup('d')!), 10);
  assert.equal(regularBytes(t.lookup('top')!), 5);
});
