// contentStoreSuite: the behaviour every content store shares (containerd's content
// testsuite): verified, atomic writes; resumable ingests; serialised writers; tags;
// refusal of bad digests; state kept across close/reopen. A backend's test file calls it.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { codeOf } from '../../src/errors.js';
import { MEDIA_TYPES, type Descriptor } from '../../src/image/oci-types.js';
import type { ContentStore } from '../../src/store/content-store.js';

export interface ContentStoreUnderTest {
  readonly impl: ContentStore;
  /** Closes what the factory made; may follow impl.close(). */
  close(): Promise<void>;
  /** A new store over the same data (the old one is closed first). */
  reopen(): Promise<ContentStore>;
}

export type ContentStoreFactory = (t: TestContext) => Promise<ContentStoreUnderTest>;

export const digestOf = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const descOf = (b: Uint8Array, mediaType: string = MEDIA_TYPES.ociLayerGzip): Descriptor => ({ mediaType, digest: digestOf(b), size: b.length });

const BAD_DIGESTS = [
  'sha256:../../../etc/passwd',
  '../../x',
  'sha256:' + 'A'.repeat(64),
  'sha256:' + 'a'.repeat(63),
  'sha512:' + 'a'.repeat(128),
  'sha256/' + 'a'.repeat(64),
  'sha256:' + 'a'.repeat(64) + '/x',
  'sha256:' + 'a'.repeat(64) + '\0',
  '',
];

export function contentStoreSuite(name: string, factory: ContentStoreFactory): void {
  describe(`content store suite: ${name}`, () => {
    const open = async (t: TestContext): Promise<ContentStoreUnderTest> => {
      const s = await factory(t);
      t.after(() => s.close());
      return s;
    };

    it('puts, then serves the blob by digest (has, size, get, reader)', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(10_000);
      const d = digestOf(data);
      assert.equal(await store.has(d), false);
      assert.equal(await store.put(data), d);
      assert.equal(await store.has(d), true);
      assert.equal(await store.size(d), data.length);
      assert.deepEqual(await store.get(d, data.length), data);
      const r = await store.reader(d);
      try {
        assert.equal(r.size, data.length);
        assert.deepEqual(await r.readAt(1234, 100), data.subarray(1234, 1334));
      } finally {
        await r.close();
      }
      // Idempotent, and an expected digest that matches is fine.
      assert.equal(await store.put(data, d), d);
      assert.deepEqual(await store.listBlobs(), [{ digest: d, size: data.length }]);
    });

    it('refuses a put whose bytes do not match the expected digest, storing nothing', async (t) => {
      const { impl: store } = await open(t);
      const data = Buffer.from('hello');
      const wrong = digestOf(Buffer.from('other'));
      await assert.rejects(store.put(data, wrong), (e) => codeOf(e) === 'DIGEST_MISMATCH');
      assert.equal(await store.has(wrong), false);
      assert.equal(await store.has(digestOf(data)), false);
      assert.deepEqual(await store.usage(), { bytes: 0, count: 0, ingestBytes: 0 });
    });

    it('get: NOT_FOUND when absent, INVALID_ARGUMENT above maxBytes', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(100);
      const d = await store.put(data);
      await assert.rejects(store.get(digestOf(Buffer.from('x')), 10), (e) => codeOf(e) === 'NOT_FOUND');
      await assert.rejects(store.get(d, 99), (e) => codeOf(e) === 'INVALID_ARGUMENT');
      await assert.rejects(store.size(digestOf(Buffer.from('x'))), (e) => codeOf(e) === 'NOT_FOUND');
      await assert.rejects(store.reader(digestOf(Buffer.from('x'))), (e) => codeOf(e) === 'NOT_FOUND');
    });

    it('ingests a blob in pieces; it is visible only after commit', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(300_000);
      const desc = descOf(data);
      const w = await store.ingest(desc);
      assert.equal(w.offset, 0);
      for (let i = 0; i < data.length; i += 70_000) {
        await w.write(data.subarray(i, i + 70_000));
        assert.equal(await store.has(desc.digest), false, 'no partial blob is visible');
      }
      assert.equal(w.written, data.length);
      await w.commit();
      assert.deepEqual(await store.get(desc.digest, data.length), data);
      assert.equal((await store.usage()).ingestBytes, 0);
      await w.close(); // after commit: a no-op
      await assert.rejects(w.write(Buffer.from('x')), (e) => codeOf(e) === 'FAILED_PRECONDITION');
    });

    it('ingests an empty blob', async (t) => {
      const { impl: store } = await open(t);
      const w = await store.ingest(descOf(Buffer.alloc(0)));
      await w.commit();
      assert.deepEqual(await store.get(digestOf(Buffer.alloc(0)), 0), Buffer.alloc(0));
    });

    it('discards an ingest whose digest does not match, leaving nothing visible', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(5000);
      const desc = descOf(data);
      const w = await store.ingest(desc);
      const bad = Buffer.from(data);
      bad[4000] ^= 0xff;
      await w.write(bad);
      await assert.rejects(w.commit(), (e) => codeOf(e) === 'DIGEST_MISMATCH');
      assert.equal(await store.has(desc.digest), false);
      assert.deepEqual(await store.usage(), { bytes: 0, count: 0, ingestBytes: 0 });
      // The digest is free again, and the bad bytes are not resumed from.
      const again = await store.ingest(desc);
      assert.equal(again.offset, 0);
      await again.write(data);
      await again.commit();
      assert.equal(await store.has(desc.digest), true);
    });

    it('refuses bytes past the descriptor size and a commit while short', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(1000);
      const w = await store.ingest(descOf(data));
      await w.write(data.subarray(0, 600));
      await assert.rejects(w.commit(), (e) => codeOf(e) === 'FAILED_PRECONDITION');
      await assert.rejects(w.write(randomBytes(401)), (e) => codeOf(e) === 'DIGEST_MISMATCH');
      assert.equal(w.written, 600, 'the refused chunk wrote nothing');
      await w.write(data.subarray(600));
      await w.commit();
      assert.deepEqual(await store.get(digestOf(data), 1000), data);
    });

    it('resumes an ingest that was left half-written', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(200_000);
      const desc = descOf(data);
      const first = await store.ingest(desc);
      await first.write(data.subarray(0, 123_456));
      await first.close(); // the writer goes away: its bytes stay for the next one
      assert.equal(await store.has(desc.digest), false);
      assert.equal((await store.usage()).ingestBytes, 123_456);
      const second = await store.ingest(desc);
      assert.equal(second.offset, 123_456);
      await second.write(data.subarray(second.offset));
      await second.commit();
      assert.deepEqual(await store.get(desc.digest, data.length), data);
    });

    it('aborts an ingest: partial data discarded', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(1000);
      const w = await store.ingest(descOf(data));
      await w.write(data.subarray(0, 500));
      await w.abort();
      await w.abort();
      assert.equal((await store.usage()).ingestBytes, 0);
      const again = await store.ingest(descOf(data));
      assert.equal(again.offset, 0);
      await again.abort();
    });

    it('serialises concurrent ingests of one digest: one wins, the other sees it exists', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(50_000);
      const desc = descOf(data);
      const a = await store.ingest(desc);
      let bSettled = false;
      const b = store.ingest(desc).finally(() => { bSettled = true; });
      await a.write(data.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(bSettled, false, 'the second writer waits while the first holds the digest');
      await a.write(data.subarray(1000));
      await a.commit();
      await assert.rejects(b, (e) => codeOf(e) === 'ALREADY_EXISTS');
      // Two at once from the start: one gets a writer, the other waits, then sees the blob.
      const other = randomBytes(1000);
      const calls = [store.ingest(descOf(other)), store.ingest(descOf(other))];
      const first = await Promise.race(calls.map((p, i) => p.then((w) => ({ w, i }))));
      await first.w.write(other);
      await first.w.commit();
      await assert.rejects(calls[1 - first.i]!, (e) => codeOf(e) === 'ALREADY_EXISTS');
    });

    it('an aborted wait for a busy digest rejects; the holder is unaffected', async (t) => {
      const { impl: store } = await open(t);
      const data = randomBytes(100);
      const a = await store.ingest(descOf(data));
      const ctl = new AbortController();
      const waiting = store.ingest(descOf(data), ctl.signal);
      setTimeout(() => ctl.abort(new Error('gave up')), 30);
      await assert.rejects(waiting, /gave up/);
      await a.write(data);
      await a.commit();
      assert.equal(await store.has(digestOf(data)), true);
    });

    it('refuses bad digest strings before they become paths', async (t) => {
      const { impl: store } = await open(t);
      for (const bad of BAD_DIGESTS) {
        const isBad = (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT';
        await assert.rejects(store.has(bad), isBad, `has ${JSON.stringify(bad)}`);
        await assert.rejects(store.get(bad, 10), isBad, `get ${JSON.stringify(bad)}`);
        await assert.rejects(store.put(Buffer.from('x'), bad), isBad, `put ${JSON.stringify(bad)}`);
        await assert.rejects(store.ingest({ digest: bad, size: 1 }), isBad, `ingest ${JSON.stringify(bad)}`);
        await assert.rejects(store.delete(bad), isBad, `delete ${JSON.stringify(bad)}`);
        await assert.rejects(store.tag('t', { mediaType: MEDIA_TYPES.ociManifest, digest: bad, size: 1 }), isBad, `tag ${JSON.stringify(bad)}`);
      }
      for (const size of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN]) {
        await assert.rejects(store.ingest({ digest: digestOf(Buffer.from('x')), size }), (e) => codeOf(e) === 'INVALID_ARGUMENT', `size ${size}`);
      }
      assert.deepEqual(await store.usage(), { bytes: 0, count: 0, ingestBytes: 0 });
    });

    it('tags manifests: tag, resolve, list, replace, untag', async (t) => {
      const { impl: store } = await open(t);
      const m1 = Buffer.from('{"manifest":1}');
      const m2 = Buffer.from('{"manifest":2}');
      await store.put(m1);
      await store.put(m2);
      const d1 = descOf(m1, MEDIA_TYPES.ociManifest);
      const d2 = descOf(m2, MEDIA_TYPES.ociManifest);
      await store.tag('127.0.0.1:5000/a/b:t', d1);
      await store.tag('oci:/some/path:x', d2);
      assert.equal((await store.resolveTag('127.0.0.1:5000/a/b:t')).digest, d1.digest);
      assert.deepEqual((await store.listTags()).map((x) => [x.name, x.descriptor.digest]),
        [['127.0.0.1:5000/a/b:t', d1.digest], ['oci:/some/path:x', d2.digest]]);
      await store.tag('127.0.0.1:5000/a/b:t', d2); // replaces
      assert.equal((await store.resolveTag('127.0.0.1:5000/a/b:t')).digest, d2.digest);
      assert.equal((await store.listTags()).length, 2);
      await store.untag('oci:/some/path:x');
      await assert.rejects(store.resolveTag('oci:/some/path:x'), (e) => codeOf(e) === 'NOT_FOUND');
      await assert.rejects(store.untag('oci:/some/path:x'), (e) => codeOf(e) === 'NOT_FOUND');
      assert.deepEqual((await store.listTags()).map((x) => x.name), ['127.0.0.1:5000/a/b:t']);
      // Untagging leaves the blobs.
      assert.equal(await store.has(d1.digest), true);
    });

    it('refuses tags that would dangle or lie, and bad tag names', async (t) => {
      const { impl: store } = await open(t);
      const m = Buffer.from('{"m":true}');
      const d = descOf(m, MEDIA_TYPES.ociManifest);
      await assert.rejects(store.tag('x', d), (e) => codeOf(e) === 'FAILED_PRECONDITION');
      await store.put(m);
      await assert.rejects(store.tag('x', { ...d, size: d.size + 1 }), (e) => codeOf(e) === 'INVALID_ARGUMENT');
      for (const bad of ['', 'a\nb', 'x'.repeat(2000)]) {
        await assert.rejects(store.tag(bad, d), (e) => codeOf(e) === 'INVALID_ARGUMENT', `tag name ${JSON.stringify(bad)}`);
      }
      assert.deepEqual(await store.listTags(), []);
    });

    it('deletes blobs, but not a tagged manifest; lists and sums them', async (t) => {
      const { impl: store } = await open(t);
      const a = randomBytes(100);
      const b = randomBytes(250);
      const m = Buffer.from('{"m":1}');
      await store.put(a);
      await store.put(b);
      await store.put(m);
      await store.tag('img', descOf(m, MEDIA_TYPES.ociManifest));
      assert.deepEqual(await store.usage(), { bytes: 100 + 250 + m.length, count: 3, ingestBytes: 0 });
      await store.delete(digestOf(a));
      assert.equal(await store.has(digestOf(a)), false);
      await assert.rejects(store.delete(digestOf(a)), (e) => codeOf(e) === 'NOT_FOUND');
      await assert.rejects(store.delete(digestOf(m)), (e) => codeOf(e) === 'FAILED_PRECONDITION');
      const listed = (await store.listBlobs()).map((x) => x.digest).sort();
      assert.deepEqual(listed, [digestOf(b), digestOf(m)].sort());
    });

    it('keeps blobs, tags and partial ingests across close and reopen', async (t) => {
      const s = await open(t);
      const store = s.impl;
      const m = Buffer.from('{"m":"persist"}');
      await store.put(m);
      await store.tag('keep', descOf(m, MEDIA_TYPES.ociManifest));
      const big = randomBytes(10_000);
      const w = await store.ingest(descOf(big));
      await w.write(big.subarray(0, 4096));
      await store.close(); // closes the open writer, keeping its bytes
      await store.close();
      await assert.rejects(store.put(Buffer.from('late')), (e) => codeOf(e) === 'FAILED_PRECONDITION');
      await assert.rejects(w.write(Buffer.from('late')), (e) => codeOf(e) === 'FAILED_PRECONDITION');
      const again = await s.reopen();
      assert.equal((await again.resolveTag('keep')).digest, digestOf(m));
      assert.deepEqual(await again.get(digestOf(m), 1000), m);
      const resumed = await again.ingest(descOf(big));
      assert.equal(resumed.offset, 4096);
      await resumed.write(big.subarray(4096));
      await resumed.commit();
      assert.deepEqual(await again.get(digestOf(big), big.length), big);
    });
  });
}
