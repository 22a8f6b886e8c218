/**
 * npm run bench:cluster — `osk cluster create` and `delete` against a real cloud: the all-in-one
 * of this host, brought up in a scratch state dir (as bench:up does) and purged after.
 * For clusters of 1+1, 1+3 and 3+5 nodes (control plane + workers, with the API load balancer of
 * the OVN provider), as the demo user: seconds of the first create, of a second create (nothing to
 * change) and of delete; the OpenStack API calls each made, in all, writes alone and per node.
 * The reference, measured in the same run: the summed time of those calls one after the other
 * (what create would take if it waited for each answer before the next request); wall / that sum
 * is how much of the calls' time create overlaps. Needs root and Debian 12; ports 3306, 5672,
 * 5000… on 127.0.0.1 must be free.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestEvent } from '../src/openstack/exchange.js';
import { OpenStackClient } from '../src/openstack/index.js';
import type { Reporter } from '../src/reporter.js';
import { parseClusterFile } from '../src/spec/load-cluster.js';
import { parseCloudFile } from '../src/spec/load.js';
import { SecretStore } from '../src/state/secret-store.js';
import { createCluster } from '../src/targets/cluster/create.js';
import { deleteCluster } from '../src/targets/cluster/delete.js';
import { DEFAULT_CLOUD_YAML, upLocal } from '../src/targets/local/cloud.js';
import { purgeLocalCloud } from './local-cloud.js';

const state = await mkdtemp(join(tmpdir(), 'osk-bench-cluster-'));
process.env.OSK_STATE_DIR = state;

const quiet: Reporter = {
  begin: () => undefined,
  waiting: () => undefined,
  done: () => undefined,
  fail: (id, message) => console.error(`FAILED ${id}: ${message}`),
  note: () => undefined,
  inFlight: () => [],
  close: () => undefined,
};

const SIZES: [controlPlane: number, workers: number][] = [
  [1, 1],
  [1, 3],
  [3, 5],
];

const clusterYaml = (name: string, cp: number, workers: number) => `apiVersion: osk.dev/v1alpha1
kind: KubernetesCluster
metadata: {name: ${name}}
spec:
  image: osk-test-raw
  controlPlane: {flavor: m1.tiny, count: ${cp}}
  workers: {flavor: m1.tiny, count: ${workers}}
  network: {cidr: 10.6.0.0/24, mtu: 1442}
  apiLoadBalancer: {enabled: true, provider: ovn}
`;

interface Phase {
  ms: number;
  calls: number;
  writes: number;
  callMs: number;
}

/** Runs `work`, counting the API calls it makes (events are pushed by the client's listener). */
async function measure(events: RequestEvent[], work: () => Promise<unknown>): Promise<Phase> {
  const from = events.length;
  const t0 = Date.now();
  await work();
  const ms = Date.now() - t0;
  const mine = events.slice(from).filter((e) => !e.url.endsWith('/auth/tokens'));
  return {
    ms,
    calls: mine.length,
    writes: mine.filter((e) => e.method !== 'GET').length,
    callMs: mine.reduce((sum, e) => sum + e.durationMs, 0),
  };
}

const sec = (ms: number) => (ms / 1000).toFixed(1).padStart(6);

try {
  const file = parseCloudFile(DEFAULT_CLOUD_YAML, 'built-in');
  const t0 = Date.now();
  const summary = await upLocal({ file, install: true, timeoutSeconds: 900, reporter: quiet });
  console.log(`all-in-one up in ${sec(Date.now() - t0)} s (${state})`);
  const events: RequestEvent[] = [];
  const os = OpenStackClient.fromCloudsYaml({
    cloud: 'default-demo',
    env: { OS_CLIENT_CONFIG_FILE: summary.paths.cloudsYaml },
    overrides: { onRequest: (e) => void events.push(e) },
  });
  const opts = { timeoutMs: 600_000, reporter: quiet };
  console.log(
    `\n${'nodes'.padEnd(7)} ${'phase'.padEnd(14)} ${'wall s'.padStart(6)} ${'calls'.padStart(6)} ${'writes'.padStart(6)} ${'calls/node'.padStart(10)} ${'Σ call s'.padStart(8)} ${'wall/Σ'.padStart(6)}`,
  );
  for (const [cp, workers] of SIZES) {
    const nodes = cp + workers;
    const name = `bench-${cp}-${workers}`;
    const cluster = parseClusterFile(clusterYaml(name, cp, workers), `${name}.yaml`);
    const storePath = join(state, '.clusters-bench', name, 'secrets.yaml');
    const store = await SecretStore.open(storePath, `cluster/${name}`);
    const phases: [string, Phase][] = [
      ['create', await measure(events, () => createCluster(os, cluster, store, opts))],
      ['create again', await measure(events, () => createCluster(os, cluster, store, opts))],
      ['delete', await measure(events, () => deleteCluster(os, name, storePath, opts))],
    ];
    for (const [phase, p] of phases)
      console.log(
        `${`${cp}+${workers}`.padEnd(7)} ${phase.padEnd(14)} ${sec(p.ms)} ${String(p.calls).padStart(6)} ${String(p.writes).padStart(6)} ${(p.calls / nodes).toFixed(1).padStart(10)} ${(p.callMs / 1000).toFixed(1).padStart(8)} ${(p.ms / Math.max(p.callMs, 1)).toFixed(2).padStart(6)}`,
      );
  }
  console.log(
    '\nwall/Σ: wall time over the summed time of the API calls (1.00: one call after another; less: calls overlap; more: waiting between calls, e.g. for servers and the load balancer to become ACTIVE)',
  );
  await os.close();
} finally {
  await purgeLocalCloud();
  await rm(state, { recursive: true, force: true });
}
