// bench/lazy-read.ts on its own: `node dist/bench/lazy-read.js [--runs N] [--out DIR]`.
// Starts a throwaway registry, pushes the python fixture (gzip) and lazysnap's eStargz
// conversion of it, measures, prints the section's table (and DIR/lazy-read.json).

import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupAll, cleanupOnSignals, isAborted } from './cleanup.js';
import { Lazysnap } from './lazysnap-cli.js';
import { lazyRead } from './lazy-read.js';
import { pushFromLayout, startRegistry } from './registry-fixtures.js';
import { renderLazyRead } from './report-markdown.js';
import { workloads } from './workloads.js';

export async function standalone(): Promise<void> {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, out: { type: 'string' } } });
  cleanupOnSignals();
  try {
    const fixtures = process.env.LAZYSNAP_FIXTURES ?? '/var/cache/lazysnap-fixtures';
    const registry = await startRegistry(repoRoot);
    const host = registry.host;
    await pushFromLayout(join(fixtures, 'oci'), 'python', `${host}/fixtures/python:gzip`);
    const ls = await Lazysnap.create(repoRoot);
    try {
      const list = join(repoRoot, 'bench', 'prefetch', 'python.txt');
      await ls.cli(['convert', `${host}/fixtures/python:gzip`, `${host}/fixtures/python:estargz`, '--format', 'estargz', '--prefetch-list', list]);
    } finally {
      await ls.close();
    }
    const report = await lazyRead({
      repoRoot, host, estargz: 'fixtures/python:estargz', gzip: 'fixtures/python:gzip',
      importJson: workloads(undefined).find((w) => w.name === 'python-import-json'), runs: Number(values.runs),
    });
    if (values.out) {
      await mkdir(resolve(values.out), { recursive: true });
      await writeFile(join(resolve(values.out), 'lazy-read.json'), `${JSON.stringify(report, null, 2)}\n`);
    }
    process.stdout.write(renderLazyRead(report));
    await cleanupAll();
  } catch (err) {
    if (isAborted()) await new Promise(() => {});
    process.stderr.write(`bench: lazy-read: ${(err as Error).stack ?? err}\n`);
    await cleanupAll();
    process.exit(2);
  }
}
