/**
 * Properties of the rendered objects, checked on several clouds: schema-valid, complete
 * (everything referenced is rendered), safe (no credential in a ConfigMap), stable (same store →
 * same bytes) and consistent with the plan (every host in a config is a rendered Service).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { allPinnedImages } from '../../catalog/images.js';
import { SecretStore } from '../../state/secret-store.js';
import { render } from './render.js';
import { parseCloudFile } from '../../spec/load.js';
import { allObjects } from './objects.js';
import { toMultiDocYaml } from './yaml.js';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const CLOUDS: Record<string, string> = {
  minimal: readFileSync('examples/minimal.yaml', 'utf8'),
  ha: readFileSync('examples/ha.yaml', 'utf8'),
  bare: 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: bare, namespace: cloud}\n',
  haLocal:
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: hl}\nspec:\n  profile: ha\n  release: "2024.2"\n  endpoints: {publicDomain: x.example.org}\n',
  octavia:
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: lb}\nspec:\n  services: {octavia: {enabled: true}}\n',
  nodePorts:
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: np}\nspec:\n  endpoints: {nodePorts: {address: 10.250.0.2}}\n',
  // Neutron without Nova: no metadata agent (it proxies to Nova's metadata API with Nova's secret).
  neutronNoNova:
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: nn}\nspec:\n  release: "2025.1"\n  services: {nova: {enabled: false}, cinder: {enabled: false}, horizon: {enabled: false}}\n',
  noHorizonCinder:
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: small}\nspec:\n  release: "2025.2"\n  services: {horizon: {enabled: false}, cinder: {enabled: false}}\n',
};

function rendered(name: string, store = SecretStore.memory(parseCloudFile(CLOUDS[name]!).metadata.name)) {
  const file = parseCloudFile(CLOUDS[name]!, name);
  const { groups, model } = render(file, store);
  return { groups, model, store, objects: allObjects(groups).map((o) => o as Obj) };
}

/** Secrets a cloud file names that its user creates (osk renders none of them). */
function userSecrets(name: string): { ceph?: string } {
  const ceph = parseCloudFile(CLOUDS[name]!).spec.storage?.ceph;
  return ceph ? { ceph: ceph.keyringSecret } : {};
}

function podSpecs(objects: Obj[]): { owner: string; spec: any; meta: any }[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))
    .map((o) => ({
      owner: `${o.kind}/${o.metadata.name}`,
      spec: o.spec.template.spec,
      meta: o.spec.template.metadata,
    }));
}

for (const name of Object.keys(CLOUDS)) {
  test(`${name}: every container has resources, and long-running ones have probes`, () => {
    const { objects } = rendered(name);
    for (const { owner, spec } of podSpecs(objects)) {
      for (const c of spec.containers) {
        assert.ok(
          c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
          `${owner} resources`,
        );
        if (!owner.startsWith('Job/')) assert.ok(c.readinessProbe && c.livenessProbe, `${owner} probes`);
      }
    }
  });

  // An oslo WSGI app under uwsgi gets no --config-dir: oslo reads /etc/<project>/<project>.conf.d
  // by itself, so the credentials must be there or the API starts without them (Glance did).
  test(`${name}: the credentials of an API under uwsgi are in the config dir oslo finds by itself`, () => {
    const { objects } = rendered(name);
    let seen = 0;
    for (const { owner, spec } of podSpecs(objects))
      for (const c of spec.containers)
        if (c.command?.[0] === 'uwsgi')
          for (const m of (c.volumeMounts ?? []) as { mountPath: string }[])
            if (m.mountPath.endsWith('/secrets.conf')) {
              seen++;
              assert.match(m.mountPath, /^\/etc\/([a-z]+)\/\1\.conf\.d\/secrets\.conf$/, owner);
            }
    if (name !== 'bare') assert.ok(seen > 0, 'some API runs under uwsgi');
  });

  // neutron.wsgi.api reads the files its sys.argv names (uwsgi's pyargv), else only Neutron's
  // defaults (/etc/neutron/neutron.conf, plugins/ml2/ml2_conf.ini): on a real node the API
  // started without the ML2/OVN file osk mounts and refused to load ("None of the supported
  // mechanism drivers found").
  test(`${name}: Neutron's API under uwsgi is told every oslo file mounted for it`, () => {
    const { objects } = rendered(name);
    const server = podSpecs(objects).find((p) => p.owner === 'Deployment/neutron-server');
    const c = server?.spec.containers[0];
    if (c?.command?.[0] !== 'uwsgi') return;
    const mounts = (c.volumeMounts ?? []) as { name: string; mountPath: string; subPath?: string }[];
    const iniPath = c.command[c.command.indexOf('--ini') + 1];
    const iniMount = mounts.find((m) => m.mountPath === iniPath)!;
    const volume = server!.spec.volumes.find((v: any) => v.name === iniMount.name);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name)!;
    const pyargv = /^pyargv = (.*)$/m.exec(cm.data![iniMount.subPath!]!)?.[1]?.split(' ') ?? [];
    const osloFiles = mounts.filter((m) => /\.(conf|ini)$/.test(m.mountPath) && m.mountPath !== iniPath);
    assert.ok(osloFiles.length >= 2, 'neutron.conf and ml2_conf.ini are mounted');
    for (const m of osloFiles) {
      const dir = /^(.*\.conf\.d)\/[^/]+$/.exec(m.mountPath)?.[1];
      const arg = dir ? ['--config-dir', dir] : ['--config-file', m.mountPath];
      assert.ok(
        pyargv.some((a, i) => a === arg[0] && pyargv[i + 1] === arg[1]),
        `${arg.join(' ')} in pyargv (${pyargv.join(' ')})`,
      );
    }
  });

  test(`${name}: everything a pod references is rendered`, () => {
    const { objects } = rendered(name);
    const have = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const { owner, spec } of podSpecs(objects)) {
      assert.ok(have.has(`ServiceAccount/${spec.serviceAccountName}`), `${owner} service account`);
      for (const v of spec.volumes ?? []) {
        if (v.configMap) assert.ok(have.has(`ConfigMap/${v.configMap.name}`), `${owner} ConfigMap ${v.configMap.name}`);
        // The Ceph key is the user's (or Rook's) Secret, named by storage.ceph.keyringSecret.
        if (v.secret && v.secret.secretName !== userSecrets(name).ceph)
          assert.ok(have.has(`Secret/${v.secret.secretName}`), `${owner} Secret ${v.secret.secretName}`);
        if (v.persistentVolumeClaim)
          assert.ok(have.has(`PersistentVolumeClaim/${v.persistentVolumeClaim.claimName}`), `${owner} PVC`);
      }
      for (const c of spec.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
          assert.ok(
            secret?.stringData && ref.key in secret.stringData,
            `${owner} env ${e.name} → ${ref.name}/${ref.key}`,
          );
        }
        // Every file mounted from a ConfigMap or Secret exists in it.
        for (const m of c.volumeMounts ?? []) {
          const v = spec.volumes.find((x: any) => x.name === m.name);
          if (!m.subPath) continue;
          const src = v.configMap
            ? objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name)?.data
            : objects.find((o) => o.kind === 'Secret' && o.metadata.name === v.secret.secretName)?.stringData;
          assert.ok(src && m.subPath in src, `${owner} mounts ${m.mountPath} from ${m.name}:${m.subPath}`);
        }
      }
    }
    for (const o of objects.filter((x) => x.kind === 'Ingress'))
      for (const r of o.spec.rules)
        for (const p of r.http.paths) assert.ok(have.has(`Service/${p.backend.service.name}`));
    for (const o of objects.filter((x) => x.kind === 'StatefulSet'))
      assert.ok(have.has(`Service/${o.spec.serviceName}`), `${o.metadata.name} governing service`);
  });

  test(`${name}: every host in a generated config is a rendered Service`, () => {
    const { objects, model } = rendered(name);
    const ns = model.ctx.namespace;
    const services = new Set(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
    const texts = objects
      .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret')
      .flatMap((o) => Object.values(o.data ?? o.stringData ?? {}));
    const hosts = new Set<string>();
    for (const t of texts)
      for (const m of t.matchAll(new RegExp(`([a-z0-9.-]+)\\.${ns}\\.svc\\.cluster\\.local`, 'g'))) hosts.add(m[1]!);
    assert.ok(hosts.size >= 5);
    for (const h of hosts) {
      // <service> or <pod>.<headless service>
      const svc = h.includes('.') ? h.split('.').at(-1)! : h;
      assert.ok(services.has(svc), `host ${h}.${ns}.svc.cluster.local has no Service ${svc}`);
      if (h.includes('.')) {
        const [pod] = h.split('.');
        const sts = objects.find((o) => o.kind === 'StatefulSet' && o.spec.serviceName === svc)!;
        const ordinal = Number(pod!.slice(sts.metadata.name.length + 1));
        assert.ok(ordinal < sts.spec.replicas, `${pod} exists (replicas ${sts.spec.replicas})`);
      }
    }
  });

  test(`${name}: every graph edge from a config value is backed by that value`, () => {
    const { model } = rendered(name);
    for (const e of model.edges) {
      const m = /^([\w.-]+\.(?:conf|ini)) \[(\w+)\] (\w+): host (\S+)$/.exec(e.why);
      if (!m) continue;
      const [, file, section, key, host] = m;
      const bundle = [...model.bundles.values()].flatMap((b) => b.files).find((f) => f.name === file)!;
      assert.ok('ini' in bundle);
      const entry = bundle.ini.get(section!, key!);
      assert.ok(
        entry && JSON.stringify(entry.value).includes(host!),
        `${e.from} → ${e.to}: ${file} [${section}] ${key} contains ${host}`,
      );
    }
  });

  test(`${name}: no credential appears in a ConfigMap, a pod spec or an annotation`, () => {
    const { objects, store } = rendered(name);
    const values = Object.values(store.entries());
    assert.ok(values.length > 10);
    for (const o of objects.filter((x) => x.kind !== 'Secret')) {
      const text = JSON.stringify(o);
      for (const v of values) assert.ok(!text.includes(v), `${o.kind}/${o.metadata.name} contains a credential`);
    }
  });

  test(`${name}: every image is in the pinned table`, () => {
    const pinned = allPinnedImages();
    for (const { owner, spec } of podSpecs(rendered(name).objects))
      for (const c of spec.containers) assert.ok(pinned.has(c.image), `${owner}: ${c.image}`);
  });
}

test('re-rendering with the same secret store gives byte-identical output', () => {
  const file = parseCloudFile(CLOUDS.ha!);
  const store = SecretStore.memory('prod');
  const a = toMultiDocYaml(allObjects(render(file, store).groups));
  const b = toMultiDocYaml(allObjects(render(file, SecretStore.memory('prod', store.entries())).groups));
  assert.equal(a, b);
  const other = toMultiDocYaml(allObjects(render(file, SecretStore.memory('prod')).groups));
  assert.notEqual(a, other, 'a fresh store has fresh credentials');
});

test('a config change renames the Jobs that read it and rolls the pods that mount it', () => {
  const base = CLOUDS.minimal!;
  const changed = base.replace('expiration: 3600', 'expiration: 7200');
  const store = SecretStore.memory('demo');
  const objs = (t: string) => allObjects(render(parseCloudFile(t), store).groups).map((o) => o as Obj);
  const [a, b] = [objs(base), objs(changed)];
  const jobs = (x: Obj[]) => x.filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
  assert.ok(jobs(a).some((n) => n.startsWith('keystone-db-sync-')));
  assert.notDeepEqual(
    jobs(a).filter((n) => n.startsWith('keystone-db-sync-')),
    jobs(b).filter((n) => n.startsWith('keystone-db-sync-')),
  );
  assert.deepEqual(
    jobs(a).filter((n) => n.startsWith('nova-db-sync-')),
    jobs(b).filter((n) => n.startsWith('nova-db-sync-')),
    'nova jobs unchanged',
  );
  const hash = (x: Obj[], n: string) =>
    x.find((o) => o.kind === 'Deployment' && o.metadata.name === n)!.spec.template.metadata.annotations[
      'osk.dev/config-hash'
    ];
  assert.notEqual(hash(a, 'keystone-api'), hash(b, 'keystone-api'));
  assert.equal(hash(a, 'nova-api'), hash(b, 'nova-api'));
  for (const n of jobs(a)) assert.ok(n.length <= 63, n);
});

test('ha: PodDisruptionBudgets and anti-affinity for replicated components, Ingress with TLS', () => {
  const { objects } = rendered('ha');
  const pdbs = new Set(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name));
  for (const n of ['mariadb', 'rabbitmq', 'keystone-api', 'nova-api', 'neutron-server'])
    assert.ok(pdbs.has(n), `PDB ${n}`);
  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'mariadb')!;
  assert.equal(
    sts.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey,
    'kubernetes.io/hostname',
  );
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.storageClassName, 'fast-ssd');
  const ing = objects.find((o) => o.kind === 'Ingress' && o.metadata.name === 'keystone-api')!;
  assert.equal(ing.spec.rules[0].host, 'identity.cloud.example.com');
  assert.equal(ing.metadata.annotations!['cert-manager.io/cluster-issuer'], 'letsencrypt-prod');
  const gpu = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'nova-compute-gpu')!;
  assert.equal(gpu.spec.template.spec.nodeSelector['nvidia.com/gpu.present'], 'true');
  assert.deepEqual(
    objects
      .filter((o) => o.kind === 'StorageClass')
      .map((o) => o.metadata.name)
      .sort(),
    ['cinder-ceph-gold', 'cinder-ceph-ssd'],
  );
});

test('minimal: one replica, no PDBs, Horizon on the requested NodePort', () => {
  const { objects } = rendered('minimal');
  assert.equal(objects.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet'))
    assert.equal(o.spec.replicas, 1, o.metadata.name);
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'horizon')!;
  assert.equal(svc.spec.type, 'NodePort');
  assert.equal(svc.spec.ports[0].nodePort, 30080);
  // Django answers only the Host names it allows: a NodePort is reached by any node's address.
  assert.deepEqual(horizonSettings(objects).allowed_hosts, ['localhost', 'horizon.openstack.svc.cluster.local', '*']);
});

test("Horizon on a NodePort of endpoints.nodePorts' address allows exactly that name", () => {
  const file = parseCloudFile(
    `${CLOUDS.minimal!.replace('spec:\n', 'spec:\n  endpoints:\n    nodePorts: {address: 192.0.2.10}\n')}`,
    'cloud.yaml',
  );
  const objects = allObjects(render(file, SecretStore.memory(file.metadata.name)).groups) as any[];
  assert.deepEqual(horizonSettings(objects).allowed_hosts, [
    'localhost',
    'horizon.openstack.svc.cluster.local',
    '192.0.2.10',
  ]);
});

test("Horizon's pod loads osk's settings module from its config mount and writes nothing into the image", () => {
  const { objects } = rendered('minimal');
  const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'horizon')!.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
  assert.equal(env.DJANGO_SETTINGS_MODULE, 'osk_dashboard_settings');
  assert.equal(env.PYTHONPATH, '/etc/openstack-dashboard');
  const mounted = c.volumeMounts.map((m: any) => m.mountPath);
  for (const f of ['local_settings.py', 'osk_dashboard_settings.py', 'osk_dashboard_wsgi.py'])
    assert.ok(mounted.includes(`/etc/openstack-dashboard/${f}`), f);
  // Debian's package directory is root's; the pod runs as 42424 ("Permission denied" on a real node).
  assert.doesNotMatch(c.command.join(' '), /\bln\b/);
  assert.match(c.command.join(' '), /--module osk_dashboard_wsgi:application/);
});

/** The settings osk hands Horizon's local_settings (the JSON of its environment). */
function horizonSettings(objects: any[]): { allowed_hosts: string[] } {
  const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'horizon').spec.template.spec;
  const env = pod.containers[0].env.find((e: any) => e.name === 'OSK_DASHBOARD');
  assert.ok(env, JSON.stringify(pod.containers[0].env));
  return JSON.parse(env.value);
}

test('network policies: default deny, and each allowed connection is an edge of the plan', () => {
  const { objects, model } = rendered('minimal');
  const deny = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny')!;
  assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const mariadbPolicy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'mariadb')!;
  const sources = mariadbPolicy.spec.ingress
    .flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels?.['osk.dev/component']))
    .sort();
  const expected = [
    ...new Set(model.edges.filter((e) => e.to === 'mariadb' && e.port === 3306).map((e) => e.from)),
  ].sort();
  assert.deepEqual(sources, expected);
  assert.ok(!sources.includes('horizon'));
});

test('the namespace group comes first and groups follow the plan waves', () => {
  const { groups } = rendered('minimal');
  assert.match(groups[0]!.name, /^000-namespace$/);
  assert.match(groups[1]!.name, /^001-secrets$/);
  const waves = groups.filter((g) => g.wave !== undefined).map((g) => g.wave!);
  assert.deepEqual(
    waves,
    [...waves].sort((a, b) => a - b),
  );
});

test('ha: each compute agent runs on every ordinary compute node, its -gpu twin on every GPU node, none on the control plane', async () => {
  const { eligibleNodes } = await import('./placement.js');
  const node = (name: string, labels: Record<string, string>) => ({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  });
  const nodes = [
    ...['cp-1', 'cp-2', 'cp-3'].map((n) => node(n, { 'openstack-control-plane': 'enabled' })),
    ...['compute-1', 'compute-2', 'compute-3'].map((n) => node(n, { 'openstack-compute-node': 'enabled' })),
    // A node with only one of the two GPU labels is not a GPU node.
    node('compute-4', { 'openstack-compute-node': 'enabled', 'nvidia.com/gpu.present': 'false' }),
    ...['gpu-1', 'gpu-2'].map((n) =>
      node(n, { 'openstack-compute-node': 'enabled', 'nvidia.com/gpu.present': 'true' }),
    ),
  ];
  const { objects } = rendered('ha');
  const agents = ['nova-compute', 'libvirt', 'openvswitch', 'ovn-controller', 'neutron-ovn-metadata-agent'];
  for (const id of agents) {
    for (const [name, want] of [
      [id, ['compute-1', 'compute-2', 'compute-3', 'compute-4']],
      [`${id}-gpu`, ['gpu-1', 'gpu-2']],
    ] as const) {
      const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === name);
      assert.ok(ds, `DaemonSet ${name} is rendered`);
      assert.deepEqual(
        eligibleNodes(ds.spec.template.spec, nodes, true).map((n) => n.metadata.name),
        want,
        name,
      );
    }
  }
});
