// Bundles the compiled CLI (dist/cli/main.js and everything it imports, dynamic imports
// included) into one ES module, dist/bundle/cli/main.mjs, which bin/lazysnap runs, and
// the daemon's and the mount server's own entries beside it, sharing chunks.
//
// Why: a cold `mount` starts three node processes in a row (CLI, daemon, mount server).
// Node 20 resolves and compiles each of our ~150 modules and undici's ~100 separately;
// one file cuts each process's start by about 100 ms (measured: a cold mount went from
// ~850 ms to ~650 ms). Node 20 has no module compile cache (22 does), so this is the lever.
//
// The bundle sits at the same depth as dist/cli/main.js, so URLs computed from
// import.meta.url (bin/lazysnap, dist/bench/main.js) resolve to the same files.
// Left outside: fuse-native (a native addon that finds its prebuilt binary from its own
// directory) and vega/vega-lite (only the bench's plots load them).

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  // The CLI, and the lean entries of the daemon and of every mount server
  // (cli/commands/lean-process.ts says why).
  entryPoints: { main: 'dist/cli/main.js', 'daemon-main': 'dist/cli/daemon-main.js', 'mount-server-main': 'dist/cli/mount-server-main.js' },
  outdir: 'dist/bundle/cli',
  outExtension: { '.js': '.mjs' },
  // Each dynamic import becomes its own chunk: a process loads only what its command uses
  // (the daemon and `mount` never parse undici).
  splitting: true,
  chunkNames: '[name]-[hash]', // beside main.mjs: same depth for import.meta.url
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['fuse-native', 'vega', 'vega-lite'],
  // CommonJS dependencies (undici, commander) call require(); an ES module has none.
  banner: { js: "import { createRequire as __lazysnapCreateRequire } from 'node:module'; const require = __lazysnapCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
