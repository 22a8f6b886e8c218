/**
 * The hypervisor `osk up` runs: the cloud file's choice against what the host can do, and the
 * model it gives (the private libvirtd and virtlogd as programs, nova.conf's [libvirt], the
 * packages), next to the fake driver's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { placeholderSecrets } from '../../catalog/context.js';
import { ExitCode, OskError } from '../../errors.js';
import { parseCloudFile } from '../../spec/load.js';
import { statePaths } from '../../state/paths.js';
import { bundleFiles } from './files.js';
import type { HostFacts } from './host-facts.js';
import { chooseHypervisor, decideHostHypervisor, savedHypervisor, saveHypervisorChoice } from './hypervisor-choice.js';
import { libvirtConfigFiles, libvirtLayout, libvirtPrograms } from './libvirt.js';
import { requiredPackages } from './packages.js';
import { hostDeps, localModel } from './up.js';

const HOST: HostFacts = { distro: { id: 'debian', versionId: '12', pretty: 'Debian 12' }, hostname: 'aio', root: true };
const paths = statePaths('lv', '/srv/osk/lv');
const cloud = (hypervisor?: string) =>
  parseCloudFile(
    `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: lv}\nspec:\n  services:\n    nova: {${hypervisor ? `hypervisor: ${hypervisor}` : ''}}\n`,
  );

test('the choice: fake by default and when asked; qemu as root only; auto from the probe, fake with the reason when it cannot', async () => {
  assert.equal(decideHostHypervisor(undefined, 0).hypervisor, 'fake');
  assert.match(decideHostHypervisor(undefined, 0).reason, /default on one host/);
  assert.equal(decideHostHypervisor('fake', 0).hypervisor, 'fake');
  assert.equal(decideHostHypervisor('qemu', 0).hypervisor, 'qemu');
  assert.throws(
    () => decideHostHypervisor('qemu', 1000),
    (e: unknown) => e instanceof OskError && e.exitCode === ExitCode.invalidInput && /uid 1000/.test(e.message),
  );
  const notRoot = decideHostHypervisor('auto', 1000);
  assert.equal(notRoot.hypervisor, 'fake');
  assert.match(notRoot.reason, /needs root/);
  const probed = decideHostHypervisor('auto', 0, { virtType: 'qemu', reason: 'KVM guests hang' });
  assert.deepEqual(probed.hypervisor, 'qemu');
  assert.match(probed.reason, /virt_type=qemu .*KVM guests hang/);
  assert.equal(decideHostHypervisor('auto', 0, { virtType: 'kvm', reason: 'booted' }).hypervisor, 'kvm');
  const failed = decideHostHypervisor('auto', 0, { error: 'the guest image build needs syslinux' });
  assert.equal(failed.hypervisor, 'fake');
  assert.match(failed.reason, /probe could not boot a kernel: the guest image build needs syslinux/);

  let probes = 0;
  const probe = async () => {
    probes++;
    throw new Error('no qemu-img');
  };
  assert.equal((await chooseHypervisor(cloud('qemu'), 0, probe)).hypervisor, 'qemu');
  assert.equal((await chooseHypervisor(cloud(), 0, probe)).hypervisor, 'fake');
  assert.equal(probes, 0, 'only auto probes');
  assert.match((await chooseHypervisor(cloud('auto'), 0, probe)).reason, /no qemu-img/);
  assert.equal(probes, 1);
});

test('the choice is kept in the state for status and down; a cloud without one is fake', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osk-hv-'));
  try {
    const p = statePaths('x', root);
    assert.equal(await savedHypervisor(p), 'fake');
    await saveHypervisorChoice(p, { hypervisor: 'qemu', reason: 'asked' });
    assert.equal(await savedHypervisor(p), 'qemu');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("with qemu the host runs the cloud's virtlogd and libvirtd, and nova-compute drives them with virt_type=qemu", () => {
  const model = localModel(cloud('qemu'), paths, HOST, placeholderSecrets, 'qemu');
  const layout = libvirtLayout(paths);
  const programs = new Map(libvirtPrograms(layout).map((p) => [p.id, p]));
  for (const id of ['virtlogd', 'libvirtd'] as const) {
    const c = model.components.get(id === 'libvirtd' ? 'libvirt' : id)!;
    assert.equal(c.host?.kind, 'process', `${id} runs on the host`);
    if (c.host?.kind !== 'process') continue;
    assert.deepEqual(c.host.command, programs.get(id)!.command, `the model's ${id} is targets/local/libvirt.ts's`);
    assert.deepEqual(c.host.ready, { exec: programs.get(id)!.ready });
  }
  // The config files the catalog writes are the ones libvirt.test.ts boots a guest with.
  assert.deepEqual(bundleFiles(model, 'libvirt'), libvirtConfigFiles(layout));
  const deps = hostDeps(model);
  assert.ok(deps.get('libvirt')!.includes('virtlogd'));
  assert.ok(deps.get('nova-compute')!.includes('libvirt'));
  assert.ok(
    deps.get('nova-compute')!.includes('ovn-controller'),
    'instance ports are bound by the local ovn-controller',
  );

  const conf = bundleFiles(model, 'nova-compute').get('/srv/osk/lv/etc/nova-compute/nova.conf')!;
  assert.match(conf, /^compute_driver = libvirt\.LibvirtDriver$/m);
  assert.match(conf, /^virt_type = qemu$/m);
  assert.match(conf, /^cpu_mode = none$/m);
  assert.ok(conf.includes(`connection_uri = ${layout.uri}`), conf);
  // A real datapath plugs the port, so Nova waits for Neutron's vif-plugged event as it does by default.
  assert.doesNotMatch(conf, /vif_plugging/);
  assert.match(conf, /\[vnc\]\nenabled = false/);

  const pkgs = requiredPackages(model);
  for (const p of ['nova-compute-kvm', 'genisoimage', 'libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86'])
    assert.ok(pkgs.includes(p), `${p} is installed`);
  assert.ok(!pkgs.includes('nova-compute-qemu'), 'not the emulators of every architecture');
  assert.ok(!pkgs.includes('nova-compute-ironic'));
});

test("with qemu the cloud's own Open vSwitch, ovn-controller and external gateway run on the host", () => {
  const model = localModel(cloud('qemu'), paths, HOST, placeholderSecrets, 'qemu');
  const proc = (id: string) => {
    const h = model.components.get(id)?.host;
    assert.equal(h?.kind, 'process', `${id} is a program of the host`);
    return h as Extract<typeof h, { kind: 'process' }>;
  };
  const db = '/srv/osk/lv/run/openvswitch/db.sock';
  assert.ok(proc('ovsdb-server').command.includes(`--remote=punix:${db}`));
  assert.ok(proc('openvswitch').command.includes(`unix:${db}`), "ovs-vswitchd on the cloud's database");
  for (const id of ['ovsdb-server', 'openvswitch', 'ovn-controller', 'external-gateway'])
    assert.equal(
      proc(id).env?.OVS_RUNDIR,
      '/srv/osk/lv/run/openvswitch',
      `${id} never uses the host's /run/openvswitch`,
    );
  const controller = proc('ovn-controller').env!;
  assert.equal(controller.OVN_CHASSIS_NAME, 'aio', 'the chassis is the host Nova reports');
  assert.equal(controller.OVS_DATAPATH, 'netdev', 'the userspace datapath: no kernel module');
  assert.equal(controller.OVN_BRIDGE_MAPPINGS, 'external\nbr-ex');
  const deps = hostDeps(model);
  assert.ok(deps.get('openvswitch')!.includes('ovsdb-server'));
  assert.ok(deps.get('ovn-controller')!.includes('openvswitch'));
  assert.ok(deps.get('external-gateway')!.includes('openvswitch'));
  // os-vif (nova-compute) and libvirtd's ovs-vsctl reach the same database.
  const conf = bundleFiles(model, 'nova-compute').get('/srv/osk/lv/etc/nova-compute/nova.conf')!;
  assert.ok(conf.includes(`[os_vif_ovs]\novsdb_connection = unix:${db}`), conf);
  assert.ok(
    libvirtLayout(paths).binds.some((b) => b.host === '/run/openvswitch' && b.own === '/srv/osk/lv/run/openvswitch'),
  );
});

test('with the fake driver nothing of libvirt runs, as before', () => {
  const model = localModel(cloud(), paths, HOST, placeholderSecrets);
  assert.equal(model.components.get('libvirt')?.host?.kind, 'skip');
  assert.ok(!model.components.has('virtlogd'));
  assert.ok(!model.bundles.has('libvirt'));
  const conf = bundleFiles(model, 'nova-compute').get('/srv/osk/lv/etc/nova-compute/nova.conf')!;
  assert.match(conf, /^compute_driver = fake\.FakeDriver$/m);
  assert.doesNotMatch(conf, /vif_plugging|os_vif_ovs/);
  // No datapath: a registered chassis stands in for ovn-controller.
  assert.equal(model.components.get('openvswitch')?.host?.kind, 'skip');
  assert.equal(model.components.get('ovn-controller')?.host?.kind, 'builtin');
  assert.ok(!model.components.has('ovsdb-server') && !model.components.has('external-gateway'));
});
