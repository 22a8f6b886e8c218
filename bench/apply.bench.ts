/**
 * npm run bench:apply — osk apply on the local control plane (real apiserver, controllers and
 * scheduler; kwok nodes), with pod delays set per kind of component: a pod becomes Ready after
 * READY ms, a Job pod completes READY + COMPLETE ms after it is created. Prints the measured
 * convergence time, the critical-path lower bound of the plan's graph under those delays (what a
 * perfect scheduler could not beat), their ratio, API requests per applied object, and the same
 * for a second apply (no changes). Where the time beyond the pod delays goes: between a
 * dependency's readiness and its dependant's start, in osk's applying, and in the cluster; and
 * along the critical chain as it ran. Runs at 50 nodes and at 1000 nodes (`--nodes a,b` to choose).
 */
// The real node's bench is a script of its own (its flags, its cluster, the all-in-one beside it).
if (process.argv.includes('--real-node')) {
  await import('./apply-real-node.bench.js');
  process.exit();
}
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Reporter } from '../src/reporter.js';
import { SecretStore } from '../src/state/secret-store.js';
import { render } from '../src/targets/kubernetes/render.js';
import { parseCloudFile } from '../src/spec/load.js';
import { applyCloud } from '../src/targets/kubernetes/apply.js';
import { KubeApi } from '../src/targets/kubernetes/kube-api.js';
import { startCluster } from '../test/cluster/control-plane.js';
import { cloudYaml, provisionVolumes } from '../test/kubernetes/support.js';
import { median } from './child-time.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50,1000' },
    ready: { type: 'string', default: '1000' },
    complete: { type: 'string', default: '1500' },
  },
});
const READY = Number(values.ready);
const COMPLETE = Number(values.complete);

const quiet: Reporter = {
  begin: () => undefined,
  waiting: () => undefined,
  done: () => undefined,
  fail: (id, m) => console.error(`FAILED ${id}: ${m}`),
  note: () => undefined,
  inFlight: () => [],
  close: () => undefined,
};

for (const nodes of values.nodes!.split(',').map(Number)) {
  const dir = mkdtempSync(join(tmpdir(), 'osk-bench-apply-'));
  const t0 = Date.now();
  const cluster = await startCluster({
    nodes,
    dir,
    stopOnExit: true,
    podReadyDelayMs: READY,
    jobCompleteDelayMs: COMPLETE,
    log: () => undefined,
    timeoutMs: 900_000,
  });
  const startS = (Date.now() - t0) / 1000;
  try {
    const api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    await provisionVolumes(api, 8);
    const file = parseCloudFile(cloudYaml('bench'), 'bench.yaml');
    const store = SecretStore.memory('bench');
    const { model, groups } = render(file, store);
    const objects = groups.flatMap((g) => g.objects).length;

    // The lower bound: longest path through the graph, each component costing its pod delays.
    const kindOf = new Map(
      groups
        .filter((g) => g.component)
        .map((g) => [
          g.component!,
          g.objects.find((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))?.kind,
        ]),
    );
    const cost = (id: string) => (kindOf.get(id) === 'Job' ? READY + COMPLETE : kindOf.get(id) ? READY : 0);
    const finish = new Map<string, number>();
    for (const id of model.waves.flat()) {
      const deps = model.edges
        .filter((e) => e.from === id && e.kind === 'needs' && kindOf.has(e.to))
        .map((e) => finish.get(e.to) ?? 0);
      finish.set(id, Math.max(0, ...deps) + cost(id));
    }
    const bound = Math.max(...finish.values()) / 1000;

    const before = api.requests;
    const a0 = Date.now();
    const r = await applyCloud(model, groups, api, {
      reporter: quiet,
      timeoutSeconds: 900,
      prune: true,
      pruneVolumes: false,
    });
    const firstMs = Date.now() - a0;
    const first = firstMs / 1000;
    // Where the time between steps goes: from the last of a component's dependencies becoming
    // ready to the component starting (the engine's own delay), and from its start to ready.
    const needs = (id: string) =>
      model.edges.filter((e) => e.from === id && e.kind === 'needs' && r.readyAt.has(e.to)).map((e) => e.to);
    const gapsOf = (ids: Iterable<string>) =>
      [...ids].flatMap((id) => {
        const deps = needs(id);
        return deps.length ? [r.startedAt.get(id)! - Math.max(...deps.map((d) => r.readyAt.get(d)!))] : [];
      });
    const gaps = gapsOf(r.startedAt.keys());
    const gapMedian = gaps.length ? median(gaps) : 0;
    const gapMax = Math.max(0, ...gaps);
    // Beyond its pod delays, a component's time is osk's (from its start until its workload is
    // applied) or the cluster's (controllers, scheduler, kwok, and the watch event back to osk).
    const withWorkload = [...r.readyAt.keys()].filter((id) => kindOf.get(id));
    const applying = withWorkload.map((id) => r.appliedAt.get(id)! - r.startedAt.get(id)!);
    const inCluster = withWorkload.map((id) => r.readyAt.get(id)! - r.appliedAt.get(id)! - cost(id));
    // The observed critical chain: back from the component ready last, through the dependency
    // each one became ready after. Its time is its pod delays, osk's part and the cluster's part.
    const chain: string[] = [];
    for (let id: string | undefined = [...r.readyAt].sort((a, b) => b[1] - a[1])[0]?.[0]; id; ) {
      chain.unshift(id);
      id = needs(id).sort((a, b) => r.readyAt.get(b)! - r.readyAt.get(a)!)[0];
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const chainDelays = sum(chain.map(cost));
    const chainOsk =
      r.startedAt.get(chain[0]!)! +
      sum(chain.map((id) => r.appliedAt.get(id)! - r.startedAt.get(id)!)) +
      sum(gapsOf(chain)) +
      (firstMs - r.readyAt.get(chain.at(-1)!)!);
    const chainCluster = sum(chain.map((id) => r.readyAt.get(id)! - r.appliedAt.get(id)! - cost(id)));
    const firstReq = api.requests - before;
    if (r.failed.size) throw new Error(`apply failed: ${[...r.failed.keys()].join(', ')}`);

    const before2 = api.requests;
    const b0 = Date.now();
    const r2 = await applyCloud(model, groups, api, {
      reporter: quiet,
      timeoutSeconds: 900,
      prune: true,
      pruneVolumes: false,
    });
    const second = (Date.now() - b0) / 1000;
    const secondReq = api.requests - before2;

    const ds = (
      await api.request<{ status: { numberReady: number } }>(
        'GET',
        '/apis/apps/v1/namespaces/bench/daemonsets/nova-compute',
      )
    ).body.status.numberReady;
    console.log(
      `${nodes} nodes (cluster up in ${startS.toFixed(1)} s; pods ready after ${READY} ms, Job pods complete ${COMPLETE} ms later; ${objects} objects)`,
    );
    console.log(
      `  first apply:  converged in ${first.toFixed(1).padStart(6)} s; critical-path bound ${bound.toFixed(1)} s → ratio ${(first / bound).toFixed(2)}×; ${(firstReq / objects).toFixed(2)} API requests per object`,
    );
    console.log(
      `  from the last dependency ready to the dependant's start: median ${gapMedian} ms, max ${gapMax} ms (${gaps.length} components)`,
    );
    console.log(
      `  from a component's start to its workload applied (osk): median ${median(applying)} ms, max ${Math.max(...applying)} ms`,
    );
    console.log(
      `  from applied to ready beyond its pod delays (controllers, scheduler, kwok, the watch): median ${median(inCluster)} ms, max ${Math.max(...inCluster)} ms`,
    );
    console.log(
      `  critical chain as run (${chain.length} components, ${chain.join(' → ')}): pod delays ${(chainDelays / 1000).toFixed(1)} s, osk ${(chainOsk / 1000).toFixed(2)} s (${r.startedAt.get(chain[0]!)} ms before its first start, ${firstMs - r.readyAt.get(chain.at(-1)!)!} ms after its last ready), cluster ${(chainCluster / 1000).toFixed(2)} s`,
    );
    console.log(
      `  second apply: ${second.toFixed(1).padStart(6)} s, ${r2.created.length + r2.changed.length} objects changed, ${(secondReq / objects).toFixed(2)} API requests per object`,
    );
    console.log(`  nova-compute ready on ${ds} nodes`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
