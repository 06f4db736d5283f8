// The realistic fixture images (test/fixtures/build-images.sh), built by scripts/test.sh
// into $LAZYSNAP_FIXTURES (default /var/cache/lazysnap-fixtures) before the suite runs.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES_DIR } from './registry.js';

const run = promisify(execFile);

export const FIXTURES_OUT = process.env.LAZYSNAP_FIXTURES || '/var/cache/lazysnap-fixtures';
export const FIXTURE_LAYOUT = join(FIXTURES_OUT, 'oci');

/** A reason to skip when the fixture layout is absent, else false. */
export function fixturesMissing(): string | false {
  return existsSync(join(FIXTURE_LAYOUT, 'index.json')) ? false : `fixture images not built (run test/fixtures/build-images.sh ${FIXTURES_OUT})`;
}

export function expectedListing(tag: string): Promise<string> {
  return readFile(join(FIXTURES_OUT, 'expected', `${tag}.sha256`), 'utf8');
}

/** tree-digest.sh's canonical listing of DIR (async child process). */
export async function treeDigest(dir: string): Promise<string> {
  const { stdout } = await run('bash', [join(FIXTURES_DIR, 'tree-digest.sh'), dir], { maxBuffer: 256 * 1024 * 1024, timeout: 600_000 });
  return stdout;
}

/** First differing lines of two listings, for a readable assertion message. */
export function listingDiff(a: string, b: string, max = 10): string {
  const al = a.split('\n');
  const bl = new Set(b.split('\n'));
  const as = new Set(al);
  const onlyA = al.filter((l) => !bl.has(l)).slice(0, max);
  const onlyB = b.split('\n').filter((l) => !as.has(l)).slice(0, max);
  return `only in actual:\n${onlyA.join('\n')}\nonly in expected:\n${onlyB.join('\n')}`;
}
