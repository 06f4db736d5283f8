// `prune` gives disk back: the chunk cache down to its budget, local copies of streamed
// layers, and nothing a later read cannot fetch again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, fixturesMissing } from '../helpers/fixtures.js';

describe('prune', { skip: fixturesMissing() }, () => {
  let reg: TestRegistry;
  let work: string;
  let gzipRef: string;
  let chunkedRef: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-prune-'));
    reg = await startRegistry();
    gzipRef = await pushLayout(FIXTURE_LAYOUT, 'edge', reg, 'fixtures/edge', 'gzip');
    chunkedRef = await pushLayout(FIXTURE_LAYOUT, 'edge-zstdchunked', reg, 'fixtures/edge', 'zstdchunked');
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('trims the cache to its budget, drops layer copies, and reads still work', async () => {
    const state = join(work, 'state');
    assert.equal((await runCli(['-q', 'cat', chunkedRef, '/big/random-20MiB.bin'], { stateDir: state })).code, 0);
    assert.equal((await runCli(['-q', 'cat', gzipRef, '/README'], { stateDir: state })).code, 0);
    assert.ok((await readdir(join(state, 'layers'))).some((f) => f.endsWith('.tar')));

    const trim = await runCli(['prune', '--cache-limit', '1M', '--json'], { stateDir: state });
    assert.equal(trim.code, 0, trim.stderr);
    const r = JSON.parse(trim.stdout) as { cacheBytesBefore: number; cacheBytesAfter: number; layerCopiesRemoved: number };
    assert.ok(r.cacheBytesBefore >= 20 * 1024 * 1024, `cache held ${r.cacheBytesBefore}`);
    assert.ok(r.cacheBytesAfter <= 1024 * 1024);
    assert.equal(r.layerCopiesRemoved, 2);
    assert.deepEqual((await readdir(join(state, 'layers'))).filter((f) => f.endsWith('.tar')), []);

    const again = await runCli(['-q', 'cat', gzipRef, '/README'], { stateDir: state });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /edge-case fixture/);
    assert.equal((await runCli(['prune', '--cache-limit', 'lots'], { stateDir: state })).code, 1);
  });
});
