/** The cluster file: the example loads; mistakes are located (file:line:col) with the arithmetic or the fix. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { SpecError } from '../errors.js';
import { parseClusterFile } from './load-cluster.js';
import { cniMtu } from './schema-cluster.js';

const HEAD =
  'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\nspec:\n  image: node-image\n';
const problems = (text: string) => {
  try {
    parseClusterFile(text, 'c.yaml');
  } catch (e) {
    return (e as SpecError).problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
  }
  return [];
};

test('examples/cluster.yaml loads, with the defaults filled in', () => {
  const f = parseClusterFile(readFileSync(new URL('../../examples/cluster.yaml', import.meta.url), 'utf8'));
  assert.equal(f.spec.serverGroupPolicy, 'soft-anti-affinity');
  assert.deepEqual(f.spec.apiLoadBalancer, { enabled: true, provider: 'ovn' });
  assert.deepEqual(cniMtu(f.spec), { encapsulation: 'vxlan', overhead: 50, mtu: 1392 });
});

test('examples/cluster-telco.yaml loads: secondary networks of the workers, the group osk makes for them', () => {
  const f = parseClusterFile(readFileSync(new URL('../../examples/cluster-telco.yaml', import.meta.url), 'utf8'));
  assert.deepEqual(
    f.spec.workers.secondaryNetworks.map((n) => [n.name, n.vnicType, n.portSecurity, n.securityGroups]),
    [
      ['n2', 'normal', true, ['n2', 'ran-ops']],
      ['fh', 'direct', false, []],
    ],
  );
  assert.deepEqual(f.spec.controlPlane.secondaryNetworks, []);
  assert.equal(f.spec.securityGroups[0]!.rules.length, 3);
});

test('a CNI MTU that does not fit is refused with the arithmetic, on the field that sets it', () => {
  const base = `${HEAD}  controlPlane: {flavor: f}\n  workers: {flavor: f}\n`;
  assert.deepEqual(problems(`${base}  network: {mtu: 1442}\n  cni: {mtu: 1400}\n`), [
    '9:14 spec.cni.mtu: the CNI MTU 1400 does not fit: node network MTU 1442 − 50 bytes of vxlan = 1392',
  ]);
  assert.deepEqual(problems(`${base}  network: {mtu: 1442}\n  cni: {mtu: 1422, encapsulation: ipip}\n`), []);
});

test('located errors: unknown keys with did-you-mean, host bits, overlapping ranges, even control planes', () => {
  assert.deepEqual(problems(`${HEAD}  controlPlane: {flavor: f, count: 2}\n  workers: {flavr: f}\n`), [
    '7:12 spec.workers.flavor: required field is missing (expected a string)',
    '7:13 spec.workers.flavr: unknown field "flavr"; did you mean "flavor"?',
  ]);
  assert.deepEqual(
    problems(
      `${HEAD}  controlPlane: {flavor: f, count: 2}\n  workers: {flavor: f}\n  network: {cidr: 10.6.0.0/24}\n  cni: {podCidr: 10.6.0.0/16}\n`,
    ),
    [
      '6:36 spec.controlPlane.count: 2 control-plane nodes: etcd needs a majority, so an even count tolerates no more failures than one node fewer',
      '9:18 spec.cni.podCidr: the pod network 10.6.0.0/16 overlaps the node subnet 10.6.0.0/24',
    ],
  );
  assert.match(
    problems(`${HEAD}  controlPlane: {flavor: f}\n  workers: {flavor: f}\n  network: {cidr: 10.6.0.1/24}\n`)[0]!,
    /^8:19 spec.network.cidr: 10.6.0.1\/24 has host bits set/,
  );
  assert.match(problems(HEAD.replace('KubernetesCluster', 'Cloud'))[0]!, /kind: must be "KubernetesCluster"/);
});

test('secondary networks: port security and security groups are checked together, located, with the way out', () => {
  const base = `${HEAD}  controlPlane: {flavor: f}\n  securityGroups:\n    - name: n2\n      rules: [{protocol: sctp, ports: "38412", from: 10.20.0.0/16}]\n  workers:\n    flavor: f\n    secondaryNetworks:\n`;
  const ok = parseClusterFile(`${base}      - {name: n2, network: telco-n2, securityGroups: [n2]}\n`);
  assert.deepEqual(ok.spec.workers.secondaryNetworks, [
    {
      name: 'n2',
      network: 'telco-n2',
      vnicType: 'normal',
      portSecurity: true,
      securityGroups: ['n2'],
      namespace: 'default',
    },
  ]);
  assert.deepEqual(problems(`${base}      - {name: n2, network: n, portSecurity: false, securityGroups: [n2]}\n`), [
    '13:69 spec.workers.secondaryNetworks.0.securityGroups: portSecurity: false with 1 security group(s): Neutron applies security groups only to a port with port security',
  ]);
  assert.deepEqual(
    problems(
      `${base}      - {name: n2, network: n}\n      - {name: n2, network: m, vnicType: direct, portSecurity: false}\n`,
    ),
    [
      '13:9 spec.workers.secondaryNetworks.0: secondary network n2 has port security and no security group: OVN would drop every packet of the port',
      "14:16 spec.workers.secondaryNetworks.1.name: a second secondary network named n2: the names make the ports' names",
    ],
  );
  assert.deepEqual(problems(`${base}      - {name: n2, network: n, vnicType: macvtap, securityGroups: [a, a]}\n`), [
    '13:42 spec.workers.secondaryNetworks.0.vnicType: expected one of "normal", "direct", found "macvtap"',
  ]);
  assert.deepEqual(problems(`${base}      - {name: n2, network: n, securityGroups: [a, a]}\n`), [
    '13:52 spec.workers.secondaryNetworks.0.securityGroups.1: security group a is named twice',
  ]);
  assert.deepEqual(
    problems(
      `${HEAD}  controlPlane: {flavor: f}\n  workers: {flavor: f}\n  securityGroups:\n    - {name: a, rules: [{protocol: udp, ports: "9-2", from: 10.0.0.1/8}]}\n`,
    ),
    [
      '9:48 spec.securityGroups.0.rules.0.ports: expected ports from 1 to 65535, the first ≤ the last, found "9-2"',
      '9:61 spec.securityGroups.0.rules.0.from: 10.0.0.1/8 has host bits set: the network of that address is not 10.0.0.1/8',
    ],
  );
  assert.deepEqual(
    problems(
      `${base}      - {name: n2, network: n, securityGroups: [n2]}\n`
        .replace('ports: "38412"', 'protocol: icmp, ports: "1"')
        .replace('protocol: sctp, ', ''),
    ),
    ['9:39 spec.securityGroups.0.rules.0.ports: ports with protocol icmp: only tcp, udp and sctp have ports'],
  );
});
