// resolveInRoot: symlinks followed inside the root, never out of it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf } from '../../src/errors.js';
import { resolveInRoot } from '../../src/runtime/resolve-in-root.js';
import { tempDir } from '../helpers/tmp.js';

test('links resolve inside the root', async (t) => {
  const root = await tempDir(t, 'lazysnap-resolve-');
  await mkdir(join(root, 'usr', 'lib'), { recursive: true });
  await symlink('/usr/lib', join(root, 'lib'));           // absolute: from the root
  await symlink('../../etc', join(root, 'usr', 'lib', 'up')); // relative, climbing
  await symlink('/../../../../etc/shadow', join(root, 'escape'));
  const cases: Array<[string, string]> = [
    ['/etc/passwd', join(root, 'etc', 'passwd')],
    ['/lib/x', join(root, 'usr', 'lib', 'x')],
    ['/lib/up/group', join(root, 'etc', 'group')],
    ['/escape', join(root, 'etc', 'shadow')],
    ['/../../etc/passwd', join(root, 'etc', 'passwd')],
    ['/lib/../y', join(root, 'usr', 'y')], // ".." after a link climbs from its target
    ['/missing/../z', join(root, 'z')],
  ];
  for (const [input, want] of cases) assert.equal(await resolveInRoot(root, input), want, input);
});

test('a link loop is INVALID_ARGUMENT', async (t) => {
  const root = await tempDir(t, 'lazysnap-resolve-');
  await symlink('/b', join(root, 'a'));
  await symlink('/a', join(root, 'b'));
  await assert.rejects(resolveInRoot(root, '/a/x'), (err) => codeOf(err) === 'INVALID_ARGUMENT');
});
