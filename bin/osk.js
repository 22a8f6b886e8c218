#!/usr/bin/env node
// Entry point. osk runs on Node.js 22: the project installs it as the npm `node` package, so a
// machine whose own node is older (Debian 12 ships 20, which is end of life) still works. Started
// by an older node, osk answers --version, help and usage errors itself (they only print text)
// and runs a verb's work by re-running this same script with the package's own node binary.
//
// Kept fast (issue 13): `osk --version` reads only dist/version.js, the CLI loads what a verb
// does only when that verb runs (src/cli/main.ts), dist/ is a bundle (scripts/build.ts), and
// validate, plan and render start from a V8 startup snapshot (scripts/snapshot.ts).
//
// This file is CommonJS (bin/package.json), the rest of osk ES modules, which it imports: every
// command starts here, and Node starts a CommonJS file about 7 ms of CPU sooner than an ES module
// importing the same built-ins (no module graph to link, no namespace per built-in); for a
// render from the snapshot that was a twentieth of its CPU.
'use strict';
// Built-ins Node has loaded already at start: the others are required where they are used.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const args = process.argv.slice(2);
const oldNode = Number(process.versions.node.split('.')[0]) < 22;
const built = (path) => join(__dirname, '..', 'dist', path);
/** Imports an ES module of dist/. */
const load = (path) => import(pathToFileURL(built(path)).href);

/** Run this script again, with the same arguments, on the Node 22 of the npm `node` package; its exit code. */
function onNode22() {
  let bundled;
  try {
    bundled = require.resolve('node/bin/node');
  } catch {
    bundled = undefined;
  }
  if (!bundled || !existsSync(bundled)) {
    process.stderr.write(
      `osk needs Node.js >= 22 (this is ${process.version}). Run \`npm ci\` in the osk checkout; it installs Node 22 as a dependency.\n`,
    );
    return 1;
  }
  const r = require('node:child_process').spawnSync(bundled, [__filename, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

/** The verbs that run from the snapshot: those of the cloud file alone (src/cli/snapshot-main.ts). */
const SNAPSHOT_VERBS = ['validate', 'plan', 'render'];

/**
 * The snapshot to start this command from, or undefined: for its verbs, when the snapshot was
 * built by this very Node (a blob starts on no other version), and when nothing asks for this
 * process itself (NODE_OPTIONS or node flags such as --import or --inspect act on loaded modules,
 * which a snapshot has none of).
 */
function snapshot() {
  if (!SNAPSHOT_VERBS.includes(args[0]) || process.env.NODE_OPTIONS || process.execArgv.length || !process.execve)
    return undefined;
  try {
    const meta = JSON.parse(readFileSync(built('snapshot/snapshot.json'), 'utf8'));
    const blob = built('snapshot/osk.blob');
    const same = meta.node === process.version && meta.arch === process.arch && meta.platform === process.platform;
    return same && existsSync(blob) ? blob : undefined;
  } catch {
    return undefined;
  }
}

/** `osk --version` on its own, without loading the CLI. Any other spelling goes through it and prints the same. */
async function printVersion() {
  const { VERSION } = await load('version.js');
  // As the CLI does: a reader that closed the pipe early is no failure (see src/cli/main.ts).
  process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    process.stderr.write(`osk: cannot write to standard output: ${e.message}\n`);
    process.exit(1);
  });
  process.stdout.write(`${VERSION}\n`);
}

const blob = snapshot();
// Node (22.1 and later) keeps the compiled code of the modules osk loads, so a command starts
// without compiling the bundle again: beside osk's other caches, in the user's cache directory.
// (A snapshot holds its compiled code itself.)
if (!blob)
  require('node:module').enableCompileCache?.(
    join(process.env.XDG_CACHE_HOME || join(require('node:os').homedir(), '.cache'), 'osk', 'node-compile-cache'),
  );
if (blob) {
  // This process becomes that Node started from the snapshot: same pid, streams and exit code.
  // V8 is tuned for programs that run long enough to repay optimising. A command of a fraction of
  // a second spends less CPU with V8 on one thread (no background compiling or GC helpers), and
  // TurboFan only for functions called 20000 times rather than 3000 (Maglev's quicker code serves
  // until then): compiling with TurboFan was a fifth of a render's instructions, most of it for
  // functions that then ran a few milliseconds. Issue 13: about 8% and 16% less CPU for render.
  // The young generation starts at 4 MB: small enough that its scavenges keep the old generation
  // (the snapshot's ~11 MB) below the size at which V8 starts marking it, which with 8 or 16 MB
  // it did, and one full mark of the heap cost a render 13 ms; large enough that a render of the
  // ha example needs three scavenges of 1-3 ms. About 10 ms less CPU than with 16 MB.
  const v8 = ['--single-threaded', '--min-semi-space-size=4', '--invocation-count-for-turbofan=20000'];
  // Node reads the blob (10 MB) into one buffer and copies it into another for V8: 5000 pages of
  // 4 KiB, each zeroed and mapped on its first touch, were about a third of the page faults of a
  // render. Asked to (its hugetlb tunable), glibc's malloc advises the kernel to back such large
  // buffers with transparent huge pages where it offers them: 6-9 ms less CPU for a render
  // (issue 13). Not over tunables the user set; the file verbs start no other program.
  const env =
    process.env.GLIBC_TUNABLES === undefined
      ? { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }
      : process.env;
  process.execve(process.execPath, [process.execPath, ...v8, '--snapshot-blob', blob, ...args], env);
} else if (args.length === 1 && args[0] === '--version' && existsSync(built('version.js'))) {
  void printVersion();
} else if (oldNode && (args[0] === 'supervise' || !existsSync(built('cli/main.js')))) {
  // The supervisor is all work; and unbuilt, Node 22 says what is missing.
  process.exit(onNode22());
} else if (!existsSync(built('cli/main.js'))) {
  process.stderr.write('osk is not built: run `npm ci` (or `npm run build`) in the osk checkout.\n');
  process.exit(1);
} else if (args[0] === 'supervise') {
  // The per-cloud supervisor daemon loads only what it needs (not the CLI, schemas and models):
  // it lives as long as the cloud, so its memory counts.
  void load('targets/local/supervisor-main.js').then(({ supervisorMain }) => supervisorMain(args.slice(1)));
} else {
  void load('cli/main.js').then(async ({ main }) => {
    process.exitCode = await main(args, undefined, oldNode ? onNode22 : undefined);
  });
}
