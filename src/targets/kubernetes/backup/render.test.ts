/**
 * The backup group of a rendered cloud: schema-valid objects (kubernetes-models for the built-in
 * kinds, the Schedule CRD's fields for Velero), a CronJob per database with the spec's schedule
 * and Forbid, the claim, credentials only through Secrets, a label selector that covers every
 * object osk renders, and nothing at all when spec.backup.enabled is false.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { backupScripts } from './scripts.js';
import { allPinnedImages } from '../../../catalog/images.js';
import { SecretStore } from '../../../state/secret-store.js';
import { objectsNeedingCrds } from '../monitoring/crds.js';
import { render } from '../render.js';
import { parseCloudFile } from '../../../spec/load.js';
import { allObjects } from '../objects.js';
import { cronPeriodMinutes } from '../../../spec/cron.js';
import { veleroTtl } from './velero.js';
import { validateKube } from '../testing/schema.js';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const MINIMAL = readFileSync('examples/minimal.yaml', 'utf8');
const HA = readFileSync('examples/ha.yaml', 'utf8');
const OFFSITE = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata: {name: off, namespace: cloud}
spec:
  storage: {storageClass: rbd}
  backup:
    schedule: "30 1 * * 0"
    copies: 4
    offsite: {url: "s3://bucket/osk/", endpoint: "http://minio.example:9000", credentialsSecret: my-s3}
`;
const BARE = 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: bare}\n';

function rendered(text: string) {
  const file = parseCloudFile(text);
  const store = SecretStore.memory(file.metadata.name);
  const { groups, model } = render(file, store);
  const group = groups.find((g) => /^\d+-backup$/.test(g.name));
  return {
    groups,
    model,
    store,
    group,
    objects: allObjects(groups).map((o) => o as Obj),
    backup: (group?.objects ?? []).map((o) => o as Obj),
  };
}

const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
};
const podSpec = (cj: Obj) => cj.spec.jobTemplate.spec.template.spec;
const containers = (cj: Obj): any[] => [...(podSpec(cj).initContainers ?? []), ...podSpec(cj).containers];

test('every backup object passes its schema (kubernetes-models, and the Schedule CRD fields)', () => {
  for (const text of [MINIMAL, HA, OFFSITE, BARE]) {
    const { group } = rendered(text);
    assert.ok(group && group.objects.length >= 6);
    for (const o of group.objects) validateKube(o);
  }
  // The validation is real: a broken CronJob is refused.
  const { group } = rendered(MINIMAL);
  const cj = group!.objects.find((o) => o.kind === 'CronJob')! as any;
  const saved = cj.spec.concurrencyPolicy;
  cj.spec.concurrencyPolicy = 'Sometimes';
  assert.throws(() => validateKube(cj));
  cj.spec.concurrencyPolicy = saved;
});

test('CronJobs: the spec schedule, Forbid, the claim, mariadb-0 beside its data, every script in the ConfigMap', () => {
  const { backup, model } = rendered(HA);
  const ns = model.ctx.namespace;
  for (const name of ['backup-mariadb', 'backup-ovn']) {
    const cj = find(backup, 'CronJob', name);
    assert.equal(cj.spec.schedule, '0 2 * * *');
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
    const spec = podSpec(cj);
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(
      spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels[
        'statefulset.kubernetes.io/pod-name'
      ],
      'mariadb-0',
    );
    const claims = spec.volumes
      .filter((v: any) => v.persistentVolumeClaim)
      .map((v: any) => v.persistentVolumeClaim.claimName);
    assert.ok(claims.includes('osk-backups'));
    for (const c of containers(cj)) {
      assert.ok(allPinnedImages().has(c.image), `${name}: ${c.image} is pinned`);
      assert.equal(c.command[0], 'sh');
      const script = c.command[1].replace('/etc/osk-backup/', '');
      assert.ok(script in backupScripts(), `${name} runs ${script}`);
      for (const m of c.volumeMounts)
        assert.ok(
          spec.volumes.some((v: any) => v.name === m.name),
          `${name}: mount ${m.name} has a volume`,
        );
    }
  }
  const mdb = find(backup, 'CronJob', 'backup-mariadb');
  const data = podSpec(mdb).volumes.find((v: any) => v.name === 'mariadb-data');
  assert.deepEqual(data.persistentVolumeClaim, { claimName: 'data-mariadb-0', readOnly: true });
  const env = Object.fromEntries(containers(mdb)[0].env.map((e: any) => [e.name, e]));
  assert.equal(env.MARIADB_HOST.value, `mariadb-0.mariadb-headless.${ns}.svc.cluster.local`);
  assert.equal(env.COPIES.value, '7');
  const ovnEnv = Object.fromEntries(
    containers(find(backup, 'CronJob', 'backup-ovn'))[0].env.map((e: any) => [e.name, e.value]),
  );
  assert.equal(ovnEnv.OVN_NB_REMOTES!.split(',').length, 3, 'every RAFT member of NB');
  const pvc = find(backup, 'PersistentVolumeClaim', 'osk-backups');
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce']);
  assert.equal(pvc.spec.resources.requests.storage, '50Gi');
  const cm = find(backup, 'ConfigMap', 'osk-backup-config');
  assert.deepEqual(Object.keys(cm.data!).sort(), Object.keys(backupScripts()).sort());
  assert.ok(find(backup, 'ServiceAccount', 'osk-backup'));
});

test('credentials reach the backup pods only from Secrets, never a ConfigMap or a command line', () => {
  const { objects, backup, store } = rendered(OFFSITE);
  const mdb = find(backup, 'CronJob', 'backup-mariadb');
  const [backupC, offsite] = containers(mdb);
  const pw = backupC.env.find((e: any) => e.name === 'MARIADB_ROOT_PASSWORD');
  assert.deepEqual(pw.valueFrom.secretKeyRef, { name: 'mariadb-root', key: 'password' });
  const secret = find(objects, 'Secret', 'mariadb-root');
  assert.ok(secret.stringData && 'password' in secret.stringData, 'the referenced Secret and key are rendered');
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
    assert.equal(offsite.env.find((e: any) => e.name === key).valueFrom.secretKeyRef.name, 'my-s3');
  assert.equal(offsite.env.find((e: any) => e.name === 'S3_ENDPOINT').value, 'http://minio.example:9000');
  assert.equal(offsite.env.find((e: any) => e.name === 'OFFSITE_URL').value, 's3://bucket/osk/off');
  const values = Object.values(store.entries());
  assert.ok(values.length > 5);
  for (const o of backup.filter((x) => x.kind !== 'Secret'))
    for (const v of values)
      assert.ok(!JSON.stringify(o).includes(v), `${o.kind}/${o.metadata.name} carries a credential`);
  // No container passes a secret-looking option on its command line.
  for (const cj of backup.filter((x) => x.kind === 'CronJob'))
    for (const c of containers(cj))
      assert.ok(!c.command.some((a: string) => /pass|secret|key/i.test(a)), c.command.join(' '));
  // Offsite: the backup runs first, then the upload; the claim's StorageClass is the cloud's.
  assert.equal(podSpec(mdb).initContainers[0].name, 'mariadb-backup');
  assert.equal(offsite.image, 'docker.io/amazon/aws-cli:2.31.9');
  assert.equal(find(backup, 'PersistentVolumeClaim', 'osk-backups').spec.storageClassName, 'rbd');
  const egress = find(backup, 'NetworkPolicy', 'osk-backup').spec.egress.flatMap((r: any) =>
    r.ports.map((p: any) => p.port),
  );
  assert.deepEqual(
    egress.sort((a: number, b: number) => a - b),
    [3306, 6641, 6642, 9000],
  );
});

test('NetworkPolicies admit the backup pods to MariaDB and OVN and nothing else', () => {
  const { backup } = rendered(MINIMAL);
  const sel = find(backup, 'NetworkPolicy', 'osk-backup').spec.podSelector.matchLabels;
  for (const [target, port] of [
    ['mariadb', 3306],
    ['ovn-nb', 6641],
    ['ovn-sb', 6642],
  ] as const) {
    const np = find(backup, 'NetworkPolicy', `osk-backup-to-${target}`);
    assert.equal(np.spec.podSelector.matchLabels['osk.dev/component'], target);
    assert.deepEqual(np.spec.ingress, [
      { from: [{ podSelector: { matchLabels: sel } }], ports: [{ protocol: 'TCP', port }] },
    ]);
  }
  // The backup pods carry the labels those policies select.
  for (const cj of backup.filter((x) => x.kind === 'CronJob')) {
    const labels = cj.spec.jobTemplate.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(sel)) assert.equal(labels[k], v, `${cj.metadata.name} ${k}`);
  }
  assert.ok(
    !find(backup, 'NetworkPolicy', 'osk-backup').spec.egress.some((r: any) => r.to.some((t: any) => t.ipBlock)),
    'no S3 egress without offsite',
  );
});

test('Velero Schedule: the CRD required fields and types, TTL copies × period, a selector on every object osk renders', () => {
  const { backup, objects, model } = rendered(HA);
  const s = find(backup, 'Schedule', `osk-${model.ctx.name}`);
  assert.equal(s.apiVersion, 'velero.io/v1');
  assert.equal(s.metadata.namespace, 'velero');
  // Fields confirmed in velero.io_schedules.yaml (config/crd/v1/bases, Velero v1.11+): spec
  // requires schedule and template; these template fields exist with these types.
  const TEMPLATE: Record<string, string> = {
    includedNamespaces: 'array',
    includeClusterResources: 'boolean',
    labelSelector: 'object',
    snapshotVolumes: 'boolean',
    defaultVolumesToFsBackup: 'boolean',
    ttl: 'string',
    metadata: 'object',
    storageLocation: 'string',
  };
  const SPEC: Record<string, string> = {
    schedule: 'string',
    template: 'object',
    useOwnerReferencesInBackup: 'boolean',
    paused: 'boolean',
  };
  const type = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v);
  for (const req of ['schedule', 'template']) assert.ok(req in s.spec, `spec.${req} is required`);
  for (const [k, v] of Object.entries(s.spec))
    assert.equal(type(v), SPEC[k], `spec.${k} is a field of the CRD with that type`);
  for (const [k, v] of Object.entries(s.spec.template))
    assert.equal(type(v), TEMPLATE[k], `spec.template.${k} is a field of the CRD with that type`);
  assert.deepEqual(Object.keys(s.spec.template.labelSelector), ['matchLabels']);
  assert.deepEqual(s.spec.template.includedNamespaces, [model.ctx.namespace]);
  assert.equal(s.spec.template.snapshotVolumes, true);
  assert.equal(s.spec.template.defaultVolumesToFsBackup, false);
  assert.equal(s.spec.template.ttl, '168h0m0s', '7 copies of a daily schedule');
  // Every object osk renders for this cloud matches the selector (claims of StatefulSets too).
  const sel = s.spec.template.labelSelector.matchLabels as Record<string, string>;
  const labelled = [
    ...objects.filter((o) => o.kind !== 'Schedule'),
    ...objects.filter((o) => o.kind === 'StatefulSet').flatMap((o) => (o.spec.volumeClaimTemplates ?? []) as Obj[]),
  ];
  assert.ok(labelled.length > 100);
  for (const o of labelled)
    for (const [k, v] of Object.entries(sel))
      assert.equal(o.metadata.labels?.[k], v, `${o.kind}/${o.metadata.name} has ${k}=${v}`);
  // Pods are selected too (their template labels).
  for (const o of objects.filter((x) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(x.kind)))
    for (const [k, v] of Object.entries(sel)) assert.equal(o.spec.template.metadata.labels[k], v);
  // apply skips it with one line when Velero is absent.
  assert.deepEqual(
    objectsNeedingCrds(objects).find((n) => n.group === 'velero.io'),
    { group: 'velero.io', kind: 'Schedule', provider: 'Velero', objects: [`Schedule/osk-${model.ctx.name}`] },
  );
});

test('schedule periods and TTLs', () => {
  assert.equal(cronPeriodMinutes('0 2 * * *'), 1440);
  assert.equal(cronPeriodMinutes('@daily'), 1440);
  assert.equal(cronPeriodMinutes('@hourly'), 60);
  assert.equal(cronPeriodMinutes('*/15 * * * *'), 15);
  assert.equal(cronPeriodMinutes('0 1,13 * * *'), 720);
  assert.equal(cronPeriodMinutes('0 0 * * 1-5'), 3 * 1440, 'Friday to Monday');
  assert.equal(cronPeriodMinutes('30 1 * * 0'), 7 * 1440);
  assert.equal(cronPeriodMinutes('0 3 1 * *'), 31 * 1440, 'the longest month');
  assert.equal(cronPeriodMinutes('@yearly'), 366 * 1440, '2028 is a leap year');
  assert.equal(cronPeriodMinutes('0 0 30 2 *'), undefined, 'never runs');
  assert.equal(cronPeriodMinutes('61 * * * *'), undefined);
  assert.equal(veleroTtl('0 2 * * *', 3), '72h0m0s');
  assert.equal(veleroTtl('*/30 * * * *', 5), '2h30m0s');
  const { backup } = rendered(OFFSITE);
  assert.equal(find(backup, 'Schedule', 'osk-off').spec.template.ttl, `${4 * 7 * 24}h0m0s`);
});

test('spec.backup.enabled: false renders none of it', () => {
  const text = MINIMAL.replace(/^ {2}backup:\n/m, '  backup:\n    enabled: false\n');
  assert.notEqual(text, MINIMAL);
  const { groups, objects, model } = rendered(text);
  assert.ok(!groups.some((g) => /^\d+-backup$/.test(g.name)));
  assert.ok(!model.bundles.has('osk-backup'));
  assert.deepEqual(
    objects
      .filter(
        (o) =>
          // The key rotations are CronJobs too, not backups.
          (o.kind === 'CronJob' &&
            !['keystone-key-rotation', 'keystone-credential-rotation'].includes(o.metadata.name)) ||
          o.kind === 'Schedule' ||
          (/backup/.test(o.metadata.name) && o.kind !== 'Deployment' && !o.metadata.name.startsWith('cinder')),
      )
      .map((o) => `${o.kind}/${o.metadata.name}`),
    [],
  );
  assert.ok(rendered(MINIMAL).group, 'enabled by default');
});

test('the kube-ovn backend: the cluster OVN is not ours to back up', () => {
  const { backup } = rendered(`${BARE}spec:\n  network: {backend: kube-ovn}\n`);
  assert.ok(backup.some((o) => o.kind === 'CronJob' && o.metadata.name === 'backup-mariadb'));
  assert.ok(!backup.some((o) => o.metadata.name === 'backup-ovn' || o.metadata.name.startsWith('osk-backup-to-ovn')));
});
