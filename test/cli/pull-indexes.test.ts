// `pull` without --all fetches the layer indexes (TOCs) into the chunk cache: a later read
// of the image does not fetch them again, and pull reports each layer's lazy format.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, fixturesMissing } from '../helpers/fixtures.js';

/** Bytes from `--stats`: "fetched 1.2 MiB in ..." -> bytes (approximately). */
function fetched(stderr: string): number {
  const m = /fetched ([\d.]+) (B|KiB|MiB)/.exec(stderr);
  assert.ok(m, `no stats line in: ${stderr}`);
  return Number(m[1]) * { B: 1, KiB: 1024, MiB: 1024 * 1024 }[m[2] as 'B' | 'KiB' | 'MiB'];
}

describe('pull fetches the layer indexes', { skip: fixturesMissing() }, () => {
  let reg: TestRegistry;
  let work: string;
  let ref: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-pullidx-'));
    reg = await startRegistry();
    const src = await pushLayout(FIXTURE_LAYOUT, 'python', reg, 'fixtures/python', 'gzip');
    ref = `${reg.host}/fixtures/python:estargz`;
    const conv = await runCli(['--quiet', 'convert', src, ref], { stateDir: join(work, 'convert') });
    assert.equal(conv.code, 0, conv.stderr);
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a read after pull fetches no TOC', async () => {
    const cold = await runCli(['-q', 'cat', ref, '/etc/os-release', '--stats'], { stateDir: join(work, 'cold') });
    assert.equal(cold.code, 0, cold.stderr);
    const state = join(work, 'pulled');
    const pull = await runCli(['-q', 'pull', ref, '--json'], { stateDir: state });
    assert.equal(pull.code, 0, pull.stderr);
    const layers = (JSON.parse(pull.stdout) as { layers: { format: string; present: boolean }[] }).layers;
    assert.deepEqual(layers.map((l) => [l.format, l.present]), [['estargz', false], ['estargz', false]]);
    const warm = await runCli(['-q', 'cat', ref, '/etc/os-release', '--stats'], { stateDir: state });
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(warm.stdout, cold.stdout);
    // The two TOCs are about 0.4 MB: without them the read is well under the cold one.
    assert.ok(fetched(warm.stderr) < fetched(cold.stderr) - 256 * 1024, `cold ${cold.stderr} / after pull ${warm.stderr}`);
  });
});
