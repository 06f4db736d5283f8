// Bad input gets one clear line on stderr naming what is wrong, exit 1 for the user's
// mistakes, and no hang (CLI.md). Against a real registry where one can produce the case.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, fixturesMissing } from '../helpers/fixtures.js';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `want one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, /^lazysnap: /);
  return lines[0]!;
}

describe('CLI errors', () => {
  let work: string;
  let reg: TestRegistry;
  let ref: string | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-errors-'));
    reg = await startRegistry();
    if (!fixturesMissing()) ref = await pushLayout(FIXTURE_LAYOUT, 'edge', reg, 'fixtures/edge', 'latest');
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('--help exits 0; an unknown flag exits 1', async () => {
    assert.equal((await runCli(['--help'])).code, 0);
    assert.equal((await runCli(['inspect', '--help'])).code, 0);
    assert.equal((await runCli(['inspect', 'x', '--no-such-flag'])).code, 1);
  });

  it('a malformed reference names it', async () => {
    const r = await runCli(['inspect', 'Bad::Ref@@x'], { stateDir: join(work, 's') });
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /Bad::Ref@@x/);
  });

  it('an unknown repository and an unknown tag name what is missing', async () => {
    const r1 = await runCli(['inspect', `${reg.host}/no/such-repo:v1`], { stateDir: join(work, 's') });
    assert.equal(r1.code, 1);
    assert.match(oneLine(r1.stderr), /no\/such-repo/);
    if (ref) {
      const r2 = await runCli(['inspect', `${reg.host}/fixtures/edge:no-such-tag`], { stateDir: join(work, 's') });
      assert.equal(r2.code, 1);
      assert.match(oneLine(r2.stderr), /no-such-tag/);
    }
  });

  it('a registry that is not there fails with exit 1, without hanging', async () => {
    const r = await runCli(['inspect', '127.0.0.1:1/nothing/here:v1'], { stateDir: join(work, 's'), timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /127\.0\.0\.1:1/);
  });

  it('an oci: layout that does not exist names the path', async () => {
    const r = await runCli(['inspect', `oci:${join(work, 'no-layout')}:t`], { stateDir: join(work, 's') });
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /no-layout/);
  });

  it('unpack refuses a non-empty destination and writes nothing into it', { skip: fixturesMissing() }, async () => {
    const dest = join(work, 'not-empty');
    await mkdir(dest, { recursive: true });
    await writeFile(join(dest, 'keep-me'), 'precious');
    const r = await runCli(['--quiet', 'unpack', ref!, dest], { stateDir: join(work, 's') });
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /not-empty/);
  });

  it('cat of a missing path and of a directory name the path', { skip: fixturesMissing() }, async () => {
    const r1 = await runCli(['--quiet', 'cat', ref!, '/no/such/file'], { stateDir: join(work, 's') });
    assert.equal(r1.code, 1);
    assert.match(oneLine(r1.stderr), /no\/such\/file/);
    const r2 = await runCli(['--quiet', 'cat', ref!, '/big'], { stateDir: join(work, 's') });
    assert.equal(r2.code, 1);
    assert.match(oneLine(r2.stderr), /big/);
  });
});
