/** The all-in-one model: what runs on a host, how, in which order, and what is refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placeholderSecrets } from '../../catalog/context.js';
import { ExitCode, OskError } from '../../errors.js';
import { parseCloudFile } from '../../spec/load.js';
import { DEFAULT_CLOUD_YAML } from './cloud.js';
import { bundleFiles, hostComponents } from './files.js';
import { checkDistro, readOsRelease, type HostFacts } from './host-facts.js';
import { requiredPackages } from './packages.js';
import { statePaths } from '../../state/paths.js';
import { hostDeps, hostOrder, localModel } from './up.js';

const HOST: HostFacts = {
  distro: { id: 'debian', versionId: '12', pretty: 'Debian 12' },
  hostname: 'aio',
  root: true,
};
const paths = statePaths('default', '/srv/osk/default');
const model = localModel(parseCloudFile(DEFAULT_CLOUD_YAML, 'builtin'), paths, HOST, placeholderSecrets);

test('every component says how it runs on a host; skipped ones say why', () => {
  for (const c of model.components.values()) {
    assert.ok(c.host, `${c.id} has no host declaration`);
    if (c.host.kind === 'skip') assert.ok(c.host.why.length > 20, `${c.id}: the reason must explain itself`);
    if (c.host.kind === 'process' || c.host.kind === 'step')
      assert.ok(c.host.packages.length > 0, `${c.id} names no package`);
  }
  const skipped = [...model.components.values()]
    .filter((c) => c.host?.kind === 'skip')
    .map((c) => c.id)
    .sort();
  assert.deepEqual(skipped, [
    'cinder-backup',
    'libvirt',
    'neutron-ovn-metadata-agent',
    'nova-metadata',
    'nova-novncproxy',
    'openvswitch',
  ]);
});

test('host configs use loopback, the state dir and Debian paths, never container paths', () => {
  const files = new Map<string, string>();
  // The bundles a host program or step reads (Job-only bundles like osk-scripts are never written).
  const read = new Set(
    hostComponents(model).flatMap((c) =>
      c.host!.kind === 'process' || c.host!.kind === 'step' ? (c.configs ?? []) : [],
    ),
  );
  for (const b of read) for (const [p, t] of bundleFiles(model, b)) files.set(p, t);
  assert.ok(files.size >= 10, `only ${files.size} files`);
  for (const [path, text] of files) {
    assert.ok(path.startsWith('/srv/osk/default/etc/'), `${path} is outside the state dir`);
    assert.doesNotMatch(
      text,
      /\/var\/lib\/(nova|glance|cinder|neutron|openstack)|svc\.cluster\.local|0\.0\.0\.0/,
      `${path} has a container path or address`,
    );
  }
  const nova = files.get('/srv/osk/default/etc/nova/nova.conf')!;
  assert.match(nova, /^compute_driver = fake\.FakeDriver$/m);
  assert.match(nova, /^host = aio$/m);
  assert.match(nova, /^transport_url = rabbit:\/\/nova:<rabbitmq-nova-password>@127\.0\.0\.1:5672\/nova$/m);
  const cinder = files.get('/srv/osk/default/etc/cinder/cinder.conf')!;
  assert.match(cinder, /^volume_driver = cinder\.tests\.fake_driver\.FakeLoggingVolumeDriver$/m);
  // The compute node's file has no database credentials, on a host too.
  assert.doesNotMatch(files.get('/srv/osk/default/etc/nova-compute/nova.conf')!, /^connection = /m);
});

test('listeners bind to loopback only', () => {
  for (const c of hostComponents(model)) {
    const h = c.host!;
    if (h.kind !== 'process') continue;
    const cmd = h.command.join(' ');
    assert.doesNotMatch(cmd, /0\.0\.0\.0/, `${c.id}: ${cmd}`);
  }
  const rabbit = [...bundleFiles(model, 'rabbitmq').values()].join('\n');
  assert.match(rabbit, /^listeners\.tcp\.1 = 127\.0\.0\.1:5672$/m);
});

test('the host graph keeps the plan order: schema before API, keystone before service users, compute before discovery', () => {
  const order = hostOrder(model);
  const before = (a: string, b: string) => assert.ok(order.indexOf(a) < order.indexOf(b), `${a} must come before ${b}`);
  before('mariadb', 'keystone-db-init');
  before('keystone-db-sync', 'keystone-api');
  before('keystone-bootstrap', 'nova-ks-user');
  before('nova-db-sync', 'nova-api');
  before('nova-compute', 'nova-cell-setup');
  before('ovn-sb', 'ovn-controller');
  const deps = hostDeps(model);
  assert.ok(deps.get('nova-cell-setup')!.includes('nova-compute'));
  // Edges to skipped components are dropped, not left dangling.
  for (const [id, ds] of deps)
    for (const d of ds) assert.ok(deps.has(d), `${id} waits for ${d}, which does not run on the host`);
});

test('the packages are the union of what the components declare', () => {
  const pkgs = requiredPackages(model);
  for (const p of [
    'mariadb-server',
    'rabbitmq-server',
    'memcached',
    'keystone',
    'nova-compute',
    'nova-compute-ironic',
    'neutron-server',
    'ovn-central',
    'cinder-volume',
    'uwsgi-plugin-python3',
  ])
    assert.ok(pkgs.includes(p), p);
  assert.ok(!pkgs.includes('libvirt-daemon-system'), 'the fake hypervisor needs no libvirt');
});

test('os-release is read for the distribution check', () => {
  assert.deepEqual(readOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'), {
    id: 'debian',
    versionId: '12',
    pretty: 'Debian GNU/Linux 12 (bookworm)',
  });
});

test('a host that is not Debian 12 gets a clear refusal, not a crash', () => {
  assert.doesNotThrow(() => checkDistro(HOST));
  assert.throws(
    () =>
      checkDistro({
        ...HOST,
        distro: readOsRelease('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n'),
      }),
    (e: unknown) =>
      e instanceof OskError &&
      e.exitCode === ExitCode.invalidInput &&
      /Debian 12's packages, and this host is Ubuntu 24\.04\.1 LTS/.test(e.message) &&
      /osk apply/.test(e.hint ?? ''),
  );
  assert.throws(
    () => checkDistro({ ...HOST, distro: readOsRelease('') }),
    /not a Linux distribution with \/etc\/os-release/,
  );
});
