/**
 * spec.storage.ceph works: the monitors reach a ceph.conf at the path the oslo configs name,
 * the keyringSecret is mounted where that ceph.conf says the key is, for every component that
 * opens RBD images, under the user the oslo configs log in as.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SecretStore } from '../state/secret-store.js';
import { ExitCode, OskError } from '../errors.js';
import { render } from '../targets/kubernetes/render.js';
import { parseCloudFile } from '../spec/load.js';
import { allObjects } from '../targets/kubernetes/objects.js';

type Obj = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any };

function objectsOf(yaml: string): Obj[] {
  const file = parseCloudFile(yaml, 'cloud.yaml');
  return allObjects(render(file, SecretStore.memory(file.metadata.name)).groups).map((o) => o as Obj);
}

const HA = readFileSync('examples/ha.yaml', 'utf8');
const CUSTOM = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata: { name: rbd }
spec:
  storage:
    backend: ceph
    ceph:
      monitors: ["mon-a.ceph.svc:6789", "[fd00::12]:3300"]
      user: openstack
      keyringSecret: rook-openstack-key
      pools: { volumes: v, images: i, backups: b, vms: m }
`;

/** `key = value` of one section of an INI text. */
function iniValue(text: string, section: string, key: string): string | undefined {
  let current = '';
  for (const line of text.split('\n')) {
    const s = /^\[(.+)\]$/.exec(line);
    if (s) current = s[1]!;
    const kv = /^([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (kv && current === section && kv[1] === key) return kv[2];
  }
  return undefined;
}

function workload(objects: Obj[], kind: string, name: string) {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o.spec.template.spec;
}

/** The file a container sees at `path`, resolved through its mounts and the rendered ConfigMaps. */
function mountedConfigFile(objects: Obj[], pod: any, path: string): string | undefined {
  const c = pod.containers[0];
  const m = c.volumeMounts.find((x: any) => x.mountPath === path);
  if (!m) return undefined;
  const v = pod.volumes.find((x: any) => x.name === m.name);
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v?.configMap?.name);
  return cm?.data?.[m.subPath];
}

for (const [cloud, yaml, expect] of [
  [
    'examples/ha.yaml',
    HA,
    { user: 'cinder', secret: 'ceph-client-keyring', monHost: '10.0.0.11:6789,10.0.0.12:6789,10.0.0.13:6789' },
  ],
  [
    'custom user and Secret',
    CUSTOM,
    { user: 'openstack', secret: 'rook-openstack-key', monHost: 'mon-a.ceph.svc:6789,[fd00::12]:3300' },
  ],
] as const) {
  test(`${cloud}: every RBD user mounts ceph.conf with the monitors, and the keyringSecret where ceph.conf says the key is`, () => {
    const objects = objectsOf(yaml);
    const cinderConf = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cinder-config')!.data![
      'cinder.conf'
    ]!;
    const glanceConf = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'glance-config')!.data![
      'glance-api.conf'
    ]!;
    const novaConf = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'nova-compute-config')!.data![
      'nova.conf'
    ]!;
    const backend = iniValue(cinderConf, 'DEFAULT', 'enabled_backends')!.split(',')[0]!;
    // Each RBD user: the ceph.conf path and the Ceph user its oslo file names.
    const users = [
      {
        kind: 'Deployment',
        name: 'cinder-volume',
        conf: iniValue(cinderConf, backend, 'rbd_ceph_conf'),
        user: iniValue(cinderConf, backend, 'rbd_user'),
      },
      {
        kind: 'Deployment',
        name: 'cinder-backup',
        conf: iniValue(cinderConf, 'DEFAULT', 'backup_ceph_conf'),
        user: iniValue(cinderConf, 'DEFAULT', 'backup_ceph_user'),
      },
      {
        kind: 'Deployment',
        name: 'glance-api',
        conf: iniValue(glanceConf, 'rbd', 'rbd_store_ceph_conf'),
        user: iniValue(glanceConf, 'rbd', 'rbd_store_user'),
      },
      {
        kind: 'DaemonSet',
        name: 'nova-compute',
        conf: iniValue(novaConf, 'libvirt', 'images_rbd_ceph_conf'),
        user: iniValue(novaConf, 'libvirt', 'rbd_user'),
      },
      ...(cloud === 'examples/ha.yaml'
        ? [
            {
              kind: 'DaemonSet',
              name: 'nova-compute-gpu',
              conf: iniValue(novaConf, 'libvirt', 'images_rbd_ceph_conf'),
              user: iniValue(novaConf, 'libvirt', 'rbd_user'),
            },
          ]
        : []),
    ];
    for (const u of users) {
      assert.equal(u.user, expect.user, `${u.name}: the oslo config logs in as the spec's user`);
      assert.ok(u.conf, `${u.name}: its oslo config names a ceph.conf`);
      const pod = workload(objects, u.kind, u.name);
      const cephConf = mountedConfigFile(objects, pod, u.conf);
      assert.ok(cephConf, `${u.name}: ${u.conf} is mounted from a rendered ConfigMap`);
      assert.equal(iniValue(cephConf, 'global', 'mon_host'), expect.monHost, `${u.name}: the monitors`);
      const keyfile = iniValue(cephConf, `client.${u.user}`, 'keyfile');
      assert.ok(keyfile, `${u.name}: ceph.conf has [client.${u.user}] keyfile`);
      // The key file is the "key" of the keyringSecret, mounted at its directory.
      const dir = keyfile.slice(0, keyfile.lastIndexOf('/'));
      assert.equal(keyfile.slice(dir.length + 1), 'key', 'the Secret key the schema documents');
      const mount = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === dir);
      assert.ok(mount, `${u.name}: something is mounted at ${dir}`);
      const vol = pod.volumes.find((v: any) => v.name === mount.name);
      assert.equal(vol.secret?.secretName, expect.secret, `${u.name}: ${dir} is the keyringSecret`);
    }
    // Components that do not open RBD images get neither.
    for (const name of ['cinder-api', 'cinder-scheduler', 'nova-api']) {
      const pod = workload(objects, 'Deployment', name);
      assert.ok(
        !pod.volumes.some((v: any) => v.secret?.secretName === expect.secret || v.configMap?.name === 'ceph-config'),
        name,
      );
    }
  });
}

test('no ceph-config without the Ceph backend', () => {
  const objects = objectsOf(readFileSync('examples/minimal.yaml', 'utf8'));
  assert.ok(!objects.some((o) => o.metadata.name === 'ceph-config'));
});

test('a monitor or user that would change ceph.conf is refused with exit 2 naming the field', () => {
  // Set on the parsed file, bypassing validation: the catalog must hold on its own.
  const refused = (
    edit: (ceph: NonNullable<NonNullable<ReturnType<typeof parseCloudFile>['spec']['storage']>['ceph']>) => void,
    field: RegExp,
  ) => {
    const file = parseCloudFile(CUSTOM, 'cloud.yaml');
    edit(file.spec.storage!.ceph!);
    assert.throws(
      () => render(file, SecretStore.memory(file.metadata.name)),
      (e: unknown) => e instanceof OskError && e.exitCode === ExitCode.invalidInput && field.test(e.message),
    );
  };
  refused((c) => (c.user = 'openstack]\n[global'), /spec\.storage\.ceph\.user/);
  refused((c) => (c.user = 'a b'), /spec\.storage\.ceph\.user/);
  refused((c) => (c.monitors = ['10.0.0.1:6789,10.6.6.6:6789']), /spec\.storage\.ceph\.monitors\[0\]/);
  refused((c) => (c.monitors = ['10.0.0.1:6789\nmon_host = 10.6.6.6']), /spec\.storage\.ceph\.monitors\[0\]/);
  refused((c) => (c.pools.volumes = 'volumes\nrbd_pool = other'), /cinder\.conf \[ceph\] rbd_pool/);
});

test('only the components that open RBD images may reach the Ceph monitors and OSDs', () => {
  const reachesCeph = (o: Obj) =>
    (o.spec?.egress ?? []).some((r: any) => r.ports?.some((p: any) => p.port === 6789 || p.port === 3300));
  const allowed = objectsOf(HA)
    .filter((o) => o.kind === 'NetworkPolicy' && reachesCeph(o))
    .map((o) => o.metadata.name)
    .sort();
  // The APIs, schedulers and conductors never open a disk. nova-compute and libvirt's QEMU do,
  // from the host network, where no NetworkPolicy applies (they get none).
  assert.deepEqual(allowed, ['cinder-backup', 'cinder-volume', 'glance-api']);
  const policies = new Set(
    objectsOf(HA)
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => o.metadata.name),
  );
  for (const hostNet of ['nova-compute', 'libvirt']) assert.ok(!policies.has(hostNet), hostNet);
  const plain = objectsOf(HA.replace(/backend: ceph/, 'backend: lvm'));
  assert.equal(plain.filter((o) => o.kind === 'NetworkPolicy' && reachesCeph(o)).length, 0);
});

test('Nova attaches Ceph volumes: one libvirt secret UUID, kept in the store, named by nova.conf and every RBD backend, defined by the libvirt pods with the key', () => {
  const file = parseCloudFile(CUSTOM, 'cloud.yaml');
  const store = SecretStore.memory(file.metadata.name);
  const objects = allObjects(render(file, store).groups).map((o) => o as Obj);
  const uuid = store.get('nova-libvirt-ceph-secret-uuid');
  assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const conf = (name: string, key: string) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)!.data![key]!;
  // A value of the store: in the configs' Secret part (<file>.d/secrets.conf), never a ConfigMap.
  const secretPart = (bundle: string, file: string) =>
    (objects.find((o) => o.kind === 'Secret' && o.metadata.name === `${bundle}-config-secrets`) as any).stringData[
      `${file}.secrets.conf`
    ] as string;
  assert.equal(iniValue(secretPart('nova-compute', 'nova.conf'), 'libvirt', 'rbd_secret_uuid'), uuid);
  assert.equal(iniValue(conf('nova-compute-config', 'nova.conf'), 'libvirt', 'rbd_user'), 'openstack');
  assert.equal(iniValue(conf('nova-compute-config', 'nova.conf'), 'libvirt', 'rbd_secret_uuid'), undefined);
  const backends = iniValue(conf('cinder-config', 'cinder.conf'), 'DEFAULT', 'enabled_backends')!.split(',');
  assert.ok(backends.length > 0);
  for (const b of backends)
    assert.equal(iniValue(secretPart('cinder', 'cinder.conf'), b, 'rbd_secret_uuid'), uuid, `cinder.conf [${b}]`);
  // The UUID is a credential Secret of its own, created once; the libvirt pod reads it from there.
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'nova-libvirt-ceph-secret');
  assert.ok(secret, 'the UUID Secret is rendered');
  const pod = workload(objects, 'DaemonSet', 'libvirt');
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.secretKeyRef]));
  assert.deepEqual(env.SECRET_UUID, { name: 'nova-libvirt-ceph-secret', key: 'uuid' });
  assert.equal(env.CEPH_USER, 'openstack');
  // The key file the script hands virsh is the keyringSecret's "key".
  const dir = env.CEPH_KEY_FILE.slice(0, env.CEPH_KEY_FILE.lastIndexOf('/'));
  assert.equal(env.CEPH_KEY_FILE.slice(dir.length + 1), 'key');
  const mount = c.volumeMounts.find((m: any) => m.mountPath === dir);
  assert.equal(pod.volumes.find((v: any) => v.name === mount.name).secret.secretName, 'rook-openstack-key');
  assert.match(c.readinessProbe.exec.command.join(' '), /osk-ceph-secret-set/);
  // Stable: a second render with the same store names the same secret.
  const again = allObjects(render(file, store).groups).map((o) => o as Obj);
  const nova = again.find((o) => o.kind === 'Secret' && o.metadata.name === 'nova-compute-config-secrets') as any;
  assert.equal(iniValue(nova.stringData['nova.conf.secrets.conf'], 'libvirt', 'rbd_secret_uuid'), uuid);
});

test('without Ceph there is no libvirt secret, and libvirtd starts as before', () => {
  const lvm = objectsOf(CUSTOM.replace(/ {2}storage:[\s\S]*$/, '  profile: minimal\n'));
  assert.ok(!lvm.some((o) => o.metadata.name === 'nova-libvirt-ceph-secret'));
  const cinder = lvm.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cinder-config')!;
  assert.doesNotMatch(cinder.data!['cinder.conf']!, /rbd_secret_uuid/);
  const libvirt = workload(lvm, 'DaemonSet', 'libvirt');
  assert.deepEqual(libvirt.containers[0].command, [
    'sh',
    '-c',
    'rm -f /run/libvirt/libvirtd.pid; exec libvirtd --listen',
  ]);
});

test("Nova's fake driver on Kubernetes runs no libvirtd: no libvirt DaemonSet, no libvirt secret, nova-compute waits for no libvirt", () => {
  const objects = objectsOf(`${CUSTOM}  services:\n    nova: {hypervisor: fake}\n`);
  assert.ok(!objects.some((o) => o.kind === 'DaemonSet' && o.metadata.name === 'libvirt'));
  assert.ok(!objects.some((o) => o.metadata.name === 'nova-libvirt-ceph-secret'));
  const cinder = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cinder-config')!;
  assert.doesNotMatch(cinder.data!['cinder.conf']!, /rbd_secret_uuid/);
  const compute = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'nova-compute');
  assert.ok(compute);
  assert.doesNotMatch(JSON.stringify(compute.spec.template), /\/run\/libvirt|"libvirt"/);
  const conf = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'nova-compute-config')!;
  assert.equal(iniValue(conf.data!['nova.conf']!, 'DEFAULT', 'compute_driver'), 'fake.FakeDriver');
  // The default (libvirt with KVM) keeps its libvirtd.
  assert.ok(objectsOf(CUSTOM).some((o) => o.kind === 'DaemonSet' && o.metadata.name === 'libvirt'));
});
