// The mount server's lean entry parses its own arguments (cli/mount-server-main.ts): the
// shape the CLI and the daemon write, `[global options] mount-server [SPEC] [--spare SOCKET]`.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerArgs } from '../../cli/commands/mount-server-command.js';
import { codeOf } from '../../src/errors.js';

describe('mount server arguments', () => {
  test('global options, the command, a spec', () => {
    const a = parseServerArgs(['--state-dir', '/s', '--insecure', 'a:5000', '--insecure=b', 'mount-server', '{"x":1}']);
    assert.deepEqual(a, { global: { stateDir: '/s', insecure: ['a:5000', 'b'] }, spec: '{"x":1}' });
  });

  test('a spare names its socket', () => {
    assert.deepEqual(parseServerArgs(['--state-dir=/s', 'mount-server', '--spare', '/s/mounts/spare-1.sock']),
      { global: { stateDir: '/s' }, spare: '/s/mounts/spare-1.sock' });
  });

  test('anything else is refused by name', () => {
    for (const [argv, what] of [
      [['--state-dir', '/s'], /command name is missing/],
      [['--state-dir'], /--state-dir needs a value/],
      [['mount-server', '{}', '{}'], /unexpected argument "\{\}"/],
      [['--spare', 'x', 'mount-server'], /unexpected argument "--spare"/],
      [['mount-server', '--bogus'], /unexpected argument "--bogus"/],
    ] as const) {
      assert.throws(() => parseServerArgs(argv), (err: unknown) => codeOf(err) === 'INVALID_ARGUMENT' && what.test((err as Error).message), argv.join(' '));
    }
  });
});
