// A registry over HTTPS with a certificate of its own, trusted through NODE_EXTRA_CA_CERTS,
// as users of a private registry set it. lazysnap hands that variable to the daemon and
// mount servers it starts as LAZYSNAP_EXTRA_CA_CERTS (node would load it at each
// process's start: ~60 ms here), and they load it on their first TLS connection
// (src/registry/extra-ca.ts). The mount must work exactly as with the variable, and fail
// with a certificate error without the right CA.
//
// Real components: Debian's docker-registry serving TLS, a certificate made by openssl.
// The registry listens on this machine's first non-loopback IPv4 address (lazysnap speaks
// plain HTTP to loopback hosts, so TLS needs another address); skipped when there is none.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.js';
import { pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, fixturesMissing } from '../helpers/fixtures.js';
import { killMentioning } from '../daemon/processes.js';

const run = promisify(execFile);

function nonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

const IP = nonLoopbackIPv4();
const skip = fixturesMissing() || (process.getuid?.() !== 0 ? 'mounting needs root here' : false)
  || (IP === undefined ? 'no non-loopback IPv4 address to serve TLS on' : false);

/** A port free on `ip` right now (the registry's config wants a fixed one). */
function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, ip, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET https://host/v2/ trusting `ca`: the status code, or undefined while it does not answer. */
function v2Status(host: string, ca: Buffer): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(`https://${host}/v2/`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Makes a self-signed certificate for `ip` in `dir`: its cert.pem and key.pem paths. */
async function selfSigned(dir: string, name: string, ip: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=lazysnap test ${name}`,
    '-addext', `subjectAltName=IP:${ip}`, '-keyout', key, '-out', cert], { timeout: 60_000 });
  return { cert, key };
}

async function isMounted(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === path);
}

/** The NAME=VALUE environment of a running process. */
async function environOf(pid: number): Promise<Map<string, string>> {
  const text = await readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(text.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

describe('a registry over TLS, trusted through NODE_EXTRA_CA_CERTS', { skip, timeout: 600_000 }, () => {
  let work: string;
  let registry: ChildProcess | undefined;
  let host: string;
  let ca: { cert: string; key: string };
  let other: { cert: string; key: string };
  let ref: string;
  const states: string[] = [];
  const mounted: string[] = [];
  // The variables under test come from each case, never from the machine running the suite.
  const baseEnv = (): NodeJS.ProcessEnv => {
    const { NODE_EXTRA_CA_CERTS: _n, LAZYSNAP_EXTRA_CA_CERTS: _l, LAZYSNAP_INSECURE: _i, ...rest } = process.env;
    return rest;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-tls-'));
    ca = await selfSigned(work, 'registry', IP!);
    other = await selfSigned(work, 'other', IP!);
    host = `${IP}:${await freePort(IP!)}`;
    await mkdir(join(work, 'storage'));
    await writeFile(join(work, 'config.yml'), [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: "${join(work, 'storage')}" } }`,
      'http:',
      `  addr: ${host}`,
      `  tls: { certificate: "${ca.cert}", key: "${ca.key}" }`,
      '',
    ].join('\n'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
    registry = spawn('docker-registry', ['serve', join(work, 'config.yml')], { env, stdio: 'ignore' });
    const cert = await readFile(ca.cert);
    for (let i = 0; i < 300 && (await v2Status(host, cert)) !== 200; i++) {
      assert.equal(registry.exitCode, null, 'docker-registry exited');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await v2Status(host, cert), 200, `docker-registry does not answer on https://${host}/v2/`);
    const reg: TestRegistry = { host, dir: work, stop: async () => {} };
    ref = await pushLayout(FIXTURE_LAYOUT, 'edge-zstdchunked', reg, 'fixtures/edge', 'zstdchunked');
  });
  after(async () => {
    for (const m of mounted) if (await isMounted(m)) await run('fusermount3', ['-u', '-z', m]).catch(() => {});
    for (const s of states) await runCli(['daemon', 'stop', '--all'], { stateDir: s }).catch(() => {});
    for (const s of states) await killMentioning(s);
    registry?.kill();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('mounts with the CA in NODE_EXTRA_CA_CERTS; the daemon and the server get it as LAZYSNAP_EXTRA_CA_CERTS', async () => {
    const state = join(work, 'state-trusted');
    states.push(state);
    const mnt = join(work, 'mnt-trusted');
    await mkdir(mnt);
    const env = { ...baseEnv(), NODE_EXTRA_CA_CERTS: ca.cert };
    const r = await runCli(['mount', '--prefetch', 'none', ref, mnt], { stateDir: state, env, asCommand: true });
    assert.equal(r.code, 0, r.stderr);
    mounted.push(mnt);
    // Content read through the server's own TLS connections.
    const { stdout } = await run('sh', ['-c', 'find "$1" -type f -size +0 | head -n 3 | xargs cat | wc -c', 'sh', mnt]);
    assert.ok(Number(stdout.trim()) > 0, 'nothing read from the mount');
    const st = await runCli(['status', '--json'], { stateDir: state, env });
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { daemon: { pid: number }; mounts: { serverPid: number; bytesFetched: number; errors: number }[] };
    assert.ok(s.mounts[0]!.bytesFetched > 0);
    assert.equal(s.mounts[0]!.errors, 0);
    for (const [who, pid] of [['daemon', s.daemon.pid], ['mount server', s.mounts[0]!.serverPid]] as const) {
      const e = await environOf(pid);
      assert.equal(e.get('NODE_EXTRA_CA_CERTS'), undefined, `the ${who} was started with NODE_EXTRA_CA_CERTS`);
      assert.equal(e.get('LAZYSNAP_EXTRA_CA_CERTS'), ca.cert, `the ${who} did not get the CA file`);
    }
    const um = await runCli(['umount', mnt], { stateDir: state, env });
    assert.equal(um.code, 0, um.stderr);
  });

  it('run as a command, the CLI itself trusts the CA it handed over to itself, and only that one', async () => {
    // bin/lazysnap's shell line moves NODE_EXTRA_CA_CERTS to LAZYSNAP_EXTRA_CA_CERTS before
    // node starts: the CLI's own requests (inspect) must trust exactly what node would have.
    const trusted = await runCli(['--quiet', 'inspect', ref, '--json'], { env: { ...baseEnv(), NODE_EXTRA_CA_CERTS: ca.cert }, asCommand: true });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.ok((JSON.parse(trusted.stdout) as { layers: unknown[] }).layers.length > 0);
    const untrusted = await runCli(['--quiet', 'inspect', ref], { env: { ...baseEnv(), NODE_EXTRA_CA_CERTS: other.cert }, asCommand: true });
    assert.notEqual(untrusted.code, 0, 'inspected a registry whose certificate nobody trusts');
    assert.match(untrusted.stderr, /certificate/i);
  });

  it('fails with a certificate error when NODE_EXTRA_CA_CERTS names another CA, and leaves nothing mounted', async () => {
    const state = join(work, 'state-untrusted');
    states.push(state);
    const mnt = join(work, 'mnt-untrusted');
    await mkdir(mnt);
    const r = await runCli(['mount', '--prefetch', 'none', ref, mnt], { stateDir: state, env: { ...baseEnv(), NODE_EXTRA_CA_CERTS: other.cert } });
    assert.notEqual(r.code, 0, 'mounted from a registry whose certificate nobody trusts');
    assert.match(r.stderr, /certificate/i);
    assert.equal(await isMounted(mnt), false);
  });
});
