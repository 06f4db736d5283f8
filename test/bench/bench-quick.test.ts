// `bench --quick` as CI runs it: it completes and writes well-formed results. Rows that
// cannot run yet are "skipped: reason" rows, which is fine here; no timing is asserted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import type { BenchReport } from '../../bench/types.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const fixtures = process.env.LAZYSNAP_FIXTURES ?? '/var/cache/lazysnap-fixtures';

function skipReason(): string | undefined {
  if (!existsSync(join(fixtures, 'oci', 'index.json'))) return `fixture layout absent: ${fixtures}/oci (run test/fixtures/build-images.sh ${fixtures})`;
  if (process.getuid?.() !== 0) return 'the bench needs root (chroot, FUSE mounts)';
  return undefined;
}

test('bench --quick completes and writes JSON, a markdown table and SVG plots', { skip: skipReason(), timeout: 600_000 }, async (t) => {
  const out = await tempDir(t, 'lazysnap-bench-quick-');
  const child = spawn(process.execPath, [join(repoRoot, 'dist/bench/main.js'), '--quick', '--out', out], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  assert.equal(code, 0, `bench exited ${code}; stderr:\n${stderr.slice(-3000)}`);
  assert.match(stderr, /\[1\/\d+\] .*run 1\/1/, 'progress names the case and the run');

  const report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchReport;
  for (const key of ['version', 'machine', 'options', 'image', 'notes', 'cases'] as const) assert.ok(key in report, `latest.json has ${key}`);
  assert.equal(report.options.quick, true);
  assert.ok(report.machine.cpuModel && report.machine.cores > 0 && report.machine.kernel && report.machine.node);
  assert.ok(report.cases.length > 0);
  for (const c of report.cases) {
    assert.ok(c.id && c.system && c.mode && c.workload, `case has its key: ${JSON.stringify(c).slice(0, 200)}`);
    assert.ok(typeof c.ratios === 'object');
    if (c.skipped) assert.equal(typeof c.skipped, 'string');
    else {
      assert.ok(c.runs.length >= 1 && c.ms && c.ms.min <= c.ms.median, `${c.id}: runs and min/median`);
    }
  }
  assert.ok(report.cases.some((c) => c.system === 'native' && !c.skipped), 'the native baseline ran');

  const md = await readFile(join(out, 'latest.md'), 'utf8');
  assert.match(md, /^\| workload \| case \|/m, 'markdown table header');
  assert.match(md, /Machine: /);
  const files = await readdir(out);
  assert.ok(files.some((f) => /^\d{4}-.*\.json$/.test(f)), 'timestamped copy');
  const svgs = files.filter((f) => f.endsWith('.svg'));
  assert.ok(svgs.length >= 1, 'at least one SVG');
  for (const f of svgs) assert.match(await readFile(join(out, f), 'utf8'), /^<svg[\s>]/);
});
