/**
 * `osk cluster render`'s objects against the real CRDs of the pinned versions: cluster-api
 * v1.12.10 (core, kubeadm bootstrap, kubeadm control plane) and CAPO v0.14.7, taken from their Go
 * module zips and installed into the local test control plane (kube-apiserver from Go modules).
 * Every object is applied server-side with fieldValidation=Strict, so an unknown or misspelled
 * field, a wrong type or a missing required field is refused by the same OpenAPI schemas a
 * management cluster uses; reading them back shows nothing was pruned. No cloud is needed: the
 * ids osk would resolve in the cloud are given here. No controller runs (that is the all-in-one
 * test, test/allinone.e2e.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CapiInputs, type CapiObject, clusterApiObjects } from '../../src/plan/cluster-capi.js';
import { parseClusterFile } from '../../src/spec/load-cluster.js';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { clusterSkipReason } from '../kubernetes/support.js';
import { type Cluster, startCluster } from './control-plane.js';
import { installCrds } from './crds.js';
import { capiPath } from './capi-managers.js';

const NS = 'capi-crds';

const inputs = (secret: string | undefined): CapiInputs => ({
  imageId: '8a3c3f0e-1111-4c1e-9a1e-000000000001',
  flavorIds: new Map([['m1.tiny', '1']]),
  externalNetworkId: '8a3c3f0e-1111-4c1e-9a1e-000000000002',
  serverGroupId: '8a3c3f0e-1111-4c1e-9a1e-000000000003',
  identity: {
    authUrl: 'http://127.0.0.1:5000/v3',
    region: 'RegionOne',
    interface: 'public',
    applicationCredentialId: 'e0c1f3b1d8a84b7c9c0b7d2d6c5f4a3b',
    applicationCredentialSecret: secret,
    cacert: secret === undefined ? undefined : '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  },
  secondary: {
    networks: new Map([
      ['telco-n2', '8a3c3f0e-1111-4c1e-9a1e-000000000004'],
      ['telco-fh', '8a3c3f0e-1111-4c1e-9a1e-000000000005'],
    ]),
    subnets: new Map([['telco-n2 telco-n2-v4', '8a3c3f0e-1111-4c1e-9a1e-000000000006']]),
    groups: new Map([
      ['n2', '8a3c3f0e-1111-4c1e-9a1e-000000000007'],
      ['ran-ops', '8a3c3f0e-1111-4c1e-9a1e-000000000008'],
    ]),
  },
});

/** The paths of `want`'s leaves that `got` lacks or holds differently (defaults may add more). */
function missingLeaves(want: unknown, got: unknown, path = ''): string[] {
  if (want === null || typeof want !== 'object') return want === got ? [] : [`${path}: ${JSON.stringify(got)}`];
  if (got === null || typeof got !== 'object') return [`${path}: missing`];
  return Object.entries(want).flatMap(([k, v]) =>
    missingLeaves(v, (got as Record<string, unknown>)[k], `${path}.${k}`),
  );
}

const example = () => parseClusterFile(readFileSync('examples/cluster.yaml', 'utf8'), 'examples/cluster.yaml');

describe('osk cluster render against the real Cluster API and CAPO CRDs', {
  skip: clusterSkipReason(),
  concurrency: false,
}, () => {
  let cluster: Cluster;
  let dir = '';
  let api: KubeApi;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-capi-crds-'));
    cluster = await startCluster({ nodes: 1, dir: join(dir, 'cluster'), stopOnExit: true, log: () => undefined });
    api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    const crds = await installCrds(api, ['cluster-api', 'cluster-api-kubeadm', 'capo']);
    assert.equal(crds.length, 13 + 4 + 7);
    await api.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    });
  });

  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const apply = (o: CapiObject, query: Record<string, string> = {}) =>
    api.request<CapiObject>('PATCH', capiPath(o, NS), {
      body: o,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'osk-test', fieldValidation: 'Strict', ...query },
      // Server-side apply answers an undeclared field with 500 ("failed to create typed patch object").
      ok: [400, 422, 500],
      retry: false,
    });

  test('every object of the example applies with fieldValidation=Strict and reads back unchanged', {
    timeout: 600_000,
  }, async () => {
    const objects = clusterApiObjects(example(), inputs('not-a-real-secret'));
    assert.deepEqual(
      objects.map((o) => o.kind),
      [
        'Secret',
        'Cluster',
        'OpenStackCluster',
        'KubeadmControlPlane',
        'OpenStackMachineTemplate',
        'MachineDeployment',
        'OpenStackMachineTemplate',
        'KubeadmConfigTemplate',
      ],
    );
    for (const o of objects) {
      const r = await apply(o);
      assert.equal(r.status, 201, `${o.kind} ${o.metadata.name}: ${JSON.stringify(r.body).slice(0, 2000)}`);
      if (o.kind === 'Secret') continue; // stringData is write-only: the API server moves it into data
      const back = (await api.request<Record<string, unknown>>('GET', capiPath(o, NS))).body;
      assert.deepEqual(missingLeaves(o.spec, back.spec), [], `${o.kind}: nothing pruned or changed`);
    }
    const osc = (
      await api.request<{ spec: { networkMTU: number; managedSubnets: unknown[] } }>('GET', capiPath(objects[2]!, NS))
    ).body;
    assert.equal(osc.spec.networkMTU, 1442);
    assert.deepEqual(osc.spec.managedSubnets, [{ cidr: '10.6.0.0/24', dnsNameservers: ['10.0.0.53'] }]);
  });

  test("secondary networks: the machine templates' ports (CAPO's default port, then one per secondary network with vnicType, fixed IPs, security groups or no port security) apply with fieldValidation=Strict and read back unchanged", {
    timeout: 120_000,
  }, async () => {
    const text = readFileSync('examples/cluster.yaml', 'utf8').replace(
      '    labels:\n      example.com/pool: general\n',
      [
        '    labels:',
        '      example.com/pool: general',
        '    secondaryNetworks:',
        '      - {name: n2, network: telco-n2, subnet: telco-n2-v4, securityGroups: [n2, ran-ops]}',
        '      - {name: fh, network: telco-fh, vnicType: direct, portSecurity: false}',
        '  securityGroups:',
        '    - {name: n2, rules: [{protocol: sctp, ports: "38412", from: 10.20.0.0/16}]}',
        '',
      ].join('\n'),
    );
    const objects = clusterApiObjects(parseClusterFile(text, 'telco.yaml'), inputs(undefined));
    const workers = objects.find((o) => o.kind === 'OpenStackMachineTemplate' && o.metadata.name === 'demo-md-0')!;
    workers.metadata.name = 'telco-md-0';
    const r = await apply(workers);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 2000));
    const back = (
      await api.request<{ spec: { template: { spec: { ports: unknown[] } } } }>('GET', capiPath(workers, NS))
    ).body;
    assert.deepEqual(missingLeaves(workers.spec, back.spec), [], 'nothing pruned or changed');
    assert.equal(back.spec.template.spec.ports.length, 3);
  });

  test('the check is real: a misspelled field, a wrong enum and a missing required field are refused', {
    timeout: 120_000,
  }, async () => {
    const objects = clusterApiObjects(example(), inputs(undefined));
    const osc = structuredClone(objects.find((o) => o.kind === 'OpenStackCluster')!);
    const spec = osc.spec as Record<string, unknown>;
    spec.networkMtu = spec.networkMTU; // the v1beta2 spelling is managedNetwork.mtu; this one is no field
    osc.metadata.name = 'typo';
    const typo = await apply(osc, { dryRun: 'All' });
    assert.ok(typo.status >= 400, `unknown field refused (${typo.status})`);
    assert.match(JSON.stringify(typo.body), /\.spec\.networkMtu: field not declared in schema/);

    const kcp = structuredClone(objects.find((o) => o.kind === 'KubeadmControlPlane')!);
    kcp.metadata.name = 'enum';
    (kcp.spec as { kubeadmConfigSpec: { format?: string } }).kubeadmConfigSpec.format = 'shell';
    const badEnum = await apply(kcp, { dryRun: 'All' });
    assert.ok(badEnum.status >= 400, `a format that is not cloud-config or ignition is refused (${badEnum.status})`);
    assert.match(JSON.stringify(badEnum.body), /kubeadmConfigSpec\.format/);

    const md = structuredClone(objects.find((o) => o.kind === 'MachineDeployment')!);
    md.metadata.name = 'no-cluster';
    delete (md.spec as { clusterName?: string }).clusterName;
    const missing = await apply(md, { dryRun: 'All' });
    assert.ok(missing.status >= 400, `clusterName is required (${missing.status})`);
    assert.match(JSON.stringify(missing.body), /spec\.clusterName: Required/);
  });
});
