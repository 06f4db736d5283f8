// writeBundle: DIR/config.json with the spec as given, only into an absent or empty DIR.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf } from '../../src/errors.js';
import { writeBundle } from '../../src/runtime/bundle.js';
import { createRuntimeSpec } from '../../src/runtime/runtime-spec.js';
import { tempDir } from '../helpers/tmp.js';

async function spec(rootPath: string) {
  return createRuntimeSpec({ config: { Cmd: ['true'] }, rootfs: { type: 'layers', diff_ids: [] } }, { rootPath });
}

test('an absent directory is created with config.json (0644) pointing at the root as given', async (t) => {
  const work = await tempDir(t, 'lazysnap-bundle-');
  const root = join(work, 'elsewhere', 'mnt');
  await mkdir(root, { recursive: true });
  const dir = join(work, 'a', 'b', 'bundle');
  const s = await spec(root);
  const written = await writeBundle(dir, s);
  assert.equal(written, dir);
  const configPath = join(dir, 'config.json');
  assert.equal((await stat(configPath)).mode & 0o777, 0o644);
  const back = JSON.parse(await readFile(configPath, 'utf8'));
  assert.deepEqual(back, s);
  assert.equal(back.root.path, root);
});

test('an empty existing directory is used', async (t) => {
  const work = await tempDir(t, 'lazysnap-bundle-');
  await writeBundle(work, await spec('/'));
  assert.ok((await stat(join(work, 'config.json'))).isFile());
});

test('a non-empty directory is FAILED_PRECONDITION and left untouched', async (t) => {
  const work = await tempDir(t, 'lazysnap-bundle-');
  await writeFile(join(work, 'keep.txt'), 'x');
  await assert.rejects(writeBundle(work, await spec('/')), (err) => codeOf(err) === 'FAILED_PRECONDITION');
  await assert.rejects(stat(join(work, 'config.json')), { code: 'ENOENT' });
  // A second bundle into the same directory is refused too.
  const dir = join(work, 'b');
  await writeBundle(dir, await spec('/'));
  await assert.rejects(writeBundle(dir, await spec('/')), (err) => codeOf(err) === 'FAILED_PRECONDITION');
});

test('a path that is a file is FAILED_PRECONDITION', async (t) => {
  const work = await tempDir(t, 'lazysnap-bundle-');
  const file = join(work, 'file');
  await writeFile(file, 'x');
  await assert.rejects(writeBundle(file, await spec('/')), (err) => codeOf(err) === 'FAILED_PRECONDITION');
});

test('a relative root path is INVALID_ARGUMENT', async (t) => {
  const work = await tempDir(t, 'lazysnap-bundle-');
  const s = await spec('/');
  s.root.path = 'rootfs';
  await assert.rejects(writeBundle(join(work, 'b'), s), (err) => codeOf(err) === 'INVALID_ARGUMENT');
});
