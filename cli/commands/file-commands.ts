// Reading an image's files without mounting it: ls, cat, cp. Each opens the image lazily
// (indexes only) and fetches only the named files' bytes; --stats says what that cost.

import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Runner } from '../main.js';
import type { Context } from '../context.js';
import { printJson, printLine, humanBytes } from '../output.js';
import { createProgress } from '../progress.js';
import { parsePlatform } from '../../src/image/platform.js';
import { resolveImagePath } from '../../src/image/image-paths.js';
import { invalidArgument } from '../../src/errors.js';
import type { LazyImage } from '../../src/image/lazy-image.js';
import type { TreeNode } from '../../src/tree/tree-node.js';

/** Engine modules, loaded when a command runs: `mount`, `umount` and `status` stay quick to start. */
const load = {
  lazy_image: () => import('../../src/image/lazy-image.js'),
  copy_out: () => import('../../src/image/copy-out.js'),
  chunk_store_setup: () => import('../../src/image/chunk-store-setup.js'),
};

interface ImageOpts { platform?: string; stats?: boolean; json?: boolean }

async function withImage<T>(ctx: Context, image: string, o: ImageOpts, body: (img: LazyImage) => Promise<T>): Promise<T> {
  const source = await ctx.source(image);
  const store = await (await load.chunk_store_setup()).openProcessChunkStore(ctx.stateDir);
  const progress = createProgress({ quiet: ctx.quiet, json: !!o.json });
  let img: LazyImage | undefined;
  try {
    img = await (await load.lazy_image()).LazyImage.open(source, {
      platform: o.platform ? parsePlatform(o.platform) : undefined,
      layersDir: (await load.lazy_image()).layersDir(ctx.stateDir),
      store,
      localStore: await ctx.localStore(),
      progress,
    });
    const result = await body(img);
    if (o.stats) {
      const c = img.counters;
      process.stderr.write(
        `stats: fetched ${humanBytes(source.counters.bytesFetched)} in ${source.counters.requests} requests ` +
        `(image ${humanBytes(img.compressedSize)} compressed); chunk cache ${c.cacheHits} hits, ${c.cacheMisses} misses\n`,
      );
    }
    return result;
  } finally {
    progress.close();
    await img?.close();
    await store.close();
    await source.close();
  }
}

function modeString(n: TreeNode): string {
  const t = { reg: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p' }[n.type];
  const m = n.mode;
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return t + rwx((m >> 6) & 7, !!(m & 0o4000), 's') + rwx((m >> 3) & 7, !!(m & 0o2000), 's') + rwx(m & 7, !!(m & 0o1000), 't');
}

function lsJson(name: string, n: TreeNode) {
  return {
    name, type: n.type, mode: `0${(n.mode & 0o7777).toString(8)}`, uid: n.uid, gid: n.gid, size: n.size,
    mtime: new Date(n.mtimeMs).toISOString(), nlink: n.nlink,
    ...(n.type === 'symlink' ? { linkName: n.linkName } : {}),
    ...(n.type === 'char' || n.type === 'block' ? { devMajor: n.devMajor, devMinor: n.devMinor } : {}),
  };
}

function lsLong(name: string, n: TreeNode): string {
  const size = n.type === 'char' || n.type === 'block' ? `${n.devMajor}, ${n.devMinor}` : String(n.size);
  const date = new Date(n.mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
  return `${modeString(n)} ${String(n.nlink).padStart(3)} ${String(n.uid).padStart(5)} ${String(n.gid).padStart(5)} ${size.padStart(10)} ${date} ${name}${n.type === 'symlink' ? ` -> ${n.linkName}` : ''}`;
}

/** `IMAGE:PATH` where PATH is absolute: split at the last ':/' (image refs hold ':' too). */
export function splitImagePath(arg: string): { image: string; path: string } {
  const at = arg.lastIndexOf(':/');
  if (at <= 0) throw invalidArgument(`"${arg}" is not IMAGE:PATH with an absolute PATH (e.g. debian:/etc/os-release)`);
  return { image: arg.slice(0, at), path: arg.slice(at + 1) };
}

export function registerFileCommands(program: Command, run: Runner): void {
  program
    .command('ls')
    .description("list a directory of an image (fetches the image's indexes, no file data)")
    .argument('<image>', 'image reference')
    .argument('[path]', 'path in the image', '/')
    .option('-l, --long', 'long listing (mode, links, owner, size, mtime)')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--stats', 'print what was fetched on stderr')
    .option('--json', 'one JSON document on stdout')
    .action((image: string, path: string, o: ImageOpts & { long?: boolean }) =>
      run((ctx) => withImage(ctx, image, o, async (img) => {
        const { node, path: clean } = resolveImagePath(img.tree, path, true);
        const rows: [string, TreeNode][] = node.type === 'dir' && node.children
          ? [...node.children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          : [[basename(clean) || '/', node]];
        if (o.json) return printJson({ path: `/${clean}`, entries: rows.map(([n, c]) => lsJson(n, c)) });
        for (const [name, child] of rows) printLine(o.long ? lsLong(name, child) : name);
      })),
    );

  program
    .command('cat')
    .description("print a file of an image, fetching only that file's bytes")
    .argument('<image>', 'image reference')
    .argument('<path>', 'path of a file in the image (symlinks are followed inside the image)')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--stats', 'print what was fetched on stderr')
    .action((image: string, path: string, o: ImageOpts) =>
      run((ctx) => withImage(ctx, image, o, async (img) => {
        const { node } = resolveImagePath(img.tree, path, true);
        if (node.type !== 'reg') throw invalidArgument(`${path} is a ${node.type === 'dir' ? 'directory' : node.type} in the image, not a file`);
        await pipeline(Readable.from(img.readAll(node)), process.stdout, { end: false });
      })),
    );

  program
    .command('cp')
    .description('copy a file or directory out of an image, fetching only those bytes')
    .argument('<src>', 'IMAGE:PATH (PATH absolute)')
    .argument('<dest>', 'destination path (an existing directory receives the basename)')
    .option('--platform <os/arch>', 'platform to resolve')
    .option('--stats', 'print what was fetched on stderr')
    .option('--json', 'print a JSON summary')
    .action((src: string, dest: string, o: ImageOpts) =>
      run(async (ctx) => {
        const { image, path } = splitImagePath(src);
        await withImage(ctx, image, o, async (img) => {
          const { node, path: clean } = resolveImagePath(img.tree, path, true);
          const st = await stat(dest).catch(() => undefined);
          const target = st?.isDirectory() ? join(dest, basename(clean) || 'rootfs') : dest;
          const result = await (await load.copy_out()).copyOut(img, node, target);
          if (o.json) printJson({ source: `${image}:/${clean}`, dest: target, ...result });
        });
      }),
    );
}

