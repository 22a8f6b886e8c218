// The helm binary bench:render measures osk against: $HELM when set, else helm HELM_VERSION built
// once from the Go module proxy into ${OSK_CACHE_DIR:-$HOME/.cache/osk}/helm-<version>/bin/helm
// (the cache and Go lookup of test/cluster/build.ts), so a second run does not rebuild it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, goCommand, goVersion } from '../test/cluster/build.js';

export const HELM_VERSION = 'v3.22.0';
const MODULE = 'helm.sh/helm/v3';

export interface Helm {
  path: string;
  /** what `helm version --short` says (a `go install` build, without the release's ldflags, says v3.22) */
  version: string;
  /** where it came from: $HELM, or the module version and the Go that built it */
  origin: string;
}

export function ensureHelm(log: (line: string) => void): Helm {
  if (process.env.HELM) return { path: process.env.HELM, version: helmVersion(process.env.HELM), origin: '$HELM' };
  const root = join(cacheRoot(), `helm-${HELM_VERSION}`);
  const path = join(root, 'bin', 'helm');
  if (existsSync(join(root, 'complete'))) {
    const { go } = JSON.parse(readFileSync(join(root, 'complete'), 'utf8')) as { go: string };
    return { path, version: helmVersion(path), origin: `${MODULE}@${HELM_VERSION}, cached, built with ${go}` };
  }
  const go = goCommand();
  const gv = goVersion(go);
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  log(`building helm ${HELM_VERSION} with ${gv} into ${path} (minutes of CPU, once; later runs reuse it)`);
  const started = Date.now();
  // nice: the machine may be shared. cwd is the cache, so no go.mod of the work tree is in play.
  const r = spawnSync('nice', ['-n', '19', go, 'install', `${MODULE}/cmd/helm@${HELM_VERSION}`], {
    cwd: tmp,
    env: { ...process.env, GOBIN: join(tmp, 'bin'), GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod`.trim() },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`go install ${MODULE}/cmd/helm@${HELM_VERSION} failed (exit ${r.status ?? r.signal})`);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(join(tmp, 'complete'), `${JSON.stringify({ version: HELM_VERSION, go: gv, buildSeconds: seconds })}\n`);
  // A build finished by another run meanwhile wins; ours is dropped.
  if (existsSync(join(root, 'complete'))) rmSync(tmp, { recursive: true, force: true });
  else {
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
  }
  return { path, version: helmVersion(path), origin: `${MODULE}@${HELM_VERSION}, built in ${seconds} s with ${gv}` };
}

function helmVersion(path: string): string {
  const r = spawnSync(path, ['version', '--short'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path} version failed: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}
