#!/usr/bin/env node
// Entry point. osk runs on Node.js 22: the project installs it as the npm `node` package, so a
// machine whose own node is older (Debian 12 ships 20, which is end of life) still works. Started
// by an older node, osk answers --version, help and usage errors itself (they only print text)
// and runs a verb's work by re-running this same script with the package's own node binary.
//
// Kept fast (issue 13): `osk --version` reads only dist/version.js, the CLI loads what a verb
// does only when that verb runs (src/cli/main.ts), and dist/ is a bundle (scripts/build.ts).
import { spawnSync } from 'node:child_process';
import module, { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Node (22.1 and later) keeps the compiled code of the modules osk loads, so a command starts
// without compiling the bundle again: beside osk's other caches, in the user's cache directory.
module.enableCompileCache?.(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'osk', 'node-compile-cache'));

const args = process.argv.slice(2);
const oldNode = Number(process.versions.node.split('.')[0]) < 22;
const built = (path) => new URL(`../dist/${path}`, import.meta.url);

/** Run this script again, with the same arguments, on the Node 22 of the npm `node` package; its exit code. */
function onNode22() {
  const require = createRequire(import.meta.url);
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
  const r = spawnSync(bundled, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

/** `osk --version` on its own, without loading the CLI. Any other spelling goes through it and prints the same. */
async function printVersion() {
  const { VERSION } = await import(built('version.js').href);
  // As the CLI does: a reader that closed the pipe early is no failure (see src/cli/main.ts).
  process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    process.stderr.write(`osk: cannot write to standard output: ${e.message}\n`);
    process.exit(1);
  });
  process.stdout.write(`${VERSION}\n`);
}

if (args.length === 1 && args[0] === '--version' && existsSync(built('version.js'))) {
  await printVersion();
} else if (oldNode && (args[0] === 'supervise' || !existsSync(built('cli/main.js')))) {
  // The supervisor is all work; and unbuilt, Node 22 says what is missing.
  process.exit(onNode22());
} else if (!existsSync(built('cli/main.js'))) {
  process.stderr.write('osk is not built: run `npm ci` (or `npm run build`) in the osk checkout.\n');
  process.exit(1);
} else if (args[0] === 'supervise') {
  // The per-cloud supervisor daemon loads only what it needs (not the CLI, schemas and models):
  // it lives as long as the cloud, so its memory counts.
  const { supervisorMain } = await import(built('targets/local/supervisor-main.js').href);
  await supervisorMain(args.slice(1));
} else {
  const { main } = await import(built('cli/main.js').href);
  process.exitCode = await main(args, undefined, oldNode ? onNode22 : undefined);
}
