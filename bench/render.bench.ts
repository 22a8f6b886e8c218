/**
 * npm run bench:render — the CLI as a user runs it, against helm in the same run:
 *  - `osk render -f examples/ha.yaml --show-secrets`, `osk validate -f examples/ha.yaml`,
 *    `osk --version` (start-up alone) and `osk --help`, each BENCH_RUNS times (default 5) as a
 *    child process (issue 13: --version and --help under 100 ms wall);
 *  - `helm template` of 13 openstack-helm charts in their HA set-up (render.sh ha of the reference
 *    in $OSK_HELM_BENCH_DIR, else <repo>/../shared/bench/openstack-helm, else
 *    /work/shared/bench/openstack-helm), the same number of times;
 * then the medians of CPU (user + system of the child and its descendants) and wall time, the
 * objects each prints (documents with a kind), and osk's CPU as a fraction of helm's against the
 * target of issue 13 (at most a tenth). Below that, the in-process figures: parse + plan + render +
 * validate, and YAML serialisation, median of BENCH_INPROCESS_RUNS (default 30).
 *
 * --show-secrets: helm prints its Secrets, so osk prints its own too. The secret store lives in a
 * temporary OSK_STATE_DIR, filled by one untimed render first: the timed renders are the steady
 * state, not the first one that generates the credentials.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SecretStore } from '../src/state/secret-store.js';
import { render } from '../src/targets/kubernetes/render.js';
import { parseCloudFile } from '../src/spec/load.js';
import { allObjects } from '../src/targets/kubernetes/objects.js';
import { toMultiDocYaml } from '../src/targets/kubernetes/yaml.js';
import { countObjects, type Measured, measure, median } from './child-time.js';
import { ensureHelm } from './helm.js';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const CLOUD_FILE = 'examples/ha.yaml';
/** Issue 13: osk's CPU for a render at most a tenth of helm's. */
const TARGET = 0.1;
/**
 * The node osk runs on: this one when it is 22 or later (npm run puts the project's node 22 first on
 * PATH), else the project's own, which bin/osk.js would re-run itself with (two start-ups counted).
 */
const NODE =
  Number(process.versions.node.split('.')[0]) >= 22
    ? process.execPath
    : createRequire(import.meta.url).resolve('node/bin/node');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const inProcessRuns = Number(process.env.BENCH_INPROCESS_RUNS ?? 30);

interface Row {
  tool: string;
  objects?: number;
  m: Measured;
}

function loads(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function helmReference(): string | undefined {
  const candidates = [
    process.env.OSK_HELM_BENCH_DIR,
    join(REPO, '..', 'shared', 'bench', 'openstack-helm'),
    '/work/shared/bench/openstack-helm',
  ];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'render.sh')));
}

function oskRows(stateDir: string): Row[] {
  // NODE_OPTIONS is dropped so that nothing the bench itself runs under is loaded into osk.
  const env: NodeJS.ProcessEnv = { ...process.env, OSK_STATE_DIR: stateDir };
  delete env.NODE_OPTIONS;
  const osk = (...args: string[]) => [NODE, join(REPO, 'bin', 'osk.js'), ...args];
  const file = join(REPO, CLOUD_FILE);
  const renderArgs = osk('render', '-f', file, '--show-secrets');
  const first = spawnSync(renderArgs[0]!, renderArgs.slice(1), { env, encoding: 'utf8' });
  if (first.status !== 0) throw new Error(`osk render failed: ${first.stderr}`);
  const r = measure(renderArgs, runs, env);
  return [
    { tool: `osk render (${CLOUD_FILE})`, objects: countObjects(r.stdout), m: r },
    { tool: `osk validate (${CLOUD_FILE})`, m: measure(osk('validate', '-f', file), runs, env) },
    { tool: 'osk --version (start-up)', m: measure(osk('--version'), runs, env) },
    { tool: 'osk --help', m: measure(osk('--help'), runs, env) },
  ];
}

function helmRow(dir: string): Row {
  const helm = ensureHelm((l) => console.log(l));
  console.log(`helm: ${helm.path} (${helm.origin}; helm version --short: ${helm.version}); charts: ${dir}`);
  // render.sh makes a new HELM_CACHE_HOME in /tmp per call unless given one; this one goes at the end.
  const home = mkdtempSync(join(tmpdir(), 'osk-bench-helm-'));
  try {
    const env = { ...process.env, HELM: helm.path, HELM_CACHE_HOME: home };
    const m = measure(['bash', join(dir, 'render.sh'), 'ha'], runs, env);
    return { tool: 'helm template, 13 charts (render.sh ha)', objects: countObjects(m.stdout), m };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function printTable(rows: Row[]): void {
  const head = ['tool', 'objects', 'CPU s', 'CPU s min–max', 'wall s', 'objects/CPU-s'];
  const cells = rows.map(({ tool, objects, m }) => {
    const cpus = m.runs.map((t) => t.cpu);
    return [
      tool,
      objects === undefined ? '-' : String(objects),
      m.cpu.toFixed(2),
      `${Math.min(...cpus).toFixed(2)}–${Math.max(...cpus).toFixed(2)}`,
      m.wall.toFixed(2),
      objects === undefined ? '-' : Math.round(objects / m.cpu).toString(),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const c of cells) console.log(line(c));
}

function printRatios(osk: Row[], helm: Row): void {
  console.log(`osk CPU / helm template CPU (target ≤ ${TARGET.toFixed(2)}, i.e. a tenth of helm's):`);
  for (const row of osk.slice(0, 2)) {
    const ratio = row.m.cpu / helm.m.cpu;
    console.log(`  ${row.tool.padEnd(34)} ${ratio.toFixed(2)}  ${ratio <= TARGET ? 'met' : 'not met'}`);
  }
  const [r] = osk;
  if (r?.objects && helm.objects) {
    const msPer = (x: Row) => ((x.m.cpu / x.objects!) * 1000).toFixed(1);
    console.log(`  per object rendered: osk ${msPer(r)} ms of CPU, helm ${msPer(helm)} ms of CPU`);
  }
}

/** The render's parts inside one process, without start-up: where the CPU of a render goes. */
function inProcess(): void {
  const text = readFileSync(join(REPO, CLOUD_FILE), 'utf8');
  const store = SecretStore.memory('prod');
  render(parseCloudFile(text), store); // fills the store; warms the JIT
  const time = (fn: () => void): number => {
    const t = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  let objects = 0;
  let bytes = 0;
  const renderMs: number[] = [];
  const yamlMs: number[] = [];
  const parseMs: number[] = [];
  for (let i = 0; i < inProcessRuns; i++) {
    parseMs.push(time(() => parseCloudFile(text)));
    let groups: ReturnType<typeof render>['groups'] = [];
    renderMs.push(time(() => (groups = render(parseCloudFile(text), store).groups)));
    yamlMs.push(time(() => (bytes = toMultiDocYaml(allObjects(groups)).length)));
    objects = allObjects(groups).length;
  }
  const r = median(renderMs);
  const p = median(parseMs);
  console.log(
    `in process, ${CLOUD_FILE}: ${objects} objects, ${(bytes / 1024).toFixed(0)} KiB YAML, ${inProcessRuns} runs (wall ms, median)`,
  );
  console.log(`  parse + plan + render + validate: ${r.toFixed(1)} ms (${Math.round((objects / r) * 1000)} objects/s)`);
  console.log(`  YAML serialisation:               ${median(yamlMs).toFixed(1)} ms`);
  console.log(`  parsing the file only:            ${p.toFixed(2)} ms; render/parse ratio ${(r / p).toFixed(1)}x`);
}

console.log(
  `bench:render ${new Date().toISOString()}  nproc ${availableParallelism()}  load ${loads()} (1/5/15 min)  ` +
    `osk on node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}  ${runs} runs per command`,
);
const stateDir = mkdtempSync(join(tmpdir(), 'osk-bench-state-'));
try {
  const reference = helmReference();
  if (!reference) {
    console.log(
      `helm reference missing: no render.sh in $OSK_HELM_BENCH_DIR, ${resolve(REPO, '..', 'shared', 'bench', 'openstack-helm')} ` +
        'or /work/shared/bench/openstack-helm; osk only',
    );
  }
  const helm = reference ? helmRow(reference) : undefined;
  const osk = oskRows(stateDir);
  console.log('');
  printTable(helm ? [...osk, helm] : osk);
  if (helm) printRatios(osk, helm);
  console.log(`load at the end: ${loads()}`);
  console.log('');
  inProcess();
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
