/**
 * The V8 startup snapshot of the file verbs (validate, plan, render; issue 13), built by
 * npm run build into dist/snapshot/: src/cli/snapshot-main.ts bundled into one script,
 * `node --build-snapshot` run on it with the project's own Node (the npm `node` package), which
 * writes osk.blob, and snapshot.json naming that Node. A blob only starts on the very Node
 * version that wrote it, so bin/osk.js uses it only when it runs on that version and otherwise
 * loads dist/ as before; without the project's Node, no snapshot is built.
 *
 * Why a snapshot: a one-shot `osk render` spent most of its CPU loading, evaluating and
 * compiling the bundle (zod, yaml, the catalog), not rendering. Started from the snapshot, that
 * work was done once, at build time, and the warm-up render compiled the functions it runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** What the snapshot's verbs import when they run (main.ts, io.ts); every other verb's work stays out. */
const KEPT_DYNAMIC_IMPORTS = /\/(file-actions|load|cloud-file)\.js$/;

/**
 * A V8 snapshot has no module loader, so the bundle must be one file: esbuild inlines the CLI's
 * dynamic imports into it. Those of the other verbs (Kubernetes and OpenStack clients, undici)
 * would double the heap every start deserialises, and they never run from the snapshot
 * (bin/osk.js starts only the file verbs from it): each becomes a module that throws.
 */
const otherVerbsLeftOut: Plugin = {
  name: 'other-verbs-left-out',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) =>
      a.kind === 'dynamic-import' && !KEPT_DYNAMIC_IMPORTS.test(a.path)
        ? { path: a.path, namespace: 'left-out' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is not in osk's snapshot (scripts/snapshot.ts)`)});`,
      loader: 'js',
    }));
  },
};

/** The project's Node binary, or undefined when the npm `node` package is not installed. */
function projectNode(root: string): string | undefined {
  try {
    const path = createRequire(join(root, 'package.json')).resolve('node/bin/node');
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Node warns that child_process is not verified in snapshots: commander imports it for
 * subcommands run as separate programs, which osk has none of. Any other output is shown.
 */
const KNOWN_WARNING =
  /^\(node:\d+\) Warning: It's not yet fully verified whether built-in module "node:child_process" works in user snapshot builder scripts\.\n.*\n.*\n(\(Use `node --trace-warnings.*\n)?/m;

export async function buildSnapshot(root: string, dist: string): Promise<void> {
  const node = projectNode(root);
  if (!node) {
    console.warn('no V8 snapshot: the npm `node` package is missing (npm ci installs it); osk loads dist/ instead');
    return;
  }
  const dir = join(dist, 'snapshot');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'main.cjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/cli/snapshot-main.ts'],
    outfile: script,
    bundle: true,
    // A plain script: the snapshot builder runs it with require() for Node's modules but no module object.
    format: 'iife',
    platform: 'node',
    target: 'node22',
    external: ['re2-wasm'],
    alias: { punycode: 'punycode/' },
    plugins: [otherVerbsLeftOut],
    // The bundle's source lives in the heap every start reads and deserialises (V8 keeps it for
    // the functions it compiles lazily). Unminified it was 1.8 MB, and its comments held a few
    // characters beyond Latin-1 (esbuild escapes them in strings, not in comments), which made V8
    // store all of it two bytes a character: 3.5 MB of a 12.3 MB blob. Without whitespace and
    // comments it is 1.2 MB of one-byte text. Identifiers keep their names: commander and zod
    // read constructor names.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
  const blob = join(dir, 'osk.blob');
  const examples = ['ha.yaml', 'minimal.yaml'].map((f) => join(root, 'examples', f));
  const r = spawnSync(node, ['--snapshot-blob', blob, '--build-snapshot', script, ...examples], {
    cwd: dir,
    encoding: 'utf8',
  });
  process.stderr.write(r.stderr.replace(KNOWN_WARNING, ''));
  if (r.status !== 0) throw new Error(`node --build-snapshot failed (exit ${r.status ?? r.signal})`);
  // The script is only the snapshot's source: what runs is in the blob.
  rmSync(script);
  const v = spawnSync(
    node,
    ['-p', 'JSON.stringify({ node: process.version, arch: process.arch, platform: process.platform })'],
    {
      encoding: 'utf8',
    },
  );
  if (v.status !== 0) throw new Error(`${node} -p failed: ${v.stderr}`);
  writeFileSync(join(dir, 'snapshot.json'), v.stdout);
}
