// Interop with the reference writer: stargz-snapshotter's `ctr-remote image convert
// --oci --estargz` (Debian package stargz-snapshotter) converts an image in a private
// containerd (temporary config, root, state and socket); openEstargz must read the
// result, verifying the TOC digest annotation the reference wrote, byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ANNOTATIONS } from '../../../src/image/oci-types.js';
import { openEstargz } from '../../../src/formats/estargz/open-estargz.js';
import { BufferRangeReader } from '../../../src/formats/range-reader.js';
import { tempDir } from '../../helpers/tmp.js';

const run = promisify(execFile);
const available = async (cmd: string, args: string[]) => run(cmd, args).then(() => true, () => false);
const skip = process.getuid?.() !== 0 ? 'containerd needs root'
  : !(await available('ctr-remote', ['--version'])) ? 'ctr-remote (Debian stargz-snapshotter) is not installed'
  : !(await available('containerd', ['--version'])) ? 'containerd is not installed' : undefined;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('openEstargz reads a layer converted by ctr-remote (reference eStargz writer)', { skip, timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const sock = join(dir, 'c.sock');
  await writeFile(join(dir, 'config.toml'), [
    'version = 2', `root = "${dir}/root"`, `state = "${dir}/state"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]', '[grpc]', `  address = "${sock}"`, '[ttrpc]', `  address = "${sock}.ttrpc"`,
  ].join('\n'));
  const daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
  t.after(() => { daemon.kill('SIGTERM'); });
  const ctr = (cmd: string, ...args: string[]) => run(cmd, ['-a', sock, '-n', 'lazysnap-test', ...args], { maxBuffer: 1 << 28 });
  for (let i = 0; !(await ctr('ctr', 'version').then(() => true, () => false)); i++) {
    if (i > 100) throw new Error('containerd did not start');
    await sleep(100);
  }

  // A one-layer image (gzip layer made by GNU tar) as an OCI archive.
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'etc/deep'), { recursive: true });
  const big = randomBytes(5 * 1024 * 1024 + 3);
  await writeFile(join(tree, 'big'), big);
  await writeFile(join(tree, 'etc/deep/conf'), 'key=value\n');
  await writeFile(join(tree, 'empty'), '');
  const { stdout: tar } = await run('tar', ['-C', tree, '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 28 });
  const layer = gzipSync(tar);
  const layout = join(dir, 'layout');
  await mkdir(join(layout, 'blobs/sha256'), { recursive: true });
  const put = async (b: Buffer) => { await writeFile(join(layout, 'blobs/sha256', sha256(b).slice(7)), b); return { digest: sha256(b), size: b.length }; };
  const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } })));
  const manifest = await put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await put(layer)) }],
  })));
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{
    mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest,
    annotations: { 'io.containerd.image.name': 'example.com/lazysnap/interop:orig', 'org.opencontainers.image.ref.name': 'orig' },
  }] }));
  await run('tar', ['-C', layout, '-cf', join(dir, 'image.tar'), '.']);

  await ctr('ctr', 'images', 'import', '--no-unpack', '--all-platforms', join(dir, 'image.tar'));
  await ctr('ctr-remote', 'image', 'convert', '--oci', '--estargz', '--estargz-chunk-size', String(1 << 20),
    'example.com/lazysnap/interop:orig', 'example.com/lazysnap/interop:esgz');
  await ctr('ctr', 'images', 'export', join(dir, 'out.tar'), 'example.com/lazysnap/interop:esgz');
  const out = join(dir, 'out');
  await mkdir(out);
  await run('tar', ['-C', out, '-xf', join(dir, 'out.tar')]);
  const blob = (d: string) => readFile(join(out, 'blobs/sha256', d.slice(7)));
  const index = JSON.parse((await readFile(join(out, 'index.json'))).toString()) as { manifests: Array<{ digest: string }> };
  const m = JSON.parse((await blob(index.manifests[0]!.digest)).toString()) as { layers: Array<{ digest: string; annotations?: Record<string, string> }> };
  const l = m.layers[0]!;
  const tocDigest = l.annotations?.[ANNOTATIONS.estargzTocDigest];
  assert.ok(tocDigest, 'the reference writes the TOC digest annotation');

  const lazy = await openEstargz(new BufferRangeReader(await blob(l.digest)), { tocDigest });
  assert.equal(lazy.info.noPrefetch, true, 'no prioritised files: .no.prefetch.landmark');
  const byName = new Map(lazy.entries().map((e) => [e.name, e]));
  assert.deepEqual([...byName.keys()].sort(), ['', 'big', 'empty', 'etc', 'etc/deep', 'etc/deep/conf']);
  const e = byName.get('big')!;
  assert.equal(lazy.chunks(e).length, 6);
  assert.deepEqual(await lazy.read(e, 0, e.size), big);
  assert.deepEqual(await lazy.read(e, (1 << 20) - 7, 100), big.subarray((1 << 20) - 7, (1 << 20) + 93));
  assert.equal((await lazy.read(byName.get('etc/deep/conf')!, 0, 10)).toString(), 'key=value\n');
});
