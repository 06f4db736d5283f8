// Interoperability of `lazysnap convert` with the reference lazy loader: stargz-snapshotter's
// own FUSE store (../shared/peers/stargz/stargz-mount.sh) mounts the eStargz image that
// lazysnap wrote, verifying every layer against its TOC digest, and shows the same tree as
// `umoci unpack` of the source image (times aside: the peer's overlay sets its own).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, startRegistry, pushLayout, type TestRegistry } from '../helpers/registry.js';
import { FIXTURE_LAYOUT, expectedListing, fixturesMissing, listingDiff, treeDigest } from '../helpers/fixtures.js';

const run = promisify(execFile);
const PEER = resolve(REPO_ROOT, '..', 'shared', 'peers', 'stargz', 'stargz-mount.sh');
const skip = fixturesMissing() || (existsSync(PEER) ? false : `the stargz peer is not at ${PEER}`) ||
  (process.getuid?.() !== 0 ? 'the peer needs root' : false);

/** Drops the mtime column (8th) of a tree-digest listing. */
const noTimes = (listing: string) => listing.split('\n').map((l) => l.split('\t').filter((_, i) => i !== 7).join('\t')).join('\n');

describe('stargz-snapshotter reads what lazysnap convert writes', { skip, timeout: 900_000 }, () => {
  let reg: TestRegistry;
  let work: string;
  let peerRoot: string | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lazysnap-interop-'));
    reg = await startRegistry();
  });
  after(async () => {
    if (peerRoot) await run('bash', [PEER, 'umount', peerRoot]).catch(() => {});
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the edge image converted to eStargz mounts in the peer and equals umoci unpack', async () => {
    const src = await pushLayout(FIXTURE_LAYOUT, 'edge', reg, 'fixtures/edge', 'gzip');
    const dst = `${reg.host}/fixtures/edge:estargz`;
    const conv = await runCli(['--quiet', 'convert', src, dst], { stateDir: join(work, 'state') });
    assert.equal(conv.code, 0, conv.stderr);
    peerRoot = join(work, 'peer-rootfs');
    const { stdout } = await run('bash', [PEER, 'mount', dst, peerRoot], { timeout: 600_000, maxBuffer: 16 << 20 });
    assert.match(stdout, /"rootfs"/);
    const [actual, expected] = await Promise.all([treeDigest(peerRoot), expectedListing('edge')]);
    assert.ok(noTimes(actual) === noTimes(expected), listingDiff(noTimes(actual), noTimes(expected)));
  });
});
