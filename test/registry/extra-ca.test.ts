// NODE_EXTRA_CA_CERTS handed over as LAZYSNAP_EXTRA_CA_CERTS (src/registry/extra-ca.ts):
// what the child environments hold, and what an unreadable file does. The end-to-end case
// (a TLS registry, a mount through it) is test/cli/registry-tls.test.ts.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { delimiter } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { EXTRA_CA_VAR, extraCaContext, extraCaFiles, lazysnapChildEnv, programEnv } from '../../src/registry/extra-ca.js';

describe('extra CA certificates', () => {
  test('a lazysnap child gets NODE_EXTRA_CA_CERTS as LAZYSNAP_EXTRA_CA_CERTS, after files already there', () => {
    const env = lazysnapChildEnv({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/corp.pem', [EXTRA_CA_VAR]: `/a.pem${delimiter}/etc/corp.pem` });
    assert.equal(env.NODE_EXTRA_CA_CERTS, undefined);
    assert.equal(env.PATH, '/bin');
    assert.equal(env[EXTRA_CA_VAR], `/a.pem${delimiter}/etc/corp.pem`);
    assert.deepEqual(extraCaFiles(env), ['/a.pem', '/etc/corp.pem']);
    // Handing over twice (the daemon starting a server) changes nothing.
    assert.deepEqual(lazysnapChildEnv(env), env);
  });

  test('without NODE_EXTRA_CA_CERTS the environment passes as it is', () => {
    assert.deepEqual(lazysnapChildEnv({ PATH: '/bin' }), { PATH: '/bin' });
    assert.deepEqual(extraCaFiles({ [EXTRA_CA_VAR]: '' }), []);
  });

  test('another program gets NODE_EXTRA_CA_CERTS back (the user\'s own file, the last handed over)', () => {
    const child = lazysnapChildEnv({ NODE_EXTRA_CA_CERTS: '/etc/corp.pem', [EXTRA_CA_VAR]: '/a.pem' });
    assert.equal(programEnv(child).NODE_EXTRA_CA_CERTS, '/etc/corp.pem');
    assert.deepEqual(programEnv({ PATH: '/bin' }), { PATH: '/bin' });
    assert.equal(programEnv({ NODE_EXTRA_CA_CERTS: '/x.pem', [EXTRA_CA_VAR]: '/a.pem' }).NODE_EXTRA_CA_CERTS, '/x.pem');
  });

  test('an unreadable file is a warning naming it, and the bundled roots stay trusted', () => {
    const warnings: string[] = [];
    const ctx = extraCaContext(['/nonexistent/lazysnap-ca.pem'], {}, (m) => warnings.push(m));
    assert.ok(ctx.context, 'no TLS context');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /\/nonexistent\/lazysnap-ca\.pem \(LAZYSNAP_EXTRA_CA_CERTS\): ENOENT/);
  });
});

describe('bin/lazysnap run as a command', () => {
  // Node warns at start when NODE_EXTRA_CA_CERTS names a file it cannot read: the warning
  // shows whether node itself was given the variable.
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/lazysnap-ca.pem', LAZYSNAP_EXTRA_CA_CERTS: '/first.pem' };
  const nodeWarning = /Ignoring extra certs from `\/nonexistent\/lazysnap-ca\.pem`/;

  test('hands NODE_EXTRA_CA_CERTS over before node starts (node bin/lazysnap cannot)', async () => {
    const asCommand = await runCli(['--version'], { env, asCommand: true });
    assert.equal(asCommand.code, 0, asCommand.stderr);
    assert.match(asCommand.stdout, /^\d+\.\d+\.\d+/);
    assert.doesNotMatch(asCommand.stderr, nodeWarning, 'node was started with NODE_EXTRA_CA_CERTS');
    const throughNode = await runCli(['--version'], { env });
    assert.match(throughNode.stderr, nodeWarning, 'node no longer warns about an unreadable file: this test shows nothing');
  });

});
