// pullImage from an oci: layout (made by umoci) into a ContentStore: lazy and full pulls,
// skipping what is there, interruption and resume at the right offset, retries, verified
// blobs, and a pull from a real registry. umoci reads the resulting store back.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { codeOf } from '../../src/errors.js';
import type { ImageSource, ResolvedImage } from '../../src/image/image-source.js';
import { openOciLayoutSource } from '../../src/image/oci-layout-source.js';
import type { Descriptor, Platform } from '../../src/image/oci-types.js';
import { pullImage, type PullProgress } from '../../src/image/pull.js';
import { openRegistrySource } from '../../src/image/registry-source.js';
import { RegistryClient } from '../../src/registry/client.js';
import { ContentStore } from '../../src/store/content-store.js';
import { pushLayout, startRegistry } from '../helpers/registry.js';
import { blobFile, makeUmociLayout } from '../store/umoci-layout.js';

const run = promisify(execFile);
let work: string;
let layout: string;
let layers: Descriptor[];
let storeCount = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lazysnap-pull-'));
  // Random bytes do not compress: the layers are about as large as the files.
  layout = await makeUmociLayout(work, 't', { x: Buffer.from('hi\n'), 'big.bin': randomBytes(3 * 1024 * 1024) }, { 'small.bin': randomBytes(200_000) });
  const src = openOciLayoutSource(layout, 't');
  layers = (await src.resolve()).manifest.layers;
  await src.close();
  assert.equal(layers.length, 2);
});
after(() => rm(work, { recursive: true, force: true }));

async function newStore(): Promise<ContentStore> {
  return ContentStore.open(join(work, `store-${storeCount++}`));
}

const bigLayer = () => layers.reduce((a, b) => (a.size >= b.size ? a : b));

/** Wraps a source: records every stream request, and can break one stream after N bytes. */
class RecordingSource implements ImageSource {
  readonly streams: Array<{ digest: string; offset: number }> = [];
  constructor(private readonly inner: ImageSource, private fault?: { digest: string; afterBytes: number }) {}
  get counters() { return this.inner.counters; }
  resolve(p?: Platform, s?: AbortSignal): Promise<ResolvedImage> { return this.inner.resolve(p, s); }
  blob(d: Descriptor) { return this.inner.blob(d); }
  fetchBlob(d: Descriptor, max: number, s?: AbortSignal) { return this.inner.fetchBlob(d, max, s); }
  close() { return this.inner.close(); }
  async openBlobStream(desc: Descriptor, offset = 0, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    this.streams.push({ digest: desc.digest, offset });
    const stream = await this.inner.openBlobStream(desc, offset, signal);
    const fault = this.fault;
    if (!fault || fault.digest !== desc.digest) return stream;
    this.fault = undefined; // fails once
    return breakAfter(stream as Readable, fault.afterBytes);
  }
}

/** A stream that delivers exactly `limit` bytes of `inner`, then fails like a reset connection. */
function breakAfter(inner: Readable, limit: number): Readable {
  const it = inner[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let sent = 0;
  // highWaterMark 0: nothing is read ahead, so the consumer sees every byte sent before the error.
  return new Readable({
    highWaterMark: 0,
    async read() {
      if (sent >= limit) {
        inner.destroy();
        this.destroy(Object.assign(new Error('connection reset by test'), { code: 'ECONNRESET' }));
        return;
      }
      const { value, done } = await it.next();
      if (done) return void this.push(null);
      const part = value.subarray(0, limit - sent);
      sent += part.length;
      this.push(part);
    },
  });
}

describe('pull from an oci: layout', () => {
  it('without --all: manifest, config and tag only; layers stay lazy', async () => {
    const store = await newStore();
    const src = openOciLayoutSource(layout, 't');
    const events: PullProgress[] = [];
    const r = await pullImage(src, store, { reference: 'img:t', all: false, onProgress: (e) => events.push(e) });
    await src.close();
    assert.equal((await store.resolveTag('img:t')).digest, r.manifestDigest);
    assert.equal(await store.has(r.config.digest), true);
    assert.deepEqual(r.layers.map((l) => [l.digest, l.present]), layers.map((l) => [l.digest, false]));
    for (const l of layers) assert.equal(await store.has(l.digest), false);
    assert.deepEqual(events.map((e) => e.type), ['resolved']);
    await store.close();
  });

  it('with --all: every layer, verified; a second pull finds them present and fetches nothing', async () => {
    const store = await newStore();
    const src = new RecordingSource(openOciLayoutSource(layout, 't'));
    const events: PullProgress[] = [];
    const r = await pullImage(src, store, { reference: 'img:t', all: true, onProgress: (e) => events.push(e) });
    for (const l of layers) assert.deepEqual(await store.get(l.digest, l.size), await readFile(blobFile(layout, l.digest)));
    assert.equal(r.bytesWritten, layers.reduce((n, l) => n + l.size, 0));
    assert.ok(r.layers.every((l) => !l.present));
    for (const l of layers) {
      const mine = events.filter((e) => 'digest' in e && e.digest === l.digest).map((e) => e.type);
      assert.equal(mine[0], 'start');
      assert.equal(mine[mine.length - 1], 'done');
      assert.ok(mine.includes('bytes'));
    }
    const lastBytes = events.filter((e) => e.type === 'bytes').pop();
    assert.ok(lastBytes && lastBytes.type === 'bytes' && lastBytes.totalDone === lastBytes.totalBytes);

    const again = new RecordingSource(openOciLayoutSource(layout, 't'));
    const skipped: PullProgress[] = [];
    const r2 = await pullImage(again, store, { reference: 'img:t', all: true, onProgress: (e) => skipped.push(e) });
    assert.ok(r2.layers.every((l) => l.present));
    assert.deepEqual(again.streams, []);
    assert.equal(skipped.filter((e) => e.type === 'done' && e.skipped).length, layers.length);
    await src.close();
    await again.close();
    await store.close();
  });

  it('resumes an interrupted pull at the offset where the blob stopped', async () => {
    const store = await newStore();
    const big = bigLayer();
    const cut = 1_000_003;
    const broken = new RecordingSource(openOciLayoutSource(layout, 't'), { digest: big.digest, afterBytes: cut });
    await assert.rejects(pullImage(broken, store, { reference: 'img:t', all: true, retries: 0, concurrency: 1 }), /connection reset by test/);
    await broken.close();
    assert.equal(await store.has(big.digest), false, 'no partial blob is visible');
    assert.equal((await store.usage()).ingestBytes, cut, 'the bytes received are kept');
    await assert.rejects(store.resolveTag('img:t'), (e) => codeOf(e) === 'NOT_FOUND');

    const resumed = new RecordingSource(openOciLayoutSource(layout, 't'));
    const starts: PullProgress[] = [];
    const r = await pullImage(resumed, store, { reference: 'img:t', all: true, onProgress: (e) => e.type === 'start' && starts.push(e) });
    await resumed.close();
    assert.deepEqual(resumed.streams.filter((s) => s.digest === big.digest), [{ digest: big.digest, offset: cut }]);
    assert.deepEqual(starts.find((e) => e.type === 'start' && e.digest === big.digest), { type: 'start', digest: big.digest, size: big.size, offset: cut });
    assert.deepEqual(await store.get(big.digest, big.size), await readFile(blobFile(layout, big.digest)));
    assert.equal((await store.usage()).ingestBytes, 0);
    assert.equal((await store.resolveTag('img:t')).digest, r.manifestDigest);
    await store.close();
  });

  it('retries a stream that breaks, from the bytes already written', async () => {
    const store = await newStore();
    const big = bigLayer();
    const src = new RecordingSource(openOciLayoutSource(layout, 't'), { digest: big.digest, afterBytes: 500_000 });
    await pullImage(src, store, { reference: 'img:t', all: true });
    await src.close();
    assert.deepEqual(src.streams.filter((s) => s.digest === big.digest).map((s) => s.offset), [0, 500_000]);
    assert.deepEqual(await store.get(big.digest, big.size), await readFile(blobFile(layout, big.digest)));
    await store.close();
  });

  it('a layer whose bytes do not match its digest fails the pull and leaves nothing', async () => {
    const bad = join(work, 'tampered');
    await cp(layout, bad, { recursive: true });
    const big = bigLayer();
    const bytes = await readFile(blobFile(bad, big.digest));
    bytes[bytes.length - 100] ^= 1;
    await writeFile(blobFile(bad, big.digest), bytes);
    const store = await newStore();
    const src = openOciLayoutSource(bad, 't');
    await assert.rejects(pullImage(src, store, { reference: 'bad', all: true }), (e) => codeOf(e) === 'DIGEST_MISMATCH');
    await src.close();
    assert.equal(await store.has(big.digest), false);
    assert.equal((await store.usage()).ingestBytes, 0);
    await assert.rejects(store.resolveTag('bad'), (e) => codeOf(e) === 'NOT_FOUND');
    await store.close();
  });

  it('stops when aborted, keeping what it received', async () => {
    const store = await newStore();
    const ctl = new AbortController();
    const src = openOciLayoutSource(layout, 't');
    const p = pullImage(src, store, {
      reference: 'img:t', all: true, signal: ctl.signal,
      onProgress: (e) => { if (e.type === 'bytes' && e.done > 100_000) ctl.abort(new Error('user stop')); },
    });
    await assert.rejects(p, /user stop|abort/i);
    await src.close();
    assert.ok((await store.usage()).ingestBytes > 0);
    await store.close();
  });

  it('refuses a bad concurrency', async () => {
    const store = await newStore();
    const src = openOciLayoutSource(layout, 't');
    await assert.rejects(pullImage(src, store, { reference: 'x', all: true, concurrency: 0 }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
    await src.close();
    await store.close();
  });

  it('writes a store umoci can unpack', async () => {
    const root = join(work, 'store-umoci');
    const store = await ContentStore.open(root);
    const src = openOciLayoutSource(layout, 't');
    await pullImage(src, store, { reference: 'pulled', all: true });
    await src.close();
    await store.close();
    const bundle = join(work, 'unpacked');
    await run('umoci', ['unpack', '--rootless', '--image', `${root}:pulled`, bundle]);
    assert.equal(await readFile(join(bundle, 'rootfs', 'x'), 'utf8'), 'hi\n');
  });
});

describe('pull from a real registry', () => {
  it('fetches every layer through the registry client', async () => {
    const reg = await startRegistry();
    const client = new RegistryClient({ dockerConfigDir: join(work, 'docker') });
    try {
      const ref = await pushLayout(layout, 't', reg, 'pull/img');
      const store = await newStore();
      const src = openRegistrySource(ref, { client });
      const r = await pullImage(src, store, { reference: ref, all: true });
      await src.close();
      for (const l of layers) assert.deepEqual(await store.get(l.digest, l.size), await readFile(blobFile(layout, l.digest)));
      assert.equal((await store.resolveTag(ref)).digest, r.manifestDigest);
      await store.close();
    } finally {
      await client.close();
      await reg.stop();
    }
  });
});
