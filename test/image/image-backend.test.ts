// ImageBackend against a real registry: an eStargz image with a prefetch landmark (made
// by `lazysnap convert`) is opened as a mount server opens it. The landmark's bytes are
// fetched while the image opens (their request on the wire before the image is built),
// decoded only once startBackground() says the mount answers, and never fetched again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ImageBackend } from '../../src/image/image-backend.js';
import type { OpenedImage } from '../../src/daemon/backend.js';
import { openProcessChunkStore } from '../../src/image/chunk-store-setup.js';
import { LazyImage, layersDir } from '../../src/image/lazy-image.js';
import { openRegistrySource } from '../../src/image/registry-source.js';
import { RegistryClient } from '../../src/registry/client.js';
import { statePaths } from '../../src/state-dir.js';
import { ContentStore } from '../../src/store/content-store.js';
import type { TreeNode } from '../../src/tree/tree-node.js';
import { runCli } from '../helpers/cli.js';
import { pushLayout, startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);
const FILES = ['first.bin', 'second.bin', 'third.bin'];
let work: string;
let reg: TestRegistry;
const content = new Map<string, Buffer>();

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lazysnap-backend-'));
  const layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:t`]);
  await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
  for (const name of [...FILES, 'unlisted.bin']) {
    const data = randomBytes(300 * 1024);
    content.set(name, data);
    await writeFile(join(bundle, 'rootfs', name), data);
  }
  await writeFile(join(bundle, 'rootfs', 'small.txt'), 'a small prioritised file\n');
  await run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
  reg = await startRegistry();
  await pushLayout(layout, 't', reg, 'backend/img');
  const list = join(work, 'prefetch.txt');
  await writeFile(list, FILES.map((f) => `/${f}\n`).join(''));
  const r = await runCli(['convert', `${reg.host}/backend/img:t`, `${reg.host}/backend/img:estargz`, '--prefetch-list', list],
    { stateDir: join(work, 'convert-state') });
  assert.equal(r.code, 0, r.stderr);
  // The same image whose landmark covers one small file: the registry can send that
  // response whole without lazysnap reading it (a socket buffer holds it), and log it.
  const small = join(work, 'prefetch-small.txt');
  await writeFile(small, '/small.txt\n');
  const s = await runCli(['convert', `${reg.host}/backend/img:t`, `${reg.host}/backend/img:small-landmark`, '--prefetch-list', small],
    { stateDir: join(work, 'convert-state') });
  assert.equal(s.code, 0, s.stderr);
});
after(async () => {
  await reg?.stop();
  await rm(work, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** Opens the eStargz image through an ImageBackend over a fresh state dir, as a mount server does; closes all after `body`. */
async function withOpenedImage(state: string, prefetch: 'landmark' | 'all',
  body: (image: OpenedImage, backend: ImageBackend) => Promise<void>): Promise<void> {
  const stateDir = join(work, state);
  const client = new RegistryClient({ dockerConfigDir: join(work, 'docker') });
  const store = await openProcessChunkStore(stateDir);
  const backend = new ImageBackend({ client, store, layersDir: layersDir(stateDir) });
  try {
    const image = await backend.openImage(`${reg.host}/backend/img:estargz`, { prefetch });
    try {
      await body(image, backend);
    } finally {
      await image.close();
    }
  } finally {
    await store.close();
    await client.close();
  }
}

test('the landmark prefetch is fetched while the image opens and decoded once the mount answers', async () => {
  await withOpenedImage('state', 'landmark', async (image, backend) => {
    const listed = 3 * 300 * 1024; // incompressible: about as many bytes compressed
    await until('the landmark bytes to arrive', () => image.counters().bytesFetched > listed);
    const fetched = image.counters();
    const cachedBefore = backend.cacheFigures().memoryBytes; // the TOC (index reads are cached)
    assert.ok(cachedBefore < listed / 10, `${cachedBefore} bytes cached before startBackground: only the TOC should be`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(backend.cacheFigures().memoryBytes, cachedBefore, 'nothing decoded before startBackground');

    image.startBackground();
    await until('the landmark chunks to be cached', () => backend.cacheFigures().memoryBytes >= cachedBefore + listed);
    for (const name of FILES) {
      const node = image.tree.lookup(name) as TreeNode;
      const got = await image.read(node, 0, node.size);
      assert.ok(got.equals(content.get(name)!), name);
    }
    assert.equal(image.counters().requests, fetched.requests, 'the listed files came from the prefetch, fetched once');
    assert.equal(image.counters().bytesFetched, fetched.bytesFetched);
    const unlisted = image.tree.lookup('unlisted.bin') as TreeNode;
    assert.ok((await image.read(unlisted, 0, unlisted.size)).equals(content.get('unlisted.bin')!));
  });
});

test('--prefetch all fetches every blob byte once: the landmark fetched early is not fetched again', async () => {
  await withOpenedImage('state-all', 'all', async (image) => {
    image.startBackground();
    const { compressedBytes } = image.describe();
    await until('every blob byte to arrive', () => image.counters().bytesFetched >= compressedBytes);
    await new Promise((r) => setTimeout(r, 300)); // a second fetch of the landmark would be under way by now
    // Every byte of the blob, plus the manifest, config and the TOC's tail window read
    // again (index reads come first and are cached apart): well under the landmark's
    // 900 KiB that a second fetch of it would add.
    const over = image.counters().bytesFetched - compressedBytes;
    assert.ok(over < 128 * 1024, `${over} bytes fetched beyond the blob's ${compressedBytes}: some were fetched twice`);
    for (const name of [...FILES, 'unlisted.bin']) {
      const node = image.tree.lookup(name) as TreeNode;
      assert.ok((await image.read(node, 0, node.size)).equals(content.get(name)!), name);
    }
  });
});

/** Holds the JS thread (no event loop turn) until `cond`, up to `ms`; whether it came. */
function holdUntil(cond: () => boolean, ms: number): boolean {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const until = Date.now() + ms; Date.now() < until; Atomics.wait(nap, 0, 0, 20)) {
    if (cond()) return true;
  }
  return cond();
}

test('the landmark request is on the wire before the image is built, not after', async () => {
  const client = new RegistryClient({ dockerConfigDir: join(work, 'docker') });
  const stateDir = join(work, 'state-early');
  const store = await openProcessChunkStore(stateDir);
  const source = openRegistrySource(`${reg.host}/backend/img:small-landmark`, { client });
  try {
    const image = await LazyImage.open(source, { store, layersDir: layersDir(stateDir), fetchLandmarkEarly: true });
    try {
      // From here the JS thread is held, as a mount's tree build holds it: a request that
      // undici has not written yet stays unwritten. The registry (another process) logs
      // the landmark's response once it has sent it: [0, landmark) of the layer blob.
      const [layer] = image.layers;
      const end = layer?.index.info.prefetchEnd;
      assert.ok(layer && end && end > 0, 'the image has its landmark');
      const response = `GET /v2/backend/img/blobs/${layer.desc.digest} HTTP/1.1" 206 ${end} `;
      const log = join(reg.dir, 'registry.log');
      assert.ok(holdUntil(() => readFileSync(log, 'utf8').includes(response), 10_000),
        `the registry never saw the landmark's request while the thread was held (no "${response}" in ${log})`);
    } finally {
      await image.close();
    }
  } finally {
    await source.close();
    await store.close();
    await client.close();
  }
});

test('a layer that `pull --all` stored is read from the content store, given while it still opens', async () => {
  const stateDir = join(work, 'pulled');
  const ref = `${reg.host}/backend/img:estargz`;
  const pulled = await runCli(['--quiet', 'pull', '--all', ref], { stateDir });
  assert.equal(pulled.code, 0, pulled.stderr);
  const client = new RegistryClient({ dockerConfigDir: join(work, 'docker') });
  const store = await openProcessChunkStore(stateDir);
  const localStore = ContentStore.open(statePaths(stateDir).content); // a promise: the mount server's way
  const backend = new ImageBackend({ client, store, layersDir: layersDir(stateDir), localStore });
  try {
    const image = await backend.openImage(ref, { prefetch: 'none' });
    try {
      const node = image.tree.lookup('unlisted.bin') as TreeNode;
      assert.ok((await image.read(node, 0, node.size)).equals(content.get('unlisted.bin')!));
      // Only the manifest and the config crossed the wire: the TOC and the file came from the store.
      assert.ok(image.counters().bytesFetched < 16 * 1024, `${image.counters().bytesFetched} bytes fetched`);
    } finally {
      await image.close();
    }
  } finally {
    await (await localStore).close();
    await store.close();
    await client.close();
  }
});
