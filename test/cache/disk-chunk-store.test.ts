import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdir, symlink, utimes, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskChunkStore } from '../../src/cache/disk-chunk-store.js';
import { chunkFileName } from '../../src/cache/disk-chunk-file.js';
import { codeOf } from '../../src/errors.js';
import { sha256Digest } from '../../src/reference/digest.js';
import { chunkCacheSuite } from '../suites/chunk-cache-suite.js';
import { tempDir } from '../helpers/tmp.js';

chunkCacheSuite('disk', async (t, { limitBytes }) => {
  const dir = join(await tempDir(t), 'cache');
  const stores: DiskChunkStore[] = [await DiskChunkStore.open(dir, limitBytes)];
  return {
    impl: stores[0]!,
    close: async () => { await Promise.all(stores.map((s) => s.close())); },
    reopen: async () => {
      const s = await DiskChunkStore.open(dir, limitBytes);
      stores.push(s);
      return s;
    },
  };
});

const pathOf = (dir: string, key: string) => {
  const name = chunkFileName(key);
  return join(dir, name.slice(0, 2), name);
};

it('checks the limit when opening', async (t) => {
  const dir = await tempDir(t);
  for (const bad of [0, -5, 0.5, Number.POSITIVE_INFINITY]) {
    await assert.rejects(DiskChunkStore.open(dir, bad), (e) => codeOf(e) === 'INVALID_ARGUMENT', String(bad));
  }
});

it('treats a corrupt file as a miss and deletes it', async (t) => {
  const dir = await tempDir(t);
  const store = await DiskChunkStore.open(dir, 1 << 20);
  t.after(() => store.close());
  await store.set('c', Buffer.from('precious bytes'));
  const path = pathOf(dir, 'c');
  const file = await readFile(path);
  file[file.length - 1] ^= 0xff; // flip a bit of the data; same size
  await writeFile(path, file);
  assert.equal(await store.get('c'), undefined);
  await store.close();
  await assert.rejects(stat(path), { code: 'ENOENT' });
  assert.equal(store.stats().entries, 0);
});

it('treats a truncated file, or one holding another key, as a miss', async (t) => {
  const dir = await tempDir(t);
  const store = await DiskChunkStore.open(dir, 1 << 20);
  t.after(() => store.close());
  await store.set('t', Buffer.alloc(100, 1));
  await writeFile(pathOf(dir, 't'), (await readFile(pathOf(dir, 't'))).subarray(0, 90));
  assert.equal(await store.get('t'), undefined);
  // A valid file of key x copied under key y's name: not y's bytes.
  await store.set('x', Buffer.from('bytes of x'));
  await store.set('y', Buffer.from('bytes of y'));
  await writeFile(pathOf(dir, 'y'), await readFile(pathOf(dir, 'x')));
  assert.equal(await store.get('y'), undefined);
  assert.deepEqual(await store.get('x'), Buffer.from('bytes of x'));
});

it('a digest-keyed chunk is kept under its digest; bytes that do not match the digest read back as a miss', async (t) => {
  const dir = await tempDir(t);
  const store = await DiskChunkStore.open(dir, 1 << 20);
  t.after(() => store.close());
  const good = Buffer.from('the bytes the digest names');
  const key = sha256Digest(good);
  await store.set(key, good);
  assert.deepEqual(await store.get(key), good);
  // A caller that stores other bytes under a digest (a bug) gets no wrong bytes back.
  const wrongKey = sha256Digest(Buffer.from('other bytes'));
  await store.set(wrongKey, good);
  assert.equal(await store.get(wrongKey), undefined);
});

it('rebuilds its index on open with mtime as recency, evicting down to a new limit', async (t) => {
  const dir = await tempDir(t);
  const first = await DiskChunkStore.open(dir, 1 << 20);
  for (const k of ['old', 'mid', 'new']) await first.set(k, Buffer.alloc(1000, k));
  await first.close();
  const base = Date.now() / 1000;
  await utimes(pathOf(dir, 'old'), base - 300, base - 300);
  await utimes(pathOf(dir, 'mid'), base - 200, base - 200);
  await utimes(pathOf(dir, 'new'), base - 100, base - 100);
  const second = await DiskChunkStore.open(dir, 2500); // room for two
  t.after(() => second.close());
  assert.equal(second.stats().entries, 2);
  assert.ok(second.stats().bytes <= 2500);
  assert.equal(await second.get('old'), undefined);
  assert.deepEqual(await second.get('mid'), Buffer.alloc(1000, 'mid'));
  await assert.rejects(stat(pathOf(dir, 'old')), { code: 'ENOENT' }, 'evicted file is removed');
});

it('a disk hit refreshes recency across a restart', async (t) => {
  const dir = await tempDir(t);
  const first = await DiskChunkStore.open(dir, 1 << 20);
  for (const k of ['a', 'b']) await first.set(k, Buffer.alloc(1000, k));
  const base = Date.now() / 1000;
  await utimes(pathOf(dir, 'a'), base - 300, base - 300);
  await utimes(pathOf(dir, 'b'), base - 200, base - 200);
  assert.ok(await first.get('a')); // touches a
  await first.close();
  const second = await DiskChunkStore.open(dir, 1500); // room for one
  t.after(() => second.close());
  assert.ok(await second.get('a'), 'a was used last');
  assert.equal(await second.get('b'), undefined);
});

it('removes leftover temp files and leaves files that are not its own', async (t) => {
  const dir = await tempDir(t);
  const sub = join(dir, 'ab');
  await mkdir(sub);
  const temp = join(sub, `${'ab'.padEnd(64, '0')}.tmp-123abc`);
  await writeFile(temp, 'half a write');
  await writeFile(join(dir, 'README'), 'not a chunk');
  await writeFile(join(sub, 'notes.txt'), 'not a chunk');
  const store = await DiskChunkStore.open(dir, 1 << 20);
  t.after(() => store.close());
  await assert.rejects(stat(temp), { code: 'ENOENT' });
  assert.equal(await readFile(join(dir, 'README'), 'utf8'), 'not a chunk');
  assert.equal(await readFile(join(sub, 'notes.txt'), 'utf8'), 'not a chunk');
  assert.equal(store.stats().entries, 0);
});

it('never writes through a symlink planted in the cache', async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'cache');
  const outside = join(root, 'outside');
  await mkdir(dir);
  await mkdir(outside);
  const key = 'victim';
  await symlink(outside, join(dir, chunkFileName(key).slice(0, 2)));
  const store = await DiskChunkStore.open(dir, 1 << 20);
  t.after(() => store.close());
  await assert.rejects(store.set(key, Buffer.from('x')), (e) => codeOf(e) === 'UNAVAILABLE');
  assert.deepEqual(await readdir(outside), []);
  assert.equal(await store.get(key), undefined);
});

it('writes only files named by key hashes inside its directory', async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'cache');
  const store = await DiskChunkStore.open(dir, 1 << 20);
  t.after(() => store.close());
  await store.set('../../etc/passwd', Buffer.from('no'));
  await store.set('/abs/path', Buffer.from('no'));
  await store.close();
  assert.deepEqual(await readdir(root), ['cache']);
  const names = (await readdir(dir, { recursive: true })).sort();
  assert.deepEqual(names.filter((n) => !/^[0-9a-f]{2}(\/[0-9a-f]{64})?$/.test(n)), []);
  assert.equal(names.filter((n) => n.includes('/')).length, 2);
});
