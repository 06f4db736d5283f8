// The client against a REAL registry (Debian docker-registry via test/helpers/registry.ts),
// with a tiny image built by umoci and pushed by skopeo and by our own push API.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { codeOf } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference, type RegistryReference } from '../../src/reference/reference.js';
import { MEDIA_TYPES, type ImageIndex, type ImageManifest } from '../../src/image/oci-types.js';
import { hostPlatform } from '../../src/image/platform.js';
import { pushLayout, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const FAST = { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } };

/** A one-layer image (a few files, one of 200 KiB) built with umoci into `dir`/layout, tag t. */
async function buildTinyImage(dir: string): Promise<{ layout: string; manifestDigest: string; manifest: ImageManifest }> {
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'bundle');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:t`]);
  await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
  await writeFile(join(bundle, 'rootfs', 'hello.txt'), 'hello lazysnap\n');
  await writeFile(join(bundle, 'rootfs', 'big.bin'), randomBytes(200 * 1024));
  await run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as ImageIndex;
  const manifestDigest = index.manifests[0]!.digest;
  const manifest = JSON.parse(await readFile(blobPath(layout, manifestDigest), 'utf8')) as ImageManifest;
  return { layout, manifestDigest, manifest };
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', ...digest.split(':'));
}

function regRef(s: string): RegistryReference {
  const r = parseReference(s);
  assert.ok(r.kind === 'registry');
  return r;
}

describe('registry client against docker-registry', () => {
  let work: string;
  let reg: TestRegistry;
  let img: Awaited<ReturnType<typeof buildTinyImage>>;
  let client: RegistryClient;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-client-'));
    img = await buildTinyImage(work);
    reg = await startRegistry();
    await pushLayout(img.layout, 't', reg, 'lazy/img');
    client = new RegistryClient({ ...FAST, dockerConfigDir: join(work, 'docker'), spoolDir: work });
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('resolve: manifest, digest and config match the layout', async () => {
    const r = await client.resolve(regRef(`${reg.host}/lazy/img:t`));
    assert.equal(r.reference, `${reg.host}/lazy/img:t`);
    assert.equal(r.digest, img.manifestDigest);
    assert.equal(r.manifestDigest, img.manifestDigest);
    assert.deepEqual(r.manifestBytes, await readFile(blobPath(img.layout, img.manifestDigest)));
    assert.deepEqual(r.configBytes, await readFile(blobPath(img.layout, img.manifest.config.digest)));
    assert.equal(r.manifest.layers.length, 1);
    assert.equal(r.platform.os, 'linux');
    const byDigest = await client.resolve(regRef(`${reg.host}/lazy/img@${img.manifestDigest}`));
    assert.equal(byDigest.manifestDigest, img.manifestDigest);
  });

  test('prefetchManifest: the next resolve takes the manifest fetched ahead, once, and counts it', async () => {
    // The registry logs a request once it has answered: wait for the count to reach `n`,
    // then a little longer, so that one more request would have been logged too.
    const manifestGets = async (n: number) => {
      const count = async () => (await readFile(join(reg.dir, 'registry.log'), 'utf8'))
        .split('\n').filter((l) => l.includes('"GET /v2/lazy/img/manifests/t ')).length;
      for (let i = 0; i < 250 && (await count()) < n; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      return count();
    };
    const ref = regRef(`${reg.host}/lazy/img:t`);
    const before = await manifestGets(0);
    client.prefetchManifest(ref);
    client.prefetchManifest(ref); // already under way: not asked twice
    const view = client.withCounters();
    const r = await view.resolve(ref);
    assert.equal(r.manifestDigest, img.manifestDigest);
    assert.equal(await manifestGets(before + 1), before + 1, 'the resolve asked for the manifest again');
    assert.equal(view.counters.requests, 2, 'the view counts the prefetched manifest and its config');
    assert.equal(view.counters.bytesFetched, r.manifestBytes.length + r.configBytes.length);
    await view.resolve(ref); // taken once: this one asks again
    assert.equal(await manifestGets(before + 2), before + 2);
    // A prefetch that fails is the resolve's failure.
    client.prefetchManifest(regRef(`${reg.host}/lazy/img:nope`));
    await assert.rejects(client.resolve(regRef(`${reg.host}/lazy/img:nope`)), (e) => codeOf(e) === 'NOT_FOUND');
  });

  test('Range reads of a layer return the bytes of the local blob; fetchBlob and streams verify', async () => {
    const layer = img.manifest.layers[0]!;
    const local = await readFile(blobPath(img.layout, layer.digest));
    const reader = client.blobReader(reg.host, 'lazy/img', layer);
    assert.equal(reader.size, local.length);
    const before = client.counters.bytesFetched;
    for (const [o, n] of [[0, 1], [0, 512], [1000, 3000], [local.length - 7, 7], [Math.floor(local.length / 2), 1]] as const) {
      assert.deepEqual(await reader.readAt(o, n), local.subarray(o, o + n), `${o}+${n}`);
    }
    assert.ok(client.counters.bytesFetched - before < 5000, 'Range reads fetch only what was asked');
    assert.deepEqual(await client.fetchBlob(reg.host, 'lazy/img', layer, 1 << 24), local);
    const parts: Buffer[] = [];
    for await (const c of await client.openBlobStream(reg.host, 'lazy/img', layer, 100)) parts.push(c as Buffer);
    assert.deepEqual(Buffer.concat(parts), local.subarray(100));
  });

  test('missing tag, repository or blob: NOT_FOUND', async () => {
    await assert.rejects(client.resolve(regRef(`${reg.host}/lazy/img:nope`)), (e) => codeOf(e) === 'NOT_FOUND');
    await assert.rejects(client.resolve(regRef(`${reg.host}/no/such:t`)), (e) => codeOf(e) === 'NOT_FOUND');
    const ghost = { mediaType: 'x', digest: `sha256:${'1'.repeat(64)}`, size: 10 };
    await assert.rejects(client.blobReader(reg.host, 'lazy/img', ghost).readAt(0, 5), (e) => codeOf(e) === 'NOT_FOUND');
    assert.equal(await client.blobExists(reg.host, 'lazy/img', ghost.digest), false);
  });

  test('own push API: blobs (buffer and stream) and manifest, then an index resolved to the platform leaf', async () => {
    const m = img.manifest;
    const config = await readFile(blobPath(img.layout, m.config.digest));
    const layerPath = blobPath(img.layout, m.layers[0]!.digest);
    assert.equal(await client.pushBlob(reg.host, 'own/img', m.config, config), true);
    assert.equal(await client.pushBlob(reg.host, 'own/img', m.layers[0]!, async function* () {
      yield await readFile(layerPath);
    }), true);
    assert.equal(await client.pushBlob(reg.host, 'own/img', m.config, config), false, 'existing blob is skipped');
    const manifestBytes = await readFile(blobPath(img.layout, img.manifestDigest));
    const digest = await client.putManifest(reg.host, 'own/img', 'v1', manifestBytes, MEDIA_TYPES.ociManifest);
    assert.equal(digest, img.manifestDigest);
    const r = await client.resolve(regRef(`${reg.host}/own/img:v1`));
    assert.deepEqual(r.configBytes, config);

    const index: ImageIndex = {
      schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        { mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${'2'.repeat(64)}`, size: 1, platform: { os: 'linux', architecture: 'not-this-one' } },
        { mediaType: MEDIA_TYPES.ociManifest, digest: img.manifestDigest, size: manifestBytes.length, platform: hostPlatform() },
      ],
    };
    // The registry checks referenced manifests exist: keep only ours for the push.
    const pushable = { ...index, manifests: [index.manifests[1]!] };
    const indexBytes = Buffer.from(JSON.stringify(pushable));
    const indexDigest = await client.putManifest(reg.host, 'own/img', 'multi', indexBytes, MEDIA_TYPES.ociIndex);
    const viaIndex = await client.resolve(regRef(`${reg.host}/own/img:multi`));
    assert.equal(viaIndex.digest, indexDigest);
    assert.equal(viaIndex.manifestDigest, img.manifestDigest);
    await assert.rejects(client.resolve(regRef(`${reg.host}/own/img:multi`), { os: 'linux', architecture: 'sparc' }), (e) => codeOf(e) === 'NOT_FOUND');
  });

  test('push refuses a buffer that does not match its descriptor', async () => {
    const m = img.manifest;
    await assert.rejects(client.pushBlob(reg.host, 'own/bad', m.config, Buffer.from('x')), (e) => codeOf(e) === 'INVALID_ARGUMENT');
    const same = Buffer.alloc(m.config.size, 1);
    await assert.rejects(client.pushBlob(reg.host, 'own/bad', m.config, same), (e) => codeOf(e) === 'DIGEST_MISMATCH');
  });
});

describe('password-protected registry', () => {
  let work: string;
  let reg: TestRegistry;
  const auth = { user: 'alice', pass: 's3cret-pass' };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-client-auth-'));
    const img = await buildTinyImage(work);
    reg = await startRegistry({ auth });
    await pushLayout(img.layout, 't', reg, 'priv/img');
  });
  after(async () => {
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('without credentials: UNAUTHORIZED', async (t) => {
    const c = new RegistryClient({ ...FAST, dockerConfigDir: await tempDir(t) });
    t.after(() => c.close());
    await assert.rejects(c.resolve(regRef(`${reg.host}/priv/img:t`)), (e) => codeOf(e) === 'UNAUTHORIZED');
  });

  test('with a DOCKER_CONFIG dir holding credentials: works', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${auth.user}:${auth.pass}`).toString('base64') } } }));
    const c = new RegistryClient({ ...FAST, dockerConfigDir: dir });
    t.after(() => c.close());
    const r = await c.resolve(regRef(`${reg.host}/priv/img:t`));
    assert.deepEqual(await c.blobReader(reg.host, 'priv/img', r.manifest.layers[0]!).readAt(0, 2), Buffer.from([0x1f, 0x8b]));
  });

  test('login: refused password is UNAUTHORIZED and saves nothing; a good one is saved 0600 and used', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ psFormat: 'keep me', auths: { 'other.example': { auth: 'eDp5' } } }));
    const c = new RegistryClient({ ...FAST, dockerConfigDir: dir });
    t.after(() => c.close());
    await assert.rejects(c.login(reg.host, auth.user, 'wrong'), (e) => codeOf(e) === 'UNAUTHORIZED');
    assert.equal(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).auths[reg.host], undefined);
    await c.login(reg.host, auth.user, auth.pass);
    const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.equal(saved.psFormat, 'keep me');
    assert.equal(saved.auths['other.example'].auth, 'eDp5');
    assert.equal(Buffer.from(saved.auths[reg.host].auth, 'base64').toString(), `${auth.user}:${auth.pass}`);
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
    const fresh = new RegistryClient({ ...FAST, dockerConfigDir: dir });
    t.after(() => fresh.close());
    await fresh.resolve(regRef(`${reg.host}/priv/img:t`));
    assert.equal(await fresh.logout(reg.host), true);
    const fresh2 = new RegistryClient({ ...FAST, dockerConfigDir: dir });
    t.after(() => fresh2.close());
    await assert.rejects(fresh2.resolve(regRef(`${reg.host}/priv/img:t`)), (e) => codeOf(e) === 'UNAUTHORIZED');
  });
});
