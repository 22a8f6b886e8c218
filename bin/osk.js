#!/usr/bin/env node
// Entry point. osk runs on Node.js 22: the project installs it as the npm `node` package, so a
// machine whose own node is older (Debian 12 ships 20, which is end of life) still works. When
// started by an older node, re-run this same script with the package's own node binary.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
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
    process.exit(1);
  }
  const r = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const dist = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write('osk is not built: run `npm ci` (or `npm run build`) in the osk checkout.\n');
  process.exit(1);
}
if (process.argv[2] === 'supervise') {
  // The per-cloud supervisor daemon loads only what it needs (not the CLI, schemas and models):
  // it lives as long as the cloud, so its memory counts.
  const { supervisorMain } = await import(new URL('../dist/targets/local/supervisor-main.js', import.meta.url).href);
  await supervisorMain(process.argv.slice(3));
} else {
  const { main } = await import(dist.href);
  process.exitCode = await main(process.argv.slice(2));
}
