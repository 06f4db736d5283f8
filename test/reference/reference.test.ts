import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { apiHost, formatReference, parseReference, manifestRef } from '../../src/reference/reference.js';
import { codeOf } from '../../src/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

const GOOD: Array<[string, Record<string, unknown>, string]> = [
  ['debian', { kind: 'registry', host: 'docker.io', repository: 'library/debian', tag: 'latest' }, 'docker.io/library/debian:latest'],
  ['debian:12', { kind: 'registry', host: 'docker.io', repository: 'library/debian', tag: '12' }, 'docker.io/library/debian:12'],
  ['foo/bar', { kind: 'registry', host: 'docker.io', repository: 'foo/bar', tag: 'latest' }, 'docker.io/foo/bar:latest'],
  ['docker.io/debian', { kind: 'registry', host: 'docker.io', repository: 'library/debian', tag: 'latest' }, 'docker.io/library/debian:latest'],
  ['index.docker.io/library/debian:x', { kind: 'registry', host: 'docker.io', repository: 'library/debian', tag: 'x' }, 'docker.io/library/debian:x'],
  ['127.0.0.1:5000/a/b:t', { kind: 'registry', host: '127.0.0.1:5000', repository: 'a/b', tag: 't' }, '127.0.0.1:5000/a/b:t'],
  ['localhost/a', { kind: 'registry', host: 'localhost', repository: 'a', tag: 'latest' }, 'localhost/a:latest'],
  ['localhost:5000/a', { kind: 'registry', host: 'localhost:5000', repository: 'a', tag: 'latest' }, 'localhost:5000/a:latest'],
  ['Registry/a', { kind: 'registry', host: 'Registry', repository: 'a', tag: 'latest' }, 'Registry/a:latest'],
  ['quay.io/a/b/c__d-e.f', { kind: 'registry', host: 'quay.io', repository: 'a/b/c__d-e.f', tag: 'latest' }, 'quay.io/a/b/c__d-e.f:latest'],
  [`r.io/a@${D}`, { kind: 'registry', host: 'r.io', repository: 'a', digest: D }, `r.io/a@${D}`],
  [`r.io/a:t@${D}`, { kind: 'registry', host: 'r.io', repository: 'a', tag: 't', digest: D }, `r.io/a:t@${D}`],
  ['[::1]:5000/a:t', { kind: 'registry', host: '[::1]:5000', repository: 'a', tag: 't' }, '[::1]:5000/a:t'],
  ['oci:/abs/path:tag', { kind: 'oci', path: '/abs/path', tag: 'tag' }, 'oci:/abs/path:tag'],
  ['oci:/abs/path', { kind: 'oci', path: '/abs/path' }, 'oci:/abs/path'],
  ['oci:/a:b/c', { kind: 'oci', path: '/a:b/c' }, 'oci:/a:b/c'],
  ['oci:/a:b/c:v1', { kind: 'oci', path: '/a:b/c', tag: 'v1' }, 'oci:/a:b/c:v1'],
  ['oci:rel/dir:t', { kind: 'oci', path: resolve('rel/dir'), tag: 't' }, `oci:${resolve('rel/dir')}:t`],
];

const BAD = [
  '', 'UPPER', 'a//b', 'a/b:', 'a/b:-bad', `a:${'x'.repeat(129)}`, 'a/b@sha256:short', 'a/b@nodigest', '/a', 'a/', 'r.io/',
  'r.io/a_-b', 'r.io:99999/a', 'r.io/a b', 'oci:', 'oci::t', 'oci:/p:bad tag', 'r.io/A', 'a..b', `r.io/${'a'.repeat(260)}`,
];

test('good references normalise as docker does and format canonically', () => {
  for (const [input, want, canonical] of GOOD) {
    const ref = parseReference(input);
    assert.deepEqual(ref, want, input);
    assert.equal(formatReference(ref), canonical, input);
    assert.deepEqual(parseReference(canonical), ref, `round trip of ${canonical}`);
  }
});

test('bad references are INVALID_ARGUMENT naming the input', () => {
  for (const input of BAD) {
    assert.throws(() => parseReference(input), (err: Error) => {
      assert.equal(codeOf(err), 'INVALID_ARGUMENT', input);
      if (input !== '') assert.ok(err.message.includes(input.slice(0, 40)), `${err.message} names ${input}`);
      return true;
    }, input);
  }
});

test('apiHost maps Docker Hub to its API host; manifestRef prefers the digest', () => {
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
  const r = parseReference(`r.io/a:t@${D}`);
  assert.ok(r.kind === 'registry');
  assert.equal(manifestRef(r), D);
  const t = parseReference('r.io/a');
  assert.ok(t.kind === 'registry');
  assert.equal(manifestRef(t), 'latest');
});
