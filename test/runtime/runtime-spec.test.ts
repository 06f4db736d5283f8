// createRuntimeSpec: command, env, cwd, user, mounts and namespaces from an image config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf } from '../../src/errors.js';
import type { ImageConfig } from '../../src/image/oci-types.js';
import { createRuntimeSpec, DEFAULT_CAPABILITIES, type RuntimeSpecOptions } from '../../src/runtime/runtime-spec.js';
import { tempDir } from '../helpers/tmp.js';

type ImageFields = NonNullable<ImageConfig['config']>;

function image(fields: ImageFields): ImageConfig {
  return { architecture: 'amd64', os: 'linux', config: fields, rootfs: { type: 'layers', diff_ids: [] } };
}

/** A small root with account files, /tmp and /run, as a real image has. */
async function makeRoot(t: import('node:test').TestContext): Promise<string> {
  const root = await tempDir(t, 'lazysnap-spec-');
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'tmp'));
  await mkdir(join(root, 'run'));
  await writeFile(join(root, 'etc', 'passwd'), [
    'root:x:0:0:root:/root:/bin/sh',
    '# a comment line',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    'broken-line',
    'app:x:1000:1001:App:/home/app:/bin/sh',
    '',
  ].join('\n'));
  await writeFile(join(root, 'etc', 'group'), [
    'root:x:0:',
    'appgrp:x:1001:',
    'audio:x:29:app,daemon',
    'video:x:44:app',
    'staff:x:50:',
    '',
  ].join('\n'));
  return root;
}

const commandCases: Array<{ name: string; fields: ImageFields; args?: string[]; want: string[] }> = [
  { name: 'Cmd only', fields: { Cmd: ['sh', '-c', 'true'] }, want: ['sh', '-c', 'true'] },
  { name: 'Entrypoint only', fields: { Entrypoint: ['/init'] }, want: ['/init'] },
  { name: 'Entrypoint + Cmd', fields: { Entrypoint: ['/init', '-v'], Cmd: ['serve'] }, want: ['/init', '-v', 'serve'] },
  { name: 'args replace Cmd', fields: { Cmd: ['bash'] }, args: ['cat', '/etc/os-release'], want: ['cat', '/etc/os-release'] },
  { name: 'args keep Entrypoint', fields: { Entrypoint: ['/init'], Cmd: ['serve'] }, args: ['check'], want: ['/init', 'check'] },
  { name: 'null Entrypoint', fields: { Entrypoint: null, Cmd: ['x'] }, want: ['x'] },
  { name: 'empty args keep Entrypoint alone', fields: { Entrypoint: ['/init'], Cmd: ['serve'] }, args: [], want: ['/init'] },
];

for (const c of commandCases) {
  test(`process.args: ${c.name}`, async (t) => {
    const root = await makeRoot(t);
    const opts: RuntimeSpecOptions = { rootPath: root, ...(c.args ? { args: c.args } : {}) };
    const spec = await createRuntimeSpec(image(c.fields), opts);
    assert.deepEqual(spec.process.args, c.want);
  });
}

const emptyCommandCases: Array<{ name: string; fields: ImageFields; args?: string[] }> = [
  { name: 'no Entrypoint, no Cmd', fields: {} },
  { name: 'null both', fields: { Entrypoint: null, Cmd: null } },
  { name: 'empty args replace the only Cmd', fields: { Cmd: ['sh'] }, args: [] },
];
for (const c of emptyCommandCases) {
  test(`empty command is INVALID_ARGUMENT: ${c.name}`, async (t) => {
    const root = await makeRoot(t);
    await assert.rejects(
      createRuntimeSpec(image(c.fields), { rootPath: root, ...(c.args ? { args: c.args } : {}) }),
      (err) => codeOf(err) === 'INVALID_ARGUMENT',
    );
  });
}

test('a config without a config section needs args', async (t) => {
  const root = await makeRoot(t);
  const bare: ImageConfig = { rootfs: { type: 'layers', diff_ids: [] } };
  await assert.rejects(createRuntimeSpec(bare, { rootPath: root }), (err) => codeOf(err) === 'INVALID_ARGUMENT');
  const spec = await createRuntimeSpec(bare, { rootPath: root, args: ['true'] });
  assert.deepEqual(spec.process.args, ['true']);
  assert.equal(spec.process.cwd, '/');
});

test('env: PATH defaulted, image PATH kept, options override by key, HOME from passwd', async (t) => {
  const root = await makeRoot(t);
  const noPath = await createRuntimeSpec(image({ Cmd: ['x'], Env: ['A=1'] }), { rootPath: root });
  assert.ok(noPath.process.env.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'));
  assert.ok(noPath.process.env.includes('A=1'));
  assert.ok(noPath.process.env.includes('HOME=/root'));
  assert.ok(!noPath.process.env.some((e) => e.startsWith('TERM=')));

  const withPath = await createRuntimeSpec(image({ Cmd: ['x'], Env: ['PATH=/opt/bin', 'A=1', 'B=2', 'HOME=/data'] }),
    { rootPath: root, env: ['A=override', 'C=3=three'], terminal: true });
  assert.deepEqual(withPath.process.env, ['PATH=/opt/bin', 'A=override', 'B=2', 'HOME=/data', 'C=3=three', 'TERM=xterm']);
  assert.equal(withPath.process.terminal, true);
});

test('env: an entry without = is INVALID_ARGUMENT', async (t) => {
  const root = await makeRoot(t);
  await assert.rejects(createRuntimeSpec(image({ Cmd: ['x'] }), { rootPath: root, env: ['NOVALUE'] }),
    (err) => codeOf(err) === 'INVALID_ARGUMENT');
});

const cwdCases: Array<[string | undefined, string]> = [[undefined, '/'], ['', '/'], ['/srv/app', '/srv/app'], ['work', '/work']];
for (const [wd, want] of cwdCases) {
  test(`cwd from WorkingDir ${JSON.stringify(wd)} is ${want}`, async (t) => {
    const root = await makeRoot(t);
    const fields: ImageFields = { Cmd: ['x'], ...(wd !== undefined ? { WorkingDir: wd } : {}) };
    const spec = await createRuntimeSpec(image(fields), { rootPath: root });
    assert.equal(spec.process.cwd, want);
  });
}

const userCases: Array<{ user: string | undefined; want: { uid: number; gid: number; additionalGids?: number[] } }> = [
  { user: undefined, want: { uid: 0, gid: 0 } },
  { user: '', want: { uid: 0, gid: 0 } },
  { user: '0', want: { uid: 0, gid: 0 } },
  { user: '1000', want: { uid: 1000, gid: 1001, additionalGids: [29, 44] } }, // uid known: its gid and groups
  { user: '4242', want: { uid: 4242, gid: 0 } }, // uid unknown: gid 0, as docker
  { user: '4242:77', want: { uid: 4242, gid: 77 } },
  { user: 'app', want: { uid: 1000, gid: 1001, additionalGids: [29, 44] } },
  { user: 'daemon', want: { uid: 1, gid: 1, additionalGids: [29] } },
  { user: 'app:staff', want: { uid: 1000, gid: 50 } }, // explicit group: no supplementary groups
  { user: 'app:5', want: { uid: 1000, gid: 5 } },
  { user: '1000:appgrp', want: { uid: 1000, gid: 1001 } },
];
for (const c of userCases) {
  test(`user ${JSON.stringify(c.user)} -> ${JSON.stringify(c.want)}`, async (t) => {
    const root = await makeRoot(t);
    const fields: ImageFields = { Cmd: ['x'], ...(c.user !== undefined ? { User: c.user } : {}) };
    const spec = await createRuntimeSpec(image(fields), { rootPath: root });
    assert.deepEqual(spec.process.user, c.want);
  });
}

for (const user of ['nosuchuser', 'app:nosuchgroup', 'app:']) {
  test(`user ${JSON.stringify(user)} is INVALID_ARGUMENT`, async (t) => {
    const root = await makeRoot(t);
    await assert.rejects(createRuntimeSpec(image({ Cmd: ['x'], User: user }), { rootPath: root }),
      (err) => codeOf(err) === 'INVALID_ARGUMENT');
  });
}

test('a named user in a root without /etc/passwd is INVALID_ARGUMENT; a numeric one is fine', async (t) => {
  const root = await tempDir(t, 'lazysnap-spec-');
  await assert.rejects(createRuntimeSpec(image({ Cmd: ['x'], User: 'app' }), { rootPath: root }),
    (err) => codeOf(err) === 'INVALID_ARGUMENT');
  const spec = await createRuntimeSpec(image({ Cmd: ['x'], User: '7:8' }), { rootPath: root });
  assert.deepEqual(spec.process.user, { uid: 7, gid: 8 });
});

test('an absolute /etc/passwd symlink is read inside the root, not on the host', async (t) => {
  const root = await tempDir(t, 'lazysnap-spec-');
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'usr', 'share', 'base'), { recursive: true });
  await writeFile(join(root, 'usr', 'share', 'base', 'passwd'), 'svc:x:321:654::/var/svc:/bin/false\n');
  // On the host, /usr/share/base/passwd does not exist: only an in-root lookup finds svc.
  await symlink('/usr/share/base/passwd', join(root, 'etc', 'passwd'));
  const spec = await createRuntimeSpec(image({ Cmd: ['x'], User: 'svc' }), { rootPath: root });
  assert.deepEqual(spec.process.user, { uid: 321, gid: 654 });
  assert.ok(spec.process.env.includes('HOME=/var/svc'));
});

test('defaults: root, mounts, namespaces, capabilities, masked paths', async (t) => {
  const root = await makeRoot(t);
  const spec = await createRuntimeSpec(image({ Cmd: ['x'] }), { rootPath: root });
  assert.match(spec.ociVersion, /^1\.0\.\d+$/);
  assert.deepEqual(spec.root, { path: root, readonly: true });
  const destinations = spec.mounts.map((m) => m.destination);
  assert.deepEqual(destinations, ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/tmp', '/run']);
  // Host network: /sys must be a bind, the kernel refuses a new sysfs there.
  assert.equal(spec.mounts.find((m) => m.destination === '/sys')?.type, 'bind');
  assert.ok(spec.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.deepEqual(spec.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'pid', 'uts']);
  assert.deepEqual(spec.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
  assert.ok(spec.process.capabilities.bounding.includes('CAP_NET_BIND_SERVICE'));
  assert.ok(!spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  assert.deepEqual(spec.process.rlimits.map((r) => r.type), ['RLIMIT_NOFILE']);
  assert.equal(spec.hostname, 'lazysnap');
  // A spec is plain JSON: it survives a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
});

test('networkHost false: own network namespace and a real sysfs', async (t) => {
  const root = await makeRoot(t);
  const spec = await createRuntimeSpec(image({ Cmd: ['x'] }), { rootPath: root, networkHost: false, hostname: 'box' });
  assert.ok(spec.linux.namespaces.some((n) => n.type === 'network'));
  assert.equal(spec.mounts.find((m) => m.destination === '/sys')?.type, 'sysfs');
  assert.equal(spec.hostname, 'box');
});

test('a read-only root without /tmp or /run gets no tmpfs there; a writable one does', async (t) => {
  const root = await tempDir(t, 'lazysnap-spec-');
  const ro = await createRuntimeSpec(image({ Cmd: ['x'] }), { rootPath: root });
  assert.ok(!ro.mounts.some((m) => m.destination === '/tmp' || m.destination === '/run'));
  const rw = await createRuntimeSpec(image({ Cmd: ['x'] }), { rootPath: root, readonlyRoot: false });
  assert.equal(rw.root.readonly, false);
  assert.ok(rw.mounts.some((m) => m.destination === '/tmp' && m.type === 'tmpfs'));
  assert.ok(rw.mounts.some((m) => m.destination === '/run' && m.type === 'tmpfs'));
});

test('a relative root path is INVALID_ARGUMENT', async () => {
  await assert.rejects(createRuntimeSpec(image({ Cmd: ['x'] }), { rootPath: 'rootfs' }),
    (err) => codeOf(err) === 'INVALID_ARGUMENT');
});
