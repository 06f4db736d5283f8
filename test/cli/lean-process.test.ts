// The lean entries of the daemon and the mount servers (cli/commands/lean-process.ts):
// their arguments, parsed by hand in the shape the CLI writes, and the lean heap they set
// at run time instead of node flags.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseServerArgs } from '../../cli/commands/mount-server-command.js';
import { parseLeanArgs } from '../../cli/commands/lean-process.js';
import { codeOf } from '../../src/errors.js';

const run = promisify(execFile);

describe('lean process entries', () => {
  test('global options, the command, a spec', () => {
    const a = parseServerArgs(['--state-dir', '/s', '--insecure', 'a:5000', '--insecure=b', 'mount-server', '{"x":1}']);
    assert.deepEqual(a, { global: { stateDir: '/s', insecure: ['a:5000', 'b'] }, spec: '{"x":1}' });
    assert.deepEqual(parseLeanArgs(['-q', '--state-dir=/s', 'daemon'], 'daemon'), { global: { quiet: true, stateDir: '/s' }, options: new Map(), positionals: [] });
    assert.throws(() => parseLeanArgs(['daemon', 'start'], 'daemon'), /daemon: unexpected argument "start"/);
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
      [['mount-server', '--spare'], /--spare needs a value/],
    ] as const) {
      assert.throws(() => parseServerArgs(argv), (err: unknown) => codeOf(err) === 'INVALID_ARGUMENT' && what.test((err as Error).message), argv.join(' '));
    }
  });

  test('the lean heap, set at run time, keeps the young generation from growing', async () => {
    // Children of their own: the flag is process-wide. The same churn without it is the control.
    const youngAfterChurn = async (lean: boolean): Promise<number> => {
      const script = `
        const { setLeanHeap } = await import(${JSON.stringify(new URL('../../cli/commands/lean-process.js', import.meta.url).href)});
        const { getHeapSpaceStatistics } = await import('node:v8');
        if (${lean}) setLeanHeap();
        let keep = [];
        for (let i = 0; i < 2e6; i++) { keep.push({ i }); if (keep.length > 1e5) keep = []; }
        console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`;
      return Number((await run(process.execPath, ['--input-type=module', '-e', script])).stdout);
    };
    const [lean, normal] = await Promise.all([youngAfterChurn(true), youngAfterChurn(false)]);
    assert.ok(lean <= 4 << 20, `young generation of ${lean} bytes with the lean heap`);
    assert.ok(normal > 2 * lean, `the control did not grow (${normal} bytes): the test shows nothing`);
  });
});
