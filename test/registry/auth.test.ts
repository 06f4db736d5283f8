// Token and basic authentication, redirects and credentials, against fault servers.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { codeOf } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RegistryClientOptions } from '../../src/registry/options.js';
import type { Descriptor } from '../../src/image/oci-types.js';
import { startFaultServer, serveBytes, type FaultServer } from '../helpers/fault-server.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = randomBytes(4096);
const DESC: Descriptor = { mediaType: 'x', digest: `sha256:${createHash('sha256').update(DATA).digest('hex')}`, size: DATA.length };
const FAST: RegistryClientOptions = { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 }, timeouts: { connectMs: 2000, headersMs: 2000, bodyMs: 2000 } };

interface TokenWorld {
  registry: FaultServer;
  tokens: FaultServer;
  valid: Set<string>;
  issued: () => number;
  /** When set, tokens issued from now on are never accepted. */
  refuseNew: boolean;
}

/** A registry that wants Bearer tokens from a separate token server; `basic` = creds the token server wants. */
async function tokenWorld(t: TestContext, basic?: string): Promise<TokenWorld> {
  const valid = new Set<string>();
  let issued = 0;
  const world = { valid, issued: () => issued, refuseNew: false } as TokenWorld;
  const tokens = await startFaultServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token' || url.searchParams.get('service') !== 'test-registry') return void res.writeHead(400).end();
    if (basic && req.headers.authorization !== `Basic ${Buffer.from(basic).toString('base64')}`) return void res.writeHead(401).end();
    const scope = url.searchParams.get('scope') ?? '';
    const token = `tok-${++issued}-${scope}`;
    if (!world.refuseNew) valid.add(token);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 60 }));
  }, { ping: false });
  const challenge = `Bearer realm="${tokens.origin}/token",service="test-registry",scope="repository:a/b:pull"`;
  const registry = await startFaultServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !valid.has(auth.slice(7))) {
      return void res.writeHead(401, { 'www-authenticate': challenge }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    serveBytes(req, res, DATA);
  }, { ping: false });
  t.after(async () => {
    await registry.stop();
    await tokens.stop();
  });
  world.registry = registry;
  world.tokens = tokens;
  return world;
}

function client(t: TestContext, o: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ ...FAST, ...o });
  t.after(() => c.close());
  return c;
}

test('bearer: 401 -> token server -> Bearer; the token is reused', async (t) => {
  const w = await tokenWorld(t);
  const dir = await tempDir(t);
  const c = client(t, { dockerConfigDir: dir });
  const r = c.blobReader(w.registry.host, 'a/b', DESC);
  assert.deepEqual(await r.readAt(0, 10), DATA.subarray(0, 10));
  assert.deepEqual(await r.readAt(100, 10), DATA.subarray(100, 110));
  assert.equal(w.issued(), 1);
  const tokenCall = w.tokens.requests[0]!;
  assert.match(tokenCall.url, /scope=repository%3Aa%2Fb%3Apull/);
  // No /v2/ ping: the first request goes without credentials and its 401 names the token
  // server; it is made again with the token, which the next read reuses.
  const blobCalls = w.registry.requests.filter((q) => q.url.includes('/blobs/'));
  assert.deepEqual(blobCalls.map((q) => (q.headers.authorization ?? '').replace(/^(Bearer tok-1-).*/, '$1')), ['', 'Bearer tok-1-', 'Bearer tok-1-']);
  assert.equal(w.registry.requests.filter((q) => q.url === '/v2/').length, 0);
});

test('bearer: an expired token is refreshed (clock moved past expires_in)', async (t) => {
  const w = await tokenWorld(t);
  let now = 1_000_000;
  const c = client(t, { dockerConfigDir: await tempDir(t), now: () => now });
  const r = c.blobReader(w.registry.host, 'a/b', DESC);
  await r.readAt(0, 1);
  now += 30_000;
  await r.readAt(0, 1);
  assert.equal(w.issued(), 1);
  now += 31_000;
  await r.readAt(0, 1);
  assert.equal(w.issued(), 2);
});

test('bearer: a token refused later is refreshed once; refused twice is UNAUTHORIZED', async (t) => {
  const w = await tokenWorld(t);
  const c = client(t, { dockerConfigDir: await tempDir(t) });
  const r = c.blobReader(w.registry.host, 'a/b', DESC);
  await r.readAt(0, 1);
  w.valid.clear(); // the registry revokes every token
  assert.deepEqual(await r.readAt(1, 2), DATA.subarray(1, 3));
  assert.equal(w.issued(), 2);
  // Now the registry refuses every token: one refresh, then UNAUTHORIZED (no loop).
  w.refuseNew = true;
  w.valid.clear();
  await assert.rejects(r.readAt(0, 1), (e) => codeOf(e) === 'UNAUTHORIZED');
  assert.equal(w.issued(), 3);
});

test('bearer with credentials from a credHelper on PATH; refused credentials are UNAUTHORIZED', async (t) => {
  const w = await tokenWorld(t, 'helper-user:helper-pass');
  const bin = await tempDir(t);
  const script = join(bin, 'docker-credential-lazysnaptest');
  await writeFile(script, `#!/bin/sh
[ "$1" = get ] || exit 2
read -r host
case "$host" in
  ${w.registry.host}) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-pass"}\\n' "$host" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`, { mode: 0o755 });
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  t.after(() => { process.env.PATH = oldPath; });
  const config = await tempDir(t);
  await writeFile(join(config, 'config.json'), JSON.stringify({ credHelpers: { [w.registry.host]: 'lazysnaptest' } }));
  const c = client(t, { dockerConfigDir: config });
  assert.deepEqual(await c.blobReader(w.registry.host, 'a/b', DESC).readAt(0, 4), DATA.subarray(0, 4));
  // Wrong credentials in a plain auths entry: the token server refuses -> UNAUTHORIZED.
  const config2 = await tempDir(t);
  await writeFile(join(config2, 'config.json'), JSON.stringify({ auths: { [w.registry.host]: { auth: Buffer.from('helper-user:nope').toString('base64') } } }));
  const c2 = client(t, { dockerConfigDir: config2 });
  await assert.rejects(c2.blobReader(w.registry.host, 'a/b', DESC).readAt(0, 4), (e) => codeOf(e) === 'UNAUTHORIZED');
});

test('basic auth sends the configured credentials; none -> UNAUTHORIZED', async (t) => {
  const want = `Basic ${Buffer.from('u:p').toString('base64')}`;
  const registry = await startFaultServer((req, res) => {
    if (req.headers.authorization !== want) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
    if (req.url === '/v2/') return void res.writeHead(200).end('{}');
    serveBytes(req, res, DATA);
  }, { ping: false });
  t.after(() => registry.stop());
  const config = await tempDir(t);
  await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [`http://${registry.host}/v2/`]: { username: 'u', password: 'p' } } }));
  assert.deepEqual(await client(t, { dockerConfigDir: config }).blobReader(registry.host, 'a/b', DESC).readAt(5, 5), DATA.subarray(5, 10));
  await assert.rejects(client(t, { dockerConfigDir: await tempDir(t) }).blobReader(registry.host, 'a/b', DESC).readAt(0, 1),
    (e) => codeOf(e) === 'UNAUTHORIZED');
});

test('redirect to another host: no Authorization there, target cached, re-resolved on 403', async (t) => {
  let storageAnswers403 = false;
  const storage = await startFaultServer((req: IncomingMessage, res: ServerResponse) => {
    if (storageAnswers403) {
      storageAnswers403 = false;
      return void res.writeHead(403).end('<Error>expired</Error>');
    }
    serveBytes(req, res, DATA);
  }, { ping: false });
  t.after(() => storage.stop());
  const want = `Basic ${Buffer.from('u:p').toString('base64')}`;
  let signed = 0;
  const registry = await startFaultServer((req, res) => {
    if (req.headers.authorization !== want) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
    if (req.url === '/v2/') return void res.writeHead(200).end('{}');
    res.writeHead(307, { location: `${storage.origin}/bucket/blob?sig=${++signed}` }).end();
  }, { ping: false });
  t.after(() => registry.stop());
  const config = await tempDir(t);
  await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('u:p').toString('base64') } } }));
  const c = client(t, { dockerConfigDir: config });
  const r = c.blobReader(registry.host, 'a/b', DESC);
  assert.deepEqual(await r.readAt(0, 8), DATA.subarray(0, 8));
  assert.deepEqual(await r.readAt(8, 8), DATA.subarray(8, 16));
  assert.equal(signed, 1, 'the redirect target is cached per blob');
  storageAnswers403 = true;
  assert.deepEqual(await r.readAt(16, 8), DATA.subarray(16, 24));
  assert.equal(signed, 2, 'a 403 from the target re-resolves the redirect');
  assert.equal(storage.requests.length, 4);
  for (const q of storage.requests) assert.equal(q.headers.authorization, undefined);
  assert.deepEqual(storage.requests.map((q) => q.url), ['/bucket/blob?sig=1', '/bucket/blob?sig=1', '/bucket/blob?sig=1', '/bucket/blob?sig=2']);
});
