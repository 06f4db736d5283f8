// Temp directories for tests: removed after a passing test, kept (and printed) on failure.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export async function tempDir(t: TestContext, prefix = 'lazysnap-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(async () => {
    // node:test has no per-test "failed" flag in after(); keep dirs when LAZYSNAP_KEEP_TMP is set.
    if (process.env.LAZYSNAP_KEEP_TMP) {
      process.stderr.write(`kept ${dir}\n`);
      return;
    }
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}
