/**
 * Cluster API against a real osk cloud, as a user who runs it would: `osk cluster render` (which
 * first makes the server group and application credential CAPO cannot), then the real managers
 * (capi-run.ts) on the local test control plane reconcile the rendered objects and CAPO makes the
 * cluster's network, subnet, security groups, API load balancer and servers in the cloud.
 *
 * What cannot happen here: Nova's fake driver boots no guest, so no kubelet ever registers and no
 * Machine gets a nodeRef. The control-plane Machine stops at Provisioned (its server ACTIVE), the
 * control plane is never initialised, and so the kubeadm bootstrap provider never writes the
 * workers' join data: their Machines wait for it and CAPO makes no worker server. That is
 * asserted as what it is. Deleting the Cluster then removes everything CAPO made, and
 * `osk cluster delete` what osk made for it.
 *
 * Used by test/allinone.e2e.test.ts (the one `osk up` of CI); runnable against any osk cloud.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenStackClient } from '../../src/openstack/index.js';
import { capiNames, type CapiObject } from '../../src/plan/cluster-capi.js';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { applyObjects, startClusterApiManagers, waitForApi } from './capi-run.js';
import { startCluster } from './control-plane.js';

const NS = 'capi-test';
const INFRA = '/apis/infrastructure.cluster.x-k8s.io/v1beta1';
const CORE = '/apis/cluster.x-k8s.io/v1beta2';

export interface CapiScenario {
  /** node, and the path of bin/osk.js */
  osk: string[];
  /** environment of osk: OSK_STATE_DIR (its secret store of the cluster), OS_CLIENT_CONFIG_FILE */
  env: NodeJS.ProcessEnv;
  /** the cloud of clouds.yaml the cluster is made in (a project's user) */
  cloud: string;
  /** a client of the same cloud and project, to look at what was made (admin would not see the project's server groups and credentials) */
  os: OpenStackClient;
  /** cluster name, capi-… */
  name: string;
  dir: string;
  log: (line: string) => void;
}

export interface CapiObserved {
  seconds: Record<string, number>;
  network: { id: string; mtu: number };
  subnet: { cidr: string; dns: string[] };
  securityGroups: string[];
  loadBalancer: { id: string; provider: string; status: string };
  controlPlaneServer: { id: string; status: string; inGroup: boolean };
  workerServers: number;
  machinePhases: string[];
  /** what CAPO made and the cloud still has after the Cluster was deleted */
  left: string[];
}

type Item = { metadata: { name: string; labels?: Record<string, string> }; spec?: any; status?: any };

function clusterFile(s: CapiScenario): string {
  const f = join(s.dir, 'cluster.yaml');
  writeFileSync(
    f,
    [
      'apiVersion: osk.dev/v1alpha1',
      'kind: KubernetesCluster',
      `metadata: {name: ${s.name}}`,
      'spec:',
      '  image: osk-test-raw',
      '  controlPlane: {flavor: m1.tiny, count: 1}',
      '  workers: {flavor: m1.tiny, count: 1}',
      '  network: {cidr: 10.7.0.0/24, mtu: 1400, dnsServers: [10.0.0.53]}',
      '  apiLoadBalancer: {enabled: true, provider: ovn}',
      '',
    ].join('\n'),
  );
  return f;
}

function osk(s: CapiScenario, args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(s.osk[0]!, [...s.osk.slice(1), ...args], { env: s.env, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `osk ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Everything of the scenario, stopped and removed whatever happens; the cloud is cleaned by the caller's `osk cluster delete`. */
export async function runCapiScenario(s: CapiScenario): Promise<CapiObserved> {
  mkdirSync(s.dir, { recursive: true });
  const seconds: Record<string, number> = {};
  let t = Date.now();
  const lap = (what: string) => {
    seconds[what] = Math.round((Date.now() - t) / 100) / 10;
    s.log(`${what}: ${seconds[what]} s`);
    t = Date.now();
  };
  const file = clusterFile(s);
  const render = osk(s, ['cluster', 'render', '-f', file, '--os-cloud', s.cloud, '--show-secrets', '-o', 'json']);
  const objects = (JSON.parse(render.stdout) as { items: CapiObject[] }).items;
  lap('osk cluster render (server group, application credential)');

  const cluster = await startCluster({ nodes: 1, dir: join(s.dir, 'k8s'), stopOnExit: true, log: () => undefined });
  let stopManagers: () => Promise<void> = async () => {};
  try {
    const api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    lap('test control plane');
    const managers = await startClusterApiManagers(api, {
      kubeconfig: cluster.kubeconfig,
      dir: join(s.dir, 'capi'),
      log: s.log,
      progress: 'lines',
    });
    stopManagers = managers.stop;
    lap('CRDs, webhooks and the four managers ready');
    await api.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    });
    await applyObjects(api, NS, objects);
    const wait = <T>(path: string, done: (b: any) => T | undefined, what: string, minutes = 10) =>
      waitForApi(api, path, done, {
        timeoutMs: minutes * 60_000,
        what,
        logs: managers.logs,
        check: managers.assertRunning,
      });
    const n = capiNames(s.name);
    try {
      const osc = await wait(
        `${INFRA}/namespaces/${NS}/openstackclusters/${n.cluster}`,
        (o) => (o.status?.ready ? o : undefined),
        'OpenStackCluster ready',
      );
      lap('OpenStackCluster ready (network, subnet, security groups, load balancer)');
      const observed = await observeCluster(s, osc.status);

      const cpMachine = await wait(
        `${INFRA}/namespaces/${NS}/openstackmachines`,
        (l) =>
          l.items.find(
            (m: Item) =>
              m.metadata.labels?.['cluster.x-k8s.io/control-plane'] !== undefined && m.status?.ready === true,
          ),
        'control-plane OpenStackMachine ready (its server ACTIVE)',
      );
      lap('control-plane server ACTIVE');
      const serverId = (cpMachine.spec.providerID as string).replace('openstack:///', '');
      const server = await s.os.compute.servers.get(serverId);
      const group = await s.os.compute.serverGroups.find(`osk-${s.name}-nodes`);
      const machines = await wait(
        `${CORE}/namespaces/${NS}/machines`,
        (l) =>
          l.items.length === 2 && l.items.some((m: Item) => m.status?.phase === 'Provisioned')
            ? (l.items as Item[])
            : undefined,
        'the control-plane Machine Provisioned',
      );
      const workers = (await s.os.compute.servers.list({ tags: `osk-cluster=${s.name}` })).filter(
        (v) => v.id !== serverId,
      );

      await api.request('DELETE', `${CORE}/namespaces/${NS}/clusters/${n.cluster}`);
      await waitForApi(api, `${CORE}/namespaces/${NS}/clusters`, (l) => (l.items?.length === 0 ? true : undefined), {
        timeoutMs: 10 * 60_000,
        what: 'the Cluster deleted',
        logs: managers.logs,
        check: managers.assertRunning,
      });
      lap('Cluster deleted (CAPO removed the servers, load balancer, security groups, subnet, network)');
      const left = await leftovers(s, observed, osc.status, serverId);
      return {
        left,
        ...observed,
        seconds,
        controlPlaneServer: {
          id: server.id,
          status: server.status,
          inGroup: (group?.members ?? []).includes(server.id),
        },
        workerServers: workers.length,
        machinePhases: machines
          .map(
            (m) =>
              `${m.metadata.labels?.['cluster.x-k8s.io/control-plane'] !== undefined ? 'control-plane' : 'worker'}:${m.status?.phase}`,
          )
          .sort(),
      };
    } catch (e) {
      // Whatever failed, the managers get to remove what they made before they are stopped.
      await api.request('DELETE', `${CORE}/namespaces/${NS}/clusters/${n.cluster}`, { ok: [404] });
      await waitForApi(api, `${CORE}/namespaces/${NS}/clusters`, (l) => (l.items?.length === 0 ? true : undefined), {
        timeoutMs: 5 * 60_000,
        what: 'the Cluster deleted after a failure',
      }).catch((d: Error) => s.log(`cleanup: ${d.message.slice(0, 500)}`));
      throw e;
    }
  } finally {
    await stopManagers();
    await cluster.stop();
  }
}

/** What CAPO made, as the cloud shows it (by the ids in the OpenStackCluster's status). */
async function observeCluster(
  s: CapiScenario,
  st: any,
): Promise<Pick<CapiObserved, 'network' | 'subnet' | 'securityGroups' | 'loadBalancer'>> {
  const net = await s.os.network.networks.get(st.network.id);
  const subnet = await s.os.network.subnets.get(st.network.subnets[0].id);
  const groups = [st.controlPlaneSecurityGroup.id, st.workerSecurityGroup.id];
  const rules = [];
  for (const id of groups) {
    const g = await s.os.network.securityGroups.get(id);
    for (const r of g.security_group_rules)
      if (r.direction === 'ingress')
        rules.push(
          `${g.name}:${r.protocol ?? 'any'}:${r.port_range_min ?? ''}-${r.port_range_max ?? ''}:${r.remote_ip_prefix ?? r.remote_group_id ?? ''}`,
        );
  }
  const lb = await s.os.loadBalancer.loadBalancers.get(st.apiServerLoadBalancer.id);
  return {
    network: { id: net.id, mtu: net.mtu ?? 0 },
    subnet: { cidr: subnet.cidr, dns: subnet.dns_nameservers },
    securityGroups: rules.sort(),
    loadBalancer: { id: lb.id, provider: lb.provider, status: lb.provisioning_status },
  };
}

/** Each object CAPO made that the cloud still has. */
async function leftovers(
  s: CapiScenario,
  o: Pick<CapiObserved, 'network' | 'loadBalancer'>,
  st: any,
  serverId: string,
): Promise<string[]> {
  const left: string[] = [];
  if ((await s.os.network.networks.list({ id: o.network.id })).length) left.push(`network ${o.network.id}`);
  for (const g of [st.controlPlaneSecurityGroup, st.workerSecurityGroup])
    if ((await s.os.network.securityGroups.list({ id: g.id })).length) left.push(`security group ${g.name}`);
  const lb = await s.os.loadBalancer.loadBalancers.tryGet(o.loadBalancer.id);
  if (lb && lb.provisioning_status !== 'DELETED') left.push(`load balancer ${lb.name} (${lb.provisioning_status})`);
  if (await s.os.compute.servers.tryGet(serverId)) left.push(`server ${serverId}`);
  for (const p of await s.os.network.ports.list({ network_id: o.network.id })) left.push(`port ${p.name || p.id}`);
  return left;
}
