/**
 * `osk restore --from …` on Kubernetes: the procedure as data, in dependency order, each step
 * with why it is there and the exact commands (kubectl, velero, osk). Nothing here talks to a
 * cluster; the Jobs a step creates are rendered (and schema-validated) here and passed to
 * `kubectl apply -f -` in the command itself.
 *
 * `from`:
 * - `latest`, or a set stamp or its prefix (`20250131T02`): sets on the backup claim, the newest
 *   of each kind (mariadb, ovn) that matches;
 * - `offsite:<latest|stamp>` or `<spec.backup.offsite.url>/<cloud>/<latest|stamp>`: first
 *   downloaded from the S3 copy into the claim, then as above;
 * - `velero:<backup>`: the namespace's objects (every Secret: credentials, Fernet and credential
 *   keys; the claims with their snapshots, among them the backup claim) come back from that
 *   Velero backup first, then the newest sets on the restored claim are restored.
 *
 * The osk secret store file (defaultStorePath, ~/.local/state/osk/<cloud>/secrets.yaml) is the
 * authoritative copy of every credential: the cluster's Secrets are created from it. Back it up
 * off-cluster (it is not in the cluster's backups unless Velero has the Secrets); with only the
 * cluster's Secrets left, `osk apply --import-secrets` rebuilds the store from them.
 */
import { Job } from 'kubernetes-models/batch/v1';
import type { IContainer, IEnvVar, IVolume } from 'kubernetes-models/v1';
import { stringify } from 'yaml';
import { BACKUP_ROOT, backupEnabled } from '../../catalog/backup.js';
import { ovnNbConnection, ovnSbConnection } from '../../catalog/ovn.js';
import { ExitCode, OskError } from '../../errors.js';
import type { CloudModel } from '../../plan/model.js';
import {
  BACKUP_MARIADB_ORDINAL,
  backupLabels,
  claimMount,
  claimVolume,
  container,
  mariadbClaim,
  offsiteEnv,
  ovnBackedUp,
  podBasics,
  scriptsMount,
  scriptsVolume,
  tmpMount,
  tmpVolume,
} from './render.js';

export interface RestoreStep {
  title: string;
  why: string;
  /** Shell commands, run in order; a command may carry a here-document (a Job manifest). */
  commands: string[];
}

export type RestoreSource = { where: 'claim'; selector: string } | { where: 'offsite'; selector: string } | { where: 'velero'; backup: string; selector: 'latest' };

const SELECTOR = /^(latest|\d{8}(T\d{0,6}Z?)?|\d{1,8})$/;

/** Parse `--from`; a bad value is the user's error (exit 2) naming the accepted forms. */
export function parseRestoreSource(model: CloudModel, from: string): RestoreSource {
  const f = from.trim();
  const bad = (why: string) =>
    new OskError(`--from ${JSON.stringify(from)}: ${why}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'use latest, a backup set stamp or its prefix (20250131T0200), offsite:<latest|stamp>, the offsite URL of a set, or velero:<backup name>',
    });
  if (f.startsWith('velero:')) {
    const name = f.slice('velero:'.length);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw bad('not a Velero backup name');
    return { where: 'velero', backup: name, selector: 'latest' };
  }
  const offsite = model.ctx.spec.backup?.offsite;
  let rest: string | undefined;
  if (f.startsWith('offsite:')) rest = f.slice('offsite:'.length);
  else if (f.startsWith('s3://')) {
    if (!offsite) throw bad('spec.backup.offsite is not set, so there is no offsite copy to restore from');
    const base = `${offsite.url.replace(/\/$/, '')}/${model.ctx.name}/`;
    if (!f.startsWith(base)) throw bad(`the offsite copies of this cloud are under ${base}`);
    rest = f.slice(base.length).replace(/^(mariadb|ovn)\//, '').replace(/\/$/, '');
  }
  if (rest !== undefined) {
    if (!offsite) throw bad('spec.backup.offsite is not set, so there is no offsite copy to restore from');
    if (!SELECTOR.test(rest)) throw bad('not latest or a set stamp');
    return { where: 'offsite', selector: rest };
  }
  if (!SELECTOR.test(f)) throw bad('not latest or a set stamp');
  return { where: 'claim', selector: f };
}

function heredoc(cmd: string, obj: Job): string {
  obj.validate();
  return `${cmd} <<'EOF'\n${stringify(obj.toJSON(), { lineWidth: 0 }).trimEnd()}\nEOF`;
}

function restoreJob(model: CloudModel, name: string, c: IContainer, volumes: IVolume[]): Job {
  const { ctx } = model;
  const labels = backupLabels(ctx, 'restore');
  return new Job({
    metadata: { name, namespace: ctx.namespace, labels },
    spec: { backoffLimit: 0, activeDeadlineSeconds: 6 * 3600, template: { metadata: { labels }, spec: { ...podBasics(model), containers: [c], volumes } } },
  });
}

function runJob(model: CloudModel, job: Job, timeout: string): string[] {
  const ns = model.ctx.namespace;
  const name = job.metadata!.name!;
  return [
    `kubectl -n ${ns} delete job ${name} --ignore-not-found --wait`,
    heredoc('kubectl apply -f -', job),
    `kubectl -n ${ns} wait --for=condition=complete job/${name} --timeout=${timeout}`,
    `kubectl -n ${ns} logs job/${name}`,
  ];
}

export function kubernetesRestorePlan(model: CloudModel, from: string, opts: { cloudFile?: string } = {}): RestoreStep[] {
  const { ctx } = model;
  if (!backupEnabled(ctx)) throw new OskError('spec.backup.enabled is false: this cloud has no backups to restore from', { exitCode: ExitCode.invalidInput });
  const src = parseRestoreSource(model, from);
  const ns = ctx.namespace;
  const file = opts.cloudFile ?? '<cloud.yaml>';
  const ovn = ovnBackedUp(model);
  const kinds = ovn ? 'mariadb ovn' : 'mariadb';
  const selector = src.selector;
  const mariadb = model.components.get('mariadb')!;
  const galeraSize = mariadb.settings.replicas;
  const sel = `app.kubernetes.io/instance=${ctx.name}`;
  const deployments = [...model.components.values()].filter((c) => c.workload === 'Deployment').map((c) => c.id);
  const env = (e: Record<string, string>): IEnvVar[] => Object.entries(e).map(([name, value]) => ({ name, value }));
  const steps: RestoreStep[] = [];

  steps.push({
    title: 'Keep a copy of the current state',
    why: 'A restore overwrites the databases; a Velero backup of the namespace as it is now lets you go back if the chosen set turns out to be the wrong one. Also make sure the secret store file (the authoritative copy of every credential) is at hand.',
    commands: [`velero backup create osk-${ctx.name}-before-restore-$(date -u +%Y%m%dT%H%M%SZ) --include-namespaces ${ns} --snapshot-volumes --wait`],
  });
  if (src.where === 'velero') {
    steps.push({
      title: `Restore the namespace's objects from Velero backup ${src.backup}`,
      why: `Brings back every Secret (database and service passwords, Fernet and credential keys), the ConfigMaps, and the claims with their snapshots, among them the backup claim and its checksummed sets. Existing objects are left as they are. If the secret store file was lost too, rebuild it from these Secrets with osk apply --import-secrets.`,
      commands: [
        `velero restore create osk-${ctx.name}-${src.backup} --from-backup ${src.backup} --include-namespaces ${ns} --restore-volumes=true --wait`,
        `velero restore describe osk-${ctx.name}-${src.backup} --details`,
      ],
    });
  }
  if (src.where === 'offsite') {
    steps.push({
      title: `Download the ${selector} sets from the offsite copy`,
      why: 'The sets come back onto the backup claim exactly as they were uploaded, and each is checked against its SHA256SUMS before it counts.',
      commands: runJob(
        model,
        restoreJob(
          model,
          'osk-restore-fetch',
          container({ model, name: 'fetch', image: 'aws-cli', script: 'offsite-fetch.sh', env: [...env({ KINDS: kinds, SELECTOR: selector, BACKUP_ROOT }), ...offsiteEnv(ctx)], mounts: [scriptsMount, claimMount, tmpMount] }),
          [scriptsVolume, claimVolume, tmpVolume],
        ),
        '2h',
      ),
    });
  }
  steps.push({
    title: `Verify the ${selector} backup sets`,
    why: 'Checks the chosen MariaDB and OVN sets against their SHA256SUMS and shows which sets will be used, before anything is stopped.',
    commands: runJob(
      model,
      restoreJob(model, 'osk-restore-verify', container({ model, name: 'verify', image: 'mariadb', script: 'verify-sets.sh', env: env({ KINDS: kinds, SELECTOR: selector, BACKUP_ROOT }), mounts: [scriptsMount, claimMount, tmpMount] }), [scriptsVolume, claimVolume, tmpVolume]),
      '30m',
    ),
  });
  steps.push({
    title: 'Stop the backups and every API, scheduler, conductor and agent Deployment',
    why: 'Nothing may write to MariaDB or OVN while they are replaced, and a backup must not run against a half-restored database.',
    commands: [
      `kubectl -n ${ns} patch cronjob backup-mariadb${ovn ? ' backup-ovn' : ''} --type merge -p '{"spec":{"suspend":true}}'`,
      `kubectl -n ${ns} scale deployment ${deployments.join(' ')} --replicas=0`,
      `kubectl -n ${ns} wait --for=delete pod -l '${sel},osk.dev/component in (${deployments.join(',')})' --timeout=10m`,
    ],
  });
  steps.push({
    title: 'Stop MariaDB',
    why: 'mariadb-backup --copy-back writes the data directory of a stopped server.',
    commands: [`kubectl -n ${ns} scale statefulset mariadb --replicas=0`, `kubectl -n ${ns} wait --for=delete pod -l '${sel},osk.dev/component=mariadb' --timeout=15m`],
  });
  if (galeraSize > 1) {
    const others = Array.from({ length: galeraSize - 1 }, (_, i) => mariadbClaim(i + 1));
    steps.push({
      title: 'Drop the data of the other Galera nodes',
      why: `mariadb-${BACKUP_MARIADB_ORDINAL} starts a new cluster from the restored data; the other nodes must not rejoin with their newer history, so their claims go and they copy the restored data (SST) when they start.`,
      commands: [`kubectl -n ${ns} delete pvc ${others.join(' ')} --wait`],
    });
  }
  steps.push({
    title: `Restore MariaDB into ${mariadbClaim()}`,
    why: `Unpacks the set, runs mariadb-backup --prepare (applies the redo log: a consistent database) and --copy-back into the emptied data directory of mariadb-${BACKUP_MARIADB_ORDINAL}, and removes its Galera state so it bootstraps a new cluster from this data.`,
    commands: runJob(
      model,
      restoreJob(
        model,
        'osk-restore-mariadb',
        container(
          {
            model,
            name: 'mariadb-restore',
            image: 'mariadb',
            script: 'mariadb-restore.sh',
            env: env({ SELECTOR: selector, BACKUP_ROOT, DATADIR: '/var/lib/mysql', WORK: `${BACKUP_ROOT}/.restore-mariadb` }),
            mounts: [scriptsMount, claimMount, tmpMount, { name: 'mariadb-data', mountPath: '/var/lib/mysql' }],
          },
          { cpu: '500m', memory: '1Gi', memoryLimit: '4Gi' },
        ),
        [scriptsVolume, claimVolume, tmpVolume, { name: 'mariadb-data', persistentVolumeClaim: { claimName: mariadbClaim() } }],
      ),
      '3h',
    ),
  });
  steps.push({
    title: 'Start MariaDB',
    why: `mariadb-${BACKUP_MARIADB_ORDINAL} starts first (no Galera state: it bootstraps); ${galeraSize > 1 ? 'the others join and copy its data' : 'a single node needs nothing else'}.`,
    commands: [`kubectl -n ${ns} scale statefulset mariadb --replicas=${galeraSize}`, `kubectl -n ${ns} rollout status statefulset/mariadb --timeout=30m`],
  });
  if (ovn) {
    steps.push({
      title: 'Restore the OVN Northbound and Southbound databases',
      why: 'ovsdb-client restore replaces each database in one transaction on the running RAFT cluster (the leader replicates it); ovn-northd is stopped so it does not write meanwhile. The OVN version must be the one that took the backup (same schema).',
      commands: runJob(
        model,
        restoreJob(
          model,
          'osk-restore-ovn',
          container({ model, name: 'ovn-restore', image: 'ovn', script: 'ovn-restore.sh', env: env({ SELECTOR: selector, BACKUP_ROOT, OVN_NB_REMOTES: ovnNbConnection(ctx), OVN_SB_REMOTES: ovnSbConnection(ctx) }), mounts: [scriptsMount, claimMount, tmpMount] }),
          [scriptsVolume, claimVolume, tmpVolume],
        ),
        '1h',
      ),
    });
  }
  steps.push({
    title: 'Start everything in the plan order',
    why: 'osk apply brings every component back at its replicas, one wave after the other, each gated on the readiness of what it needs, and resumes the backup CronJobs.',
    commands: [`osk apply -f ${file}`],
  });
  if (ovn && model.components.has('neutron-server')) {
    steps.push({
      title: 'Reconcile Neutron and OVN',
      why: "MariaDB and OVN were backed up seconds apart: neutron-ovn-db-sync-util repairs the OVN Northbound database from Neutron's (the source of truth) for anything that changed in between.",
      commands: [
        `kubectl -n ${ns} exec deploy/neutron-server -- neutron-ovn-db-sync-util --config-file /etc/neutron/neutron.conf --config-dir /etc/neutron/neutron.conf.d --config-file /etc/neutron/ml2_conf.ini --ovn-neutron_sync_mode repair`,
      ],
    });
  }
  steps.push({
    title: 'Verify',
    why: 'The Galera cluster has all its nodes, the cloud answers, and the first backup after the restore succeeds (it re-checks every kept set against its SHA256SUMS).',
    commands: [
      `kubectl -n ${ns} exec mariadb-${BACKUP_MARIADB_ORDINAL} -- sh -c 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN (\\"wsrep_cluster_size\\", \\"wsrep_local_state_comment\\")"'`,
      ...(ovn ? [`kubectl -n ${ns} exec ovn-nb-0 -- ovn-nbctl --db=${ovnNbConnection(ctx)} --no-leader-only show`] : []),
      `osk status -f ${file}`,
      `kubectl -n ${ns} create job --from=cronjob/backup-mariadb backup-mariadb-after-restore`,
      `kubectl -n ${ns} wait --for=condition=complete job/backup-mariadb-after-restore --timeout=2h`,
    ],
  });
  return steps;
}

/** The plan as text: numbered steps, why, then the commands indented. */
export function formatRestorePlan(steps: RestoreStep[]): string {
  return steps
    .map((s, i) => [`${i + 1}. ${s.title}`, `   ${s.why}`, ...s.commands.map((c) => `   $ ${c}`)].join('\n'))
    .join('\n\n') + '\n';
}
