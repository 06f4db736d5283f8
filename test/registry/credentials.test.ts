import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf } from '../../src/errors.js';
import { CredentialStore } from '../../src/registry/credentials.js';
import { tempDir } from '../helpers/tmp.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('auths: auth, username/password, identitytoken, URL keys and Docker Hub aliases', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    auths: {
      'r1.example': { auth: b64('u1:p:with:colons') },
      'https://r2.example:5000/v2/': { username: 'u2', password: 'p2' },
      'r3.example': { identitytoken: 'refresh-me' },
      'https://index.docker.io/v1/': { auth: b64('hub:pw') },
      'r4.example': { auth: b64('nocolon') },
    },
  }));
  const s = new CredentialStore({ configDir: dir });
  assert.deepEqual(await s.get('r1.example'), { kind: 'basic', username: 'u1', password: 'p:with:colons' });
  assert.deepEqual(await s.get('r2.example:5000'), { kind: 'basic', username: 'u2', password: 'p2' });
  assert.deepEqual(await s.get('r3.example'), { kind: 'identity', identityToken: 'refresh-me' });
  assert.deepEqual(await s.get('docker.io'), { kind: 'basic', username: 'hub', password: 'pw' });
  assert.equal(await s.get('unknown.example'), undefined);
  await assert.rejects(s.get('r4.example'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});

test('no config file: no credentials; a broken one: INVALID_ARGUMENT', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await new CredentialStore({ configDir: dir }).get('x.example'), undefined);
  await writeFile(join(dir, 'config.json'), '{not json');
  await assert.rejects(new CredentialStore({ configDir: dir }).get('x.example'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});

test('credHelpers and credsStore run docker-credential-NAME get with the host on stdin', async (t) => {
  const bin = await tempDir(t);
  await writeFile(join(bin, 'docker-credential-lzt'), `#!/bin/sh
read -r host
case "$host" in
  helped.example) echo '{"ServerURL":"helped.example","Username":"hu","Secret":"hs"}' ;;
  stored.example) echo '{"ServerURL":"stored.example","Username":"<token>","Secret":"idtok"}' ;;
  slow.example) sleep 5 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`, { mode: 0o755 });
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  t.after(() => { process.env.PATH = oldPath; });
  const dir = await tempDir(t);
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    credHelpers: { 'helped.example': 'lzt', 'slow.example': 'lzt', 'missing.example': 'nosuchhelper' },
    credsStore: 'lzt',
  }));
  const s = new CredentialStore({ configDir: dir, helperTimeoutMs: 300 });
  assert.deepEqual(await s.get('helped.example'), { kind: 'basic', username: 'hu', password: 'hs' });
  assert.deepEqual(await s.get('stored.example'), { kind: 'identity', identityToken: 'idtok' });
  assert.equal(await s.get('other.example'), undefined);
  await assert.rejects(s.get('slow.example'), (e) => codeOf(e) === 'UNAVAILABLE');
  await assert.rejects(s.get('missing.example'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});

test('saveLogin writes atomically with mode 0600 and keeps other keys; removeLogin forgets', async (t) => {
  const dir = join(await tempDir(t), 'nested');
  const s = new CredentialStore({ configDir: dir });
  await s.saveLogin('r.example:5000', 'me', 'pw');
  await s.saveLogin('docker.io', 'hub', 'hubpw');
  const path = join(dir, 'config.json');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const doc = JSON.parse(await readFile(path, 'utf8'));
  assert.equal(doc.auths['r.example:5000'].auth, b64('me:pw'));
  assert.equal(doc.auths['https://index.docker.io/v1/'].auth, b64('hub:hubpw'));
  doc.credsStore = '';
  doc.extra = { keep: true };
  await writeFile(path, JSON.stringify(doc));
  await s.saveLogin('r.example:5000', 'me2', 'pw2');
  const again = JSON.parse(await readFile(path, 'utf8'));
  assert.deepEqual(again.extra, { keep: true });
  assert.deepEqual(await s.get('r.example:5000'), { kind: 'basic', username: 'me2', password: 'pw2' });
  assert.equal(await s.removeLogin('r.example:5000'), true);
  assert.equal(await s.removeLogin('r.example:5000'), false);
  assert.equal(await s.get('r.example:5000'), undefined);
  assert.deepEqual(await s.get('index.docker.io'), { kind: 'basic', username: 'hub', password: 'hubpw' });
  assert.deepEqual((await readdir(dir)).sort(), ['config.json'], 'no temp files left');
  await assert.rejects(s.saveLogin('r.example', 'a:b', 'x'), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
