// One suite for every LayerIndex: the same trees, built as plain tars by GNU tar, are
// handed to a factory that turns tar bytes into an index of its format (the tar itself,
// an eStargz written from it, a zstd:chunked made by skopeo). The oracle is the tar:
// parseTarStream's entries and payloads. Every byte of every file is compared, whole and
// at unaligned offsets across chunk boundaries.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, link, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { codeOf } from '../../src/errors.js';
import type { LayerEntry } from '../../src/formats/layer-entry.js';
import type { LayerIndex } from '../../src/formats/layer-index.js';
import { parseTarStream } from '../../src/formats/tar/parse-tar-stream.js';

const run = promisify(execFile);

export interface OpenedIndex {
  readonly index: LayerIndex;
  close(): Promise<void>;
}

export type OpenIndex = (tarBytes: Buffer) => Promise<OpenedIndex>;

interface Tree {
  readonly name: string;
  readonly tar: Buffer;
  /** The oracle: entries in tar order and each regular file's content. */
  readonly entries: readonly LayerEntry[];
  readonly contents: ReadonlyMap<string, Buffer>;
}

const LONG_NAME = `deep/${'a'.repeat(90)}/${'b'.repeat(90)}/file-with-a-long-name.txt`;

/** Builds the trees once per process (GNU tar, PAX format, whole-second mtimes). */
let treesPromise: Promise<Tree[]> | undefined;
function trees(): Promise<Tree[]> {
  treesPromise ??= buildTrees();
  return treesPromise;
}

async function buildTrees(): Promise<Tree[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lazysnap-suite-'));
  try {
    const small = join(dir, 'small');
    await mkdir(join(small, 'etc/conf.d'), { recursive: true });
    await mkdir(join(small, 'deep', 'a'.repeat(90), 'b'.repeat(90)), { recursive: true });
    await mkdir(join(small, 'empty-dir'));
    await writeFile(join(small, 'etc/empty'), '');
    await writeFile(join(small, 'etc/one'), 'x');
    await writeFile(join(small, 'etc/conf.d/four-k'), randomBytes(4096));
    await writeFile(join(small, LONG_NAME), 'long name\n');
    await writeFile(join(small, '.wh.gone'), '');
    await symlink('../etc/one', join(small, 'etc/conf.d/link'));
    await symlink('/absolute/target', join(small, 'abs-link'));
    await link(join(small, 'etc/conf.d/four-k'), join(small, 'hard-four-k'));

    const big = join(dir, 'big');
    await mkdir(join(big, 'data'), { recursive: true });
    await writeFile(join(big, 'data/five-mib'), Buffer.concat([randomBytes(3 << 20), Buffer.alloc(2 << 20, 7)]));
    await writeFile(join(big, 'data/twenty-mib'), randomBytes(20 << 20));
    await writeFile(join(big, 'data/after'), 'after the big ones\n');
    await link(join(big, 'data/five-mib'), join(big, 'five-again'));

    const out: Tree[] = [];
    for (const [name, root, extra] of [
      ['small tree (PAX long name, xattr, links, empty files)', small, ['--pax-option=SCHILY.xattr.user.lazysnap:=suite-value']],
      ['big tree (5 MiB and 20 MiB files)', big, []],
    ] as const) {
      const tarPath = join(dir, `${out.length}.tar`);
      await run('tar', ['--format=pax', '--pax-option=delete=atime,delete=ctime', '--mtime=@1700000000', '--sort=name',
        '--owner=0', '--group=0', '--numeric-owner', ...extra, '-C', root, '-cf', tarPath, '.']);
      const tar = await readFile(tarPath);
      out.push({ name, tar, ...(await oracle(tar)) });
    }
    // The trees must exercise what they claim, or the suite proves less than it says.
    const [s, b] = out as [Tree, Tree];
    assert.ok(s.entries.some((e) => e.name === LONG_NAME), 'PAX long name');
    assert.ok(s.entries.some((e) => e.xattrs['user.lazysnap']?.toString() === 'suite-value'), 'xattr');
    assert.ok(s.entries.some((e) => e.type === 'hardlink') && s.entries.some((e) => e.type === 'symlink'), 'links');
    assert.equal(b.contents.get('data/twenty-mib')?.length, 20 << 20, '20 MiB file');
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function oracle(tar: Buffer): Promise<{ entries: LayerEntry[]; contents: Map<string, Buffer> }> {
  const entries: LayerEntry[] = [];
  const contents = new Map<string, Buffer>();
  for await (const item of parseTarStream(bytes(tar))) {
    entries.push(item.entry);
    if (item.entry.type === 'reg') {
      const parts: Buffer[] = [];
      for await (const p of item.body) parts.push(Buffer.from(p));
      contents.set(item.entry.name, Buffer.concat(parts));
    }
  }
  return { entries, contents };
}

/** The fields every format must carry (mtime to the second: TOCs store RFC 3339). */
function comparable(e: LayerEntry) {
  return {
    name: e.name, type: e.type, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid,
    mtime: Math.floor(e.mtimeMs / 1000), linkName: e.linkName, devMajor: e.devMajor, devMinor: e.devMinor,
    xattrs: Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, v.toString('hex')])),
  };
}

async function* bytes(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export interface SuiteOptions {
  /** Cases to skip, by case name, with the reason printed. */
  skip?: Readonly<Record<string, string>>;
}

export function layerIndexSuite(name: string, open: OpenIndex, opts: SuiteOptions = {}): void {
  describe(`layerIndexSuite: ${name}`, () => {
    const opened: Array<{ tree: Tree; index: LayerIndex; close(): Promise<void> }> = [];
    before(async () => {
      for (const tree of await trees()) opened.push({ tree, ...(await open(tree.tar)) });
    });
    after(async () => {
      for (const o of opened) await o.close();
    });
    const cases: Record<string, (tree: Tree, index: LayerIndex) => Promise<void>> = {
      'entries match the tar, in order': async (tree, index) => {
        assert.deepEqual(index.entries().map(comparable), tree.entries.map(comparable));
      },
      'every byte of every file matches': async (tree, index) => {
        for (const e of index.entries()) {
          if (e.type !== 'reg') continue;
          const want = tree.contents.get(e.name)!;
          assert.ok(want, `oracle has ${e.name}`);
          assert.ok((await index.read(e, 0, e.size)).equals(want), `content of ${e.name}`);
          if (e.digest !== undefined) assert.equal(e.digest, sha256(want), `digest of ${e.name}`);
        }
      },
      'unaligned reads across chunk boundaries match': async (tree, index) => {
        for (const e of index.entries()) {
          if (e.type !== 'reg' || e.size < 2) continue;
          const want = tree.contents.get(e.name)!;
          const points = [0, 1, e.size - 1, ...index.chunks(e).flatMap((c) => [c.fileOffset - 3, c.fileOffset + 5])]
            .filter((p) => p >= 0 && p < e.size);
          for (const p of points.slice(0, 24)) {
            const len = Math.min(e.size - p, 7 + (p % 100_003));
            assert.ok((await index.read(e, p, len)).equals(want.subarray(p, p + len)), `${e.name} at ${p}+${len}`);
          }
        }
      },
      'chunks tile each regular file, none elsewhere': async (_tree, index) => {
        for (const e of index.entries()) {
          const chunks = index.chunks(e);
          if (e.type !== 'reg') {
            if (e.type !== 'hardlink') assert.equal(chunks.length, 0, `${e.name} (${e.type}) has no chunks`);
            continue;
          }
          let next = 0;
          for (const c of chunks) {
            assert.equal(c.fileOffset, next, `${e.name} chunk at ${next}`);
            assert.ok(c.size > 0);
            next += c.size;
          }
          assert.equal(next, e.size, `${e.name} chunks cover the file`);
        }
      },
      'hardlinks read their target': async (tree, index) => {
        const links = index.entries().filter((e) => e.type === 'hardlink');
        assert.ok(links.length > 0);
        for (const l of links) {
          const target = tree.contents.get(l.linkName)!;
          assert.ok((await index.read(l, 0, target.length)).equals(target), `${l.name} -> ${l.linkName}`);
        }
      },
      'a read past the end is INVALID_ARGUMENT': async (_tree, index) => {
        const e = index.entries().find((x) => x.type === 'reg' && x.size > 0)!;
        await assert.rejects(index.read(e, e.size - 1, 2), (err) => codeOf(err) === 'INVALID_ARGUMENT');
        await assert.rejects(index.read(e, -1, 1), (err) => codeOf(err) === 'INVALID_ARGUMENT');
      },
    };
    for (const [caseName, fn] of Object.entries(cases)) {
      const skip = opts.skip?.[caseName];
      test(caseName, skip ? { skip } : {}, async () => {
        assert.ok(opened.length > 0, 'trees opened');
        for (const o of opened) {
          await fn(o.tree, o.index).catch((err: unknown) => {
            throw new Error(`${o.tree.name}: ${(err as Error).message}`, { cause: err });
          });
        }
      });
    }
  });
}

export { LONG_NAME as SUITE_LONG_NAME };
