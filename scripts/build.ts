/**
 * npm run build: the osk command as a few bundled ES modules under dist/ (esbuild).
 *
 * Why a bundle (issue 13): unbundled, `osk render` spent more CPU finding, reading and compiling
 * ~800 module files (package.json lookups, CommonJS export scanning) than rendering. Bundled, each
 * verb loads its entry, the shared chunks and the chunk of its action (the CLI's dynamic
 * imports become separate chunks, so help and --version still load no schemas or models).
 *
 * The entry points keep their paths, which bin/osk.js loads: dist/version.js,
 * dist/cli/main.js, dist/targets/local/supervisor-main.js. Type-checking is tsc's job
 * (npm run typecheck); esbuild only strips the types. dist/meta.json says which sources went
 * into which file.
 *
 * Then the V8 startup snapshot of validate, plan and render (scripts/snapshot.ts).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildSnapshot } from './snapshot.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts', 'src/version.ts', 'src/targets/local/supervisor-main.ts'],
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // bin/osk.js answers help and --version on the Node it was started with (Debian 12's is 20).
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // re2-wasm reads its .wasm file next to its own module: it stays in node_modules.
  external: ['re2-wasm'],
  // The npm package, as the unbundled code gets it from node_modules (ajv-formats asks for the
  // deprecated Node built-in of the same name, which warns when a file outside node_modules loads it).
  alias: { punycode: 'punycode/' },
  // Bundled CommonJS dependencies call require(): give ES modules one.
  banner: {
    js: "import { createRequire as __oskRequire } from 'node:module'; const require = __oskRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
// Which sources each file of dist/ holds: src/cli/main.test.ts checks that help loads none of the work.
writeFileSync(join(dist, 'meta.json'), JSON.stringify(result.metafile));

await buildSnapshot(root, dist);
