/**
 * The Multus attachments of secondary networks: one per network and node, host-device by the
 * port's MAC, static IPAM with the port's address, tuning with the MTU; and the configuration run
 * through the real CNI plugins (Debian's containernetworking-plugins) the way Multus runs a list:
 * a NIC with the port's MAC in a "node" network namespace ends up in a "pod" namespace with the
 * address and MTU, and goes back on DEL. Root, in scratch namespaces: the host's own network is
 * not touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { parseClusterFile } from '../spec/load-cluster.js';
import { cniConfig, networkAttachments, type SecondaryAttachment } from './cluster-multus.js';

const file = parseClusterFile(
  'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\nspec:\n  image: i\n  controlPlane: {flavor: f}\n  workers: {flavor: f}\n',
);

const n2: SecondaryAttachment = {
  node: 'osk-demo-worker-0',
  network: 'n2',
  namespace: 'ran',
  vnicType: 'normal',
  mac: 'fa:16:3e:12:34:56',
  address: '10.30.0.7/24',
  mtu: 1450,
};

test('one attachment per network and node: host-device by MAC, the port’s address, the MTU; none without a subnet', () => {
  const l2: SecondaryAttachment = { ...n2, network: 'fh', vnicType: 'direct', address: undefined, mtu: 9000 };
  const [a, b] = networkAttachments(file, [n2, l2]);
  assert.deepEqual(a!.metadata, {
    name: 'n2-osk-demo-worker-0',
    namespace: 'ran',
    labels: { 'app.kubernetes.io/managed-by': 'osk', 'osk.dev/cluster': 'demo', 'osk.dev/secondary-network': 'n2' },
    annotations: { 'osk.dev/node': 'osk-demo-worker-0', 'osk.dev/vnic-type': 'normal' },
  });
  assert.equal(a!.apiVersion, 'k8s.cni.cncf.io/v1');
  assert.deepEqual(JSON.parse(a!.spec.config), {
    cniVersion: '1.0.0',
    name: 'n2-osk-demo-worker-0',
    plugins: [
      {
        type: 'host-device',
        hwaddr: 'fa:16:3e:12:34:56',
        ipam: { type: 'static', addresses: [{ address: '10.30.0.7/24' }] },
      },
      { type: 'tuning', mtu: 1450 },
    ],
  });
  assert.deepEqual(JSON.parse(b!.spec.config).plugins, [
    { type: 'host-device', hwaddr: 'fa:16:3e:12:34:56' },
    { type: 'tuning', mtu: 9000 },
  ]);
});

const CNI = '/usr/lib/cni';
const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !['host-device', 'static', 'tuning'].every((p) => existsSync(`${CNI}/${p}`))
      ? `needs the CNI plugins in ${CNI} (scripts/install-test-tools.sh)`
      : false;

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Run a configuration list as Multus does: each plugin with the list's name and version, and the previous result. */
function runList(conf: Record<string, unknown>, command: 'ADD' | 'DEL', nodeNs: string, podNs: string): unknown {
  const plugins = conf.plugins as Record<string, unknown>[];
  let prev: unknown;
  for (const p of command === 'ADD' ? plugins : [...plugins].reverse()) {
    const input = { cniVersion: conf.cniVersion, name: conf.name, ...p, ...(prev ? { prevResult: prev } : {}) };
    const r = spawnSync('ip', ['netns', 'exec', nodeNs, `${CNI}/${p.type}`], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'osk-test',
        CNI_NETNS: `/run/netns/${podNs}`,
        CNI_IFNAME: 'net1',
        CNI_PATH: CNI,
        PATH: process.env.PATH,
      },
    });
    assert.equal(r.status, 0, `${p.type} ${command}: ${r.stdout}${r.stderr}`);
    if (command === 'ADD') prev = JSON.parse(r.stdout);
  }
  return prev;
}

test('the real CNI plugins move the port’s NIC into the pod with its address and MTU, and back on DEL', {
  skip,
}, () => {
  const nodeNs = `osk-nad-node-${process.pid}`;
  const podNs = `osk-nad-pod-${process.pid}`;
  ip('netns', 'add', nodeNs);
  ip('netns', 'add', podNs);
  try {
    // The node's NIC of the Neutron port, as the guest sees it: named by PCI order, known by its MAC
    // (a veth: its peer stands in for the wire; this kernel may have no dummy links).
    ip('-n', nodeNs, 'link', 'add', 'ens5', 'address', n2.mac, 'type', 'veth', 'peer', 'name', 'wire5');
    ip('-n', nodeNs, 'link', 'add', 'ens4', 'type', 'veth', 'peer', 'name', 'wire4');
    const result = runList(cniConfig(n2), 'ADD', nodeNs, podNs) as { ips: { address: string }[] };
    assert.deepEqual(
      result.ips.map((x) => x.address),
      ['10.30.0.7/24'],
    );
    const [link] = JSON.parse(ip('-n', podNs, '-j', 'addr', 'show', 'net1')) as {
      address: string;
      mtu: number;
      addr_info: { local: string; prefixlen: number }[];
    }[];
    assert.deepEqual(
      [link!.address, link!.mtu, link!.addr_info.map((x) => `${x.local}/${x.prefixlen}`)],
      [n2.mac, 1450, ['10.30.0.7/24']],
    );
    assert.deepEqual(
      (JSON.parse(ip('-n', nodeNs, '-j', 'link', 'show')) as { ifname: string }[]).map((x) => x.ifname).sort(),
      ['ens4', 'lo', 'wire4', 'wire5'],
      'the NIC with the port’s MAC left the node, the other stayed',
    );
    runList(cniConfig(n2), 'DEL', nodeNs, podNs);
    assert.ok(
      (JSON.parse(ip('-n', nodeNs, '-j', 'link', 'show')) as { address: string }[]).some((x) => x.address === n2.mac),
      'back on the node after DEL',
    );
  } finally {
    spawnSync('ip', ['netns', 'del', podNs]);
    spawnSync('ip', ['netns', 'del', nodeNs]);
  }
});
