/**
 * npm run bench:render — time to render the ha profile (parse + plan + all Kubernetes objects +
 * schema validation), median of repeated runs, and objects per second. The reference measured in
 * the same run is parsing the cloud file alone, so the ratio says how much work the render adds.
 */
import { readFileSync } from 'node:fs';
import { SecretStore } from '../src/state/secret-store.js';
import { render } from '../src/targets/kubernetes/render.js';
import { parseCloudFile } from '../src/spec/load.js';
import { allObjects } from '../src/targets/kubernetes/objects.js';
import { toMultiDocYaml } from '../src/targets/kubernetes/yaml.js';

const runs = Number(process.env.BENCH_RUNS ?? 30);
const text = readFileSync('examples/ha.yaml', 'utf8');
const store = SecretStore.memory('prod');
render(parseCloudFile(text), store); // fills the store; warms the JIT

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

let objects = 0;
let bytes = 0;
const renderMs: number[] = [];
const yamlMs: number[] = [];
const parseMs: number[] = [];
for (let i = 0; i < runs; i++) {
  parseMs.push(time(() => parseCloudFile(text)));
  let groups: ReturnType<typeof render>['groups'] = [];
  renderMs.push(time(() => (groups = render(parseCloudFile(text), store).groups)));
  yamlMs.push(time(() => (bytes = toMultiDocYaml(allObjects(groups)).length)));
  objects = allObjects(groups).length;
}
const r = median(renderMs);
const y = median(yamlMs);
const p = median(parseMs);
console.log(`render ha profile: ${objects} objects, ${(bytes / 1024).toFixed(0)} KiB YAML, ${runs} runs`);
console.log(
  `  parse + plan + render + validate: median ${r.toFixed(1)} ms (${Math.round((objects / r) * 1000)} objects/s)`,
);
console.log(`  YAML serialisation:               median ${y.toFixed(1)} ms`);
console.log(`  reference, parsing the file only: median ${p.toFixed(2)} ms; render/parse ratio ${(r / p).toFixed(1)}x`);
