/**
 * The Kubernetes restore procedure as data: steps in dependency order, Jobs that pass the
 * Kubernetes schema and run the scripts that exist, `--from` parsed strictly, no credential in
 * the text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1';
import { parse } from 'yaml';
import { backupScripts } from './scripts.js';
import { SecretStore } from '../../../state/secret-store.js';
import { OskError } from '../../../errors.js';
import { render } from '../render.js';
import { parseCloudFile } from '../../../spec/load.js';
import { commandsOf } from './restore-actions.js';
import { formatRestorePlan, kubernetesRestorePlan, parseRestoreSource, type RestoreStep } from './restore.js';

const MINIMAL = readFileSync('examples/minimal.yaml', 'utf8');
const HA = readFileSync('examples/ha.yaml', 'utf8');

function model(text: string) {
  const file = parseCloudFile(text);
  const store = SecretStore.memory(file.metadata.name);
  return { ...render(file, store), store };
}

/** The Job manifests inside the commands' here-documents. */
function jobs(steps: RestoreStep[]): any[] {
  return steps
    .flatMap((s) => s.commands)
    .flatMap((c) => {
      const m = /<<'EOF'\n([\s\S]*)\nEOF$/.exec(c);
      return m ? [parse(m[1]!)] : [];
    });
}
const index = (steps: RestoreStep[], re: RegExp) => {
  const i = steps.findIndex((s) => re.test(s.title));
  assert.ok(i >= 0, `a step matching ${re}`);
  return i;
};

test('ha: stop writers, restore MariaDB into mariadb-0, OVN, then osk apply and verify, in that order', () => {
  const r = model(HA);
  const m = r.model;
  const steps = kubernetesRestorePlan(r, 'latest', { cloudFile: 'examples/ha.yaml' });
  const order = [
    /current state/,
    /Verify the latest/,
    /Stop the backups/,
    /Stop MariaDB/,
    /other Galera nodes/,
    /Restore MariaDB/,
    /Start MariaDB/,
    /OVN/,
    /plan order/,
    /Reconcile Neutron/,
    /^Verify$/,
  ].map((re) => index(steps, re));
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    'dependency order',
  );
  const all = steps.flatMap((s) => s.commands).join('\n');
  const ns = m.ctx.namespace;
  assert.match(
    all,
    new RegExp(`kubectl -n ${ns} scale deployment [^\\n]*keystone-api[^\\n]*nova-api[^\\n]* --replicas=0`),
  );
  assert.match(all, new RegExp(`kubectl -n ${ns} delete pvc data-mariadb-1 data-mariadb-2 --wait`));
  assert.match(all, /osk apply -f examples\/ha\.yaml\n/);
  // osk apply does not own spec.suspend: the plan resumes the CronJobs itself, after the apply.
  assert.ok(
    all.indexOf(`patch cronjob backup-mariadb backup-ovn --type merge -p '{"spec":{"suspend":false}}'`) >
      all.indexOf('osk apply -f'),
  );
  // The printed commands are the actions' own.
  for (const s of steps)
    assert.deepEqual(
      s.commands,
      s.actions.flatMap((a) => commandsOf(a, ns, 'examples/ha.yaml')),
    );
  for (const s of steps) assert.ok(s.title && s.why.length > 20 && s.commands.length > 0, s.title);
  // Every Job is schema-valid, runs a script that exists, and the MariaDB one writes mariadb-0's claim.
  const js = jobs(steps);
  assert.deepEqual(
    js.map((j) => j.metadata.name),
    ['osk-restore-verify', 'osk-restore-mariadb', 'osk-restore-ovn', 'osk-restore-neutron-ovn-sync'],
  );
  for (const j of js) {
    new Job(j).validate();
    assert.equal(j.metadata.namespace, ns);
    if (j.metadata.name === 'osk-restore-neutron-ovn-sync') continue;
    for (const c of j.spec.template.spec.containers)
      assert.ok(c.command[1].replace('/etc/osk-backup/', '') in backupScripts());
  }
  // The Neutron/OVN repair runs in neutron-server's own pod: same image, configs and overlays.
  const sync = js.find((j) => j.metadata.name === 'osk-restore-neutron-ovn-sync')!;
  const server = (
    r.groups.find((g) => g.component === 'neutron-server')!.objects.find((o) => o.kind === 'Deployment')! as any
  ).spec.template.spec;
  assert.equal(sync.spec.template.spec.containers[0].image, server.containers[0].image);
  assert.deepEqual(sync.spec.template.spec.containers[0].volumeMounts, server.containers[0].volumeMounts);
  assert.deepEqual(sync.spec.template.spec.volumes, server.volumes);
  assert.deepEqual(sync.spec.template.spec.containers[0].command.slice(0, 1), ['neutron-ovn-db-sync-util']);
  assert.equal(sync.spec.template.spec.restartPolicy, 'Never');
  assert.equal(sync.spec.template.spec.containers[0].readinessProbe, undefined);
  const mdb = js.find((j) => j.metadata.name === 'osk-restore-mariadb')!;
  assert.ok(mdb.spec.template.spec.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === 'data-mariadb-0'));
  assert.ok(mdb.spec.template.spec.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === 'osk-backups'));
});

test('minimal: one Galera node, nothing to drop; the plan carries no credential', () => {
  const r = model(MINIMAL);
  const { store } = r;
  const steps = kubernetesRestorePlan(r, '20250131T02');
  assert.ok(!steps.some((s) => /other Galera nodes/.test(s.title)));
  const text = formatRestorePlan(steps);
  assert.match(text, /^1\. Keep a copy of the current state\n {3}\S/);
  assert.match(text, /\n {3}\$ osk apply -f <cloud\.yaml>\n/);
  for (const v of Object.values(store.entries())) assert.ok(!text.includes(v), 'a credential in the plan');
  for (const j of jobs(steps).filter((j) => j.metadata.name !== 'osk-restore-neutron-ovn-sync'))
    assert.ok(
      j.spec.template.spec.containers[0].env.some((e: any) => e.name === 'SELECTOR' && e.value === '20250131T02'),
    );
});

test('--from: offsite and velero add their first steps; anything else is refused', () => {
  const ha = model(HA);
  const off = kubernetesRestorePlan(ha, 's3://osk-backups/prod/prod/20250131T0200Z');
  assert.ok(index(off, /Download/) < index(off, /Verify the/));
  const fetch = jobs(off).find((j) => j.metadata.name === 'osk-restore-fetch')!;
  const env = fetch.spec.template.spec.containers[0].env;
  assert.equal(env.find((e: any) => e.name === 'SELECTOR').value, '20250131T0200Z');
  assert.equal(env.find((e: any) => e.name === 'AWS_SECRET_ACCESS_KEY').valueFrom.secretKeyRef.name, 'osk-backup-s3');
  assert.deepEqual(parseRestoreSource(ha.model, 'offsite:latest'), { where: 'offsite', selector: 'latest' });
  const vel = kubernetesRestorePlan(ha, 'velero:nightly-20250131');
  assert.ok(index(vel, /Velero backup nightly-20250131/) < index(vel, /Stop the backups/));
  assert.match(
    vel.flatMap((s) => s.commands).join('\n'),
    /velero restore create osk-prod-nightly-20250131 --from-backup nightly-20250131 --include-namespaces openstack/,
  );
  const min = model(MINIMAL);
  for (const bad of ['yesterday', 'offsite:latest', 's3://elsewhere/x', '2025; rm -rf /', 'velero:Bad_Name']) {
    assert.throws(
      () => kubernetesRestorePlan(bad.startsWith('s3') ? ha : min, bad),
      (e: unknown) => e instanceof OskError && e.exitCode === 2,
      bad,
    );
  }
  const disabled = MINIMAL.replace(/^ {2}backup:\n/m, '  backup:\n    enabled: false\n');
  assert.throws(() => kubernetesRestorePlan(model(disabled), 'latest'), /no backups/);
});
