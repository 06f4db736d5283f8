// Manifest faults a real registry will not produce: schema1, wrong bytes, oversize, bad shapes.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { codeOf } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import { MEDIA_TYPES } from '../../src/image/oci-types.js';
import { startFaultServer } from '../helpers/fault-server.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const GOOD = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest,
  config: { mediaType: MEDIA_TYPES.ociConfig, digest: `sha256:${'c'.repeat(64)}`, size: 10 },
  layers: [],
}));

async function serve(t: TestContext, body: Buffer, headers: Record<string, string> = {}): Promise<{ host: string; client: RegistryClient; accept: () => string | undefined }> {
  let accept: string | undefined;
  const server = await startFaultServer((req, res) => {
    accept = req.headers.accept;
    res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest, ...headers }).end(body);
  });
  const client = new RegistryClient({ retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
  t.after(async () => {
    await client.close();
    await server.stop();
  });
  return { host: server.host, client, accept: () => accept };
}

test('a good manifest: digest computed, Accept names all four types', async (t) => {
  const s = await serve(t, GOOD, { 'docker-content-digest': sha(GOOD) });
  const m = await s.client.getManifest(s.host, 'a/b', 't');
  assert.equal(m.kind, 'manifest');
  assert.equal(m.digest, sha(GOOD));
  for (const type of [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest]) {
    assert.ok(s.accept()?.includes(type), type);
  }
  assert.equal((await s.client.getManifest(s.host, 'a/b', sha(GOOD))).digest, sha(GOOD));
});

test('bytes that do not match the digest reference or Docker-Content-Digest: DIGEST_MISMATCH', async (t) => {
  const s = await serve(t, GOOD);
  await assert.rejects(s.client.getManifest(s.host, 'a/b', `sha256:${'d'.repeat(64)}`), (e) => codeOf(e) === 'DIGEST_MISMATCH');
  const s2 = await serve(t, GOOD, { 'docker-content-digest': `sha256:${'e'.repeat(64)}` });
  await assert.rejects(s2.client.getManifest(s2.host, 'a/b', 't'), (e) => codeOf(e) === 'DIGEST_MISMATCH');
});

test('schema1, oversize, malformed and bad descriptors: INVALID_ARGUMENT', async (t) => {
  const bad = [
    Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'a/b', fsLayers: [] })),
    Buffer.alloc(5 * 1024 * 1024, 0x20),
    Buffer.from('not json'),
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'x', digest: 'nope', size: 1 }, layers: [] })),
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'x', digest: `sha256:${'c'.repeat(64)}`, size: -1 }, layers: [] })),
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex })),
  ];
  for (const [i, body] of bad.entries()) {
    const s = await serve(t, body);
    await assert.rejects(s.client.getManifest(s.host, 'a/b', 't'), (e) => codeOf(e) === 'INVALID_ARGUMENT', `case ${i}`);
  }
});
