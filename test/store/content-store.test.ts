// ContentStore: the shared suite, plus what is particular to the on-disk layout: the files
// it makes, atomicity on disk, a writer killed mid-blob by a real process exit, and two
// store instances (as the daemon and a CLI command are) sharing one directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { codeOf } from '../../src/errors.js';
import { MEDIA_TYPES } from '../../src/image/oci-types.js';
import { ContentStore } from '../../src/store/content-store.js';
import { storedBlobsIn } from '../../src/store/stored-blobs.js';
import { tempDir } from '../helpers/tmp.js';
import { contentStoreSuite, descOf, digestOf } from '../suites/content-store-suite.js';

const run = promisify(execFile);

contentStoreSuite('ContentStore (OCI layout on disk)', async (t) => {
  const root = join(await tempDir(t, 'lazysnap-store-'), 'content');
  let impl = await ContentStore.open(root);
  return {
    get impl() { return impl; },
    close: () => impl.close(),
    async reopen() {
      await impl.close();
      impl = await ContentStore.open(root);
      return impl;
    },
  };
});

test('makes an OCI image layout other tools can read', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'content');
  const store = await ContentStore.open(root);
  t.after(() => store.close());
  assert.deepEqual(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  assert.deepEqual(JSON.parse(await readFile(join(root, 'index.json'), 'utf8')).manifests, []);
  const m = Buffer.from('{"schemaVersion":2}');
  await store.put(m);
  await store.tag('name:t', descOf(m, MEDIA_TYPES.ociManifest));
  assert.deepEqual(await readFile(join(root, 'blobs', 'sha256', digestOf(m).slice(7))), m);
  const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8'));
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'name:t');
  // Nothing but the layout (and our ingest dir) at the root; no temp files left behind.
  assert.deepEqual((await readdir(root)).sort(), ['blobs', 'index.json', 'ingest', 'oci-layout']);
  assert.deepEqual((await readdir(join(root, 'ingest'))).filter((n) => !n.endsWith('.lock')), []);
  assert.deepEqual(await readdir(dir), ['content'], 'nothing written beside the store');
});

test('storedBlobsIn answers from the blob files alone, creating nothing', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'content');
  const blob = randomBytes(1000);
  const view = storedBlobsIn(root);
  assert.equal(await view.has(digestOf(blob)), false, 'no store yet: no blobs');
  assert.deepEqual(await readdir(dir), [], 'looking created nothing');
  assert.throws(() => view.blobPath('sha256:../../etc'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  const store = await ContentStore.open(root);
  t.after(() => store.close());
  assert.equal(await view.has(digestOf(blob)), false);
  await store.put(blob);
  assert.equal(await view.has(digestOf(blob)), true);
  assert.equal(view.blobPath(digestOf(blob)), store.blobPath(digestOf(blob)));
  assert.deepEqual(await readFile(view.blobPath(digestOf(blob))), blob);
});

test('refuses a directory holding another layout version', async (t) => {
  const root = await tempDir(t);
  await writeFile(join(root, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
  await assert.rejects(ContentStore.open(root), (e) => codeOf(e) === 'FAILED_PRECONDITION');
});

test('a mismatching ingest leaves no file in blobs/ at any point', async (t) => {
  const root = await tempDir(t);
  const store = await ContentStore.open(root);
  t.after(() => store.close());
  const data = randomBytes(2_000_000);
  const w = await store.ingest({ digest: digestOf(Buffer.from('something else')), size: data.length });
  for (let i = 0; i < data.length; i += 500_000) {
    await w.write(data.subarray(i, i + 500_000));
    assert.deepEqual(await readdir(join(root, 'blobs', 'sha256')), []);
  }
  await assert.rejects(w.commit(), (e) => codeOf(e) === 'DIGEST_MISMATCH');
  assert.deepEqual(await readdir(join(root, 'blobs', 'sha256')), []);
  assert.deepEqual((await readdir(join(root, 'ingest'))).filter((n) => n.endsWith('.partial')), []);
});

test('resumes after the writing process was killed mid-blob (stale lock broken)', async (t) => {
  const root = await tempDir(t);
  const data = randomBytes(300_000);
  const dataFile = join(root, '..', `${root.split('/').pop()}-data`);
  await writeFile(dataFile, data);
  t.after(() => import('node:fs/promises').then((f) => f.rm(dataFile, { force: true })));
  const storeModule = fileURLToPath(new URL('../../src/store/content-store.js', import.meta.url));
  // A child writes 100 000 bytes and dies without closing its writer or releasing its lock.
  const script = `
    import { ContentStore } from ${JSON.stringify(storeModule)};
    import { readFileSync } from 'node:fs';
    const data = readFileSync(${JSON.stringify(dataFile)});
    const store = await ContentStore.open(${JSON.stringify(join(root, 'content'))});
    const w = await store.ingest({ digest: ${JSON.stringify(digestOf(data))}, size: data.length });
    await w.write(data.subarray(0, 100000));
    process.exit(3);
  `;
  await assert.rejects(run(process.execPath, ['--input-type=module', '-e', script]), (e: { code?: number }) => e.code === 3);
  const store = await ContentStore.open(join(root, 'content'));
  t.after(() => store.close());
  const w = await store.ingest(descOf(data));
  assert.equal(w.offset, 100_000);
  await w.write(data.subarray(w.offset));
  await w.commit();
  assert.deepEqual(await store.get(digestOf(data), data.length), data);
});

test('two store instances over one directory serialise their writers and tags', async (t) => {
  const root = await tempDir(t);
  const a = await ContentStore.open(root);
  const b = await ContentStore.open(root);
  t.after(() => Promise.all([a.close(), b.close()]));
  const data = randomBytes(10_000);
  const wa = await a.ingest(descOf(data));
  const pb = b.ingest(descOf(data));
  await wa.write(data.subarray(0, 5000));
  await new Promise((r) => setTimeout(r, 60));
  await wa.write(data.subarray(5000));
  await wa.commit();
  await assert.rejects(pb, (e) => codeOf(e) === 'ALREADY_EXISTS');
  // Concurrent tag updates from both instances: none is lost.
  const manifests = Array.from({ length: 10 }, (_, i) => Buffer.from(`{"m":${i}}`));
  for (const m of manifests) await a.put(m);
  await Promise.all(manifests.map((m, i) => (i % 2 ? a : b).tag(`t${i}`, descOf(m, MEDIA_TYPES.ociManifest))));
  assert.equal((await a.listTags()).length, 10);
});
