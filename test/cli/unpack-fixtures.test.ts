// Issue 3's acceptance: `unpack` of every fixture image (gzip, zstd, zstd:chunked) from a
// REAL docker-registry equals `umoci unpack` of the same image (tree-digest listings made by
// build-images.sh), with and without a password-protected registry; inspect and pull agree.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, expectedListing, fixturesMissing, listingDiff, treeDigest } from '../helpers/fixtures.js';

const skip = fixturesMissing();

// Which fixture tags to check here: every edge-case variant, plus the big images once
// per compression so the suite stays within its time budget.
const CASES: { tag: string; base: string; format: string }[] = [
  { tag: 'edge', base: 'edge', format: 'gzip' },
  { tag: 'edge-zstd', base: 'edge', format: 'zstd' },
  { tag: 'edge-zstdchunked', base: 'edge', format: 'zstd-chunked' },
  { tag: 'debian', base: 'debian', format: 'gzip' },
  { tag: 'python-zstd', base: 'python', format: 'zstd' },
  { tag: 'python-zstdchunked', base: 'python', format: 'zstd-chunked' },
];

describe('unpack fixture images from a real registry', { skip }, () => {
  let reg: TestRegistry;
  let work: string;
  const refs = new Map<string, string>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-unpack-'));
    reg = await startRegistry();
    for (const c of CASES) refs.set(c.tag, await pushLayout(FIXTURE_LAYOUT, c.tag, reg, `fixtures/${c.base}`, c.tag));
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.tag}: inspect names the ${c.format} format, unpack equals umoci's`, async () => {
      const state = join(work, `state-${c.tag}`);
      const ref = refs.get(c.tag)!;
      const insp = await runCli(['inspect', ref, '--json'], { stateDir: state });
      assert.equal(insp.code, 0, insp.stderr);
      const info = JSON.parse(insp.stdout) as { layers: { format: string }[] };
      assert.ok(info.layers.length >= 1);
      for (const l of info.layers) assert.equal(l.format, c.format);

      const dest = join(work, `rootfs-${c.tag}`);
      const r = await runCli(['--quiet', 'unpack', ref, dest], { stateDir: state });
      assert.equal(r.code, 0, r.stderr);
      const [actual, expected] = await Promise.all([treeDigest(dest), expectedListing(c.base)]);
      assert.ok(actual === expected, `${c.tag} differs from umoci unpack:\n${listingDiff(actual, expected)}`);
      await rm(dest, { recursive: true, force: true });
    });
  }

  it('pull fetches metadata only; pull --all stores every layer blob', async () => {
    const state = join(work, 'state-pull');
    const ref = refs.get('edge')!;
    const meta = await runCli(['--quiet', 'pull', ref, '--json'], { stateDir: state });
    assert.equal(meta.code, 0, meta.stderr);
    const m = JSON.parse(meta.stdout) as { layers: { digest: string; present: boolean }[] };
    assert.ok(m.layers.every((l) => !l.present));
    const all = await runCli(['--quiet', 'pull', '--all', ref, '--json'], { stateDir: state });
    assert.equal(all.code, 0, all.stderr);
    const again = await runCli(['--quiet', 'pull', '--all', ref, '--json'], { stateDir: state });
    const a = JSON.parse(again.stdout) as { layers: { present: boolean }[] };
    assert.ok(a.layers.every((l) => l.present), 'a second pull --all finds every layer present');
    // What pull --all stored is what unpack reads: only the manifest and config cross the wire.
    const dest = join(work, 'rootfs-after-pull');
    const up = await runCli(['--quiet', 'unpack', ref, dest, '--json'], { stateDir: state });
    assert.equal(up.code, 0, up.stderr);
    const summary = JSON.parse(up.stdout) as { bytesFetched: number };
    assert.ok(summary.bytesFetched < 64 * 1024, `unpack after pull --all fetched ${summary.bytesFetched} bytes`);
    const [actual, expected] = await Promise.all([treeDigest(dest), expectedListing('edge')]);
    assert.ok(actual === expected, listingDiff(actual, expected));
  });
});

describe('a password-protected registry', { skip }, () => {
  let reg: TestRegistry;
  let work: string;
  let ref: string;
  const auth = { user: 'lazy', pass: 's3cret-pass' };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-auth-'));
    reg = await startRegistry({ auth });
    ref = await pushLayout(FIXTURE_LAYOUT, 'edge', reg, 'private/edge', 'v1');
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses without credentials (exit 1, one line naming the registry)', async () => {
    const docker = join(work, 'docker-empty');
    await mkdir(docker, { recursive: true });
    const r = await runCli(['inspect', ref], { stateDir: join(work, 's1'), env: { DOCKER_CONFIG: docker } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(reg.host.replace(/\./g, '\\.')));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('login with a wrong password fails; with the right one, unpack equals umoci', async () => {
    const docker = join(work, 'docker-login');
    await mkdir(docker, { recursive: true });
    await writeFile(join(docker, 'config.json'), '{}');
    const bad = await runCli(['login', reg.host, '-u', auth.user, '--password-stdin'], { env: { DOCKER_CONFIG: docker }, input: 'wrong\n' });
    assert.equal(bad.code, 1, bad.stderr);
    const ok = await runCli(['login', reg.host, '-u', auth.user, '--password-stdin'], { env: { DOCKER_CONFIG: docker }, input: `${auth.pass}\n` });
    assert.equal(ok.code, 0, ok.stderr);
    const dest = join(work, 'rootfs');
    const r = await runCli(['--quiet', 'unpack', ref, dest], { stateDir: join(work, 's2'), env: { DOCKER_CONFIG: docker } });
    assert.equal(r.code, 0, r.stderr);
    const [actual, expected] = await Promise.all([treeDigest(dest), expectedListing('edge')]);
    assert.ok(actual === expected, listingDiff(actual, expected));
  });
});
