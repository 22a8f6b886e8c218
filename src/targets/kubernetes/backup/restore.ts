/**
 * `osk restore --from …` on Kubernetes: the procedure as data, in dependency order. Each step
 * says why it is there, what it does as actions (carried out by restore-run.ts through the API
 * server) and the same as the commands an operator would type (kubectl, velero, osk), which
 * `--dry-run` prints. Nothing here talks to a cluster; the Jobs a step creates are rendered (and
 * schema-validated) here.
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
import type { IContainer, IEnvVar, IPodSpec, IVolume } from 'kubernetes-models/v1';
import { stringify } from 'yaml';
import { BACKUP_ROOT, backupEnabled } from './scripts.js';
import { ovnNbConnection, ovnSbConnection } from '../../../catalog/ovn.js';
import { ExitCode, OskError } from '../../../errors.js';
import type { CloudModel } from '../../../plan/model.js';
import type { RenderedGroup } from '../objects.js';
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

/**
 * One thing a restore step does, as data: `restore-run.ts` carries it out through the API
 * server, `commandsOf` prints what an operator would type for it (kubectl, velero, osk).
 */
export type RestoreAction =
  | { do: 'velero-backup'; name: string; namespace: string }
  | { do: 'velero-restore'; name: string; backup: string; namespace: string }
  | { do: 'job'; job: Job; timeoutSeconds: number }
  | { do: 'suspend-cronjobs'; names: string[]; suspend: boolean }
  | {
      do: 'scale';
      kind: 'Deployment' | 'StatefulSet';
      names: string[];
      replicas: number;
      podSelector: string;
      timeoutSeconds: number;
    }
  | { do: 'delete-claims'; names: string[] }
  | { do: 'rollout'; statefulSet: string; timeoutSeconds: number }
  | { do: 'apply' }
  | { do: 'status' }
  | { do: 'job-from-cronjob'; cronJob: string; name: string; timeoutSeconds: number };

export interface RestoreStep {
  title: string;
  why: string;
  /** Shell commands, run in order; a command may carry a here-document (a Job manifest). */
  commands: string[];
  actions: RestoreAction[];
  /** The state of the cloud once this step is done, for "stopped at step N" (undefined: as before). */
  leaves?: string;
}

type RestoreSource =
  | { where: 'claim'; selector: string }
  | { where: 'offsite'; selector: string }
  | { where: 'velero'; backup: string; selector: 'latest' };

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
    rest = f
      .slice(base.length)
      .replace(/^(mariadb|ovn)\//, '')
      .replace(/\/$/, '');
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
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 6 * 3600,
      template: { metadata: { labels }, spec: { ...podBasics(model), containers: [c], volumes } },
    },
  });
}

/** What an operator would type for one action; the runner does the same through the API. */
export function commandsOf(a: RestoreAction, ns: string, cloudFile: string): string[] {
  switch (a.do) {
    case 'velero-backup':
      return [`velero backup create ${a.name} --include-namespaces ${a.namespace} --snapshot-volumes --wait`];
    case 'velero-restore':
      return [
        `velero restore create ${a.name} --from-backup ${a.backup} --include-namespaces ${a.namespace} --restore-volumes=true --wait`,
        `velero restore describe ${a.name} --details`,
      ];
    case 'job': {
      const name = a.job.metadata!.name!;
      return [
        `kubectl -n ${ns} delete job ${name} --ignore-not-found --wait`,
        heredoc('kubectl apply -f -', a.job),
        `kubectl -n ${ns} wait --for=condition=complete job/${name} --timeout=${a.timeoutSeconds}s`,
        `kubectl -n ${ns} logs job/${name}`,
      ];
    }
    case 'suspend-cronjobs':
      return [
        `kubectl -n ${ns} patch cronjob ${a.names.join(' ')} --type merge -p '{"spec":{"suspend":${a.suspend}}}'`,
      ];
    case 'scale':
      return [
        `kubectl -n ${ns} scale ${a.kind.toLowerCase()} ${a.names.join(' ')} --replicas=${a.replicas}`,
        ...(a.replicas === 0
          ? [`kubectl -n ${ns} wait --for=delete pod -l '${a.podSelector}' --timeout=${a.timeoutSeconds}s`]
          : []),
      ];
    case 'delete-claims':
      return [`kubectl -n ${ns} delete pvc ${a.names.join(' ')} --wait`];
    case 'rollout':
      return [`kubectl -n ${ns} rollout status statefulset/${a.statefulSet} --timeout=${a.timeoutSeconds}s`];
    case 'apply':
      return [`osk apply -f ${cloudFile}`];
    case 'status':
      return [`osk status -f ${cloudFile}`];
    case 'job-from-cronjob':
      return [
        `kubectl -n ${ns} create job --from=cronjob/${a.cronJob} ${a.name}`,
        `kubectl -n ${ns} wait --for=condition=complete job/${a.name} --timeout=${a.timeoutSeconds}s`,
      ];
  }
}

/**
 * The neutron-ovn-db-sync-util run, as a Job with neutron-server's own pod (image, configs,
 * credential overlays, service account), so it reads exactly the configuration neutron runs with.
 */
function neutronSyncJob(model: CloudModel, groups: readonly RenderedGroup[]): Job | undefined {
  const dep = groups.find((g) => g.component === 'neutron-server')?.objects.find((o) => o.kind === 'Deployment') as
    | { toJSON(): { spec: { template: { spec: IPodSpec } } } }
    | undefined;
  if (!dep) return undefined;
  const pod = structuredClone(dep.toJSON().spec.template.spec) as IPodSpec;
  const main = pod.containers[0]!;
  const conf = [
    '--config-file',
    '/etc/neutron/neutron.conf',
    '--config-dir',
    '/etc/neutron/neutron.conf.d',
    '--config-file',
    '/etc/neutron/ml2_conf.ini',
  ];
  const sync: IContainer = {
    ...main,
    name: 'ovn-db-sync',
    command: ['neutron-ovn-db-sync-util', ...conf, '--ovn-neutron_sync_mode', 'repair'],
  };
  delete sync.args;
  delete sync.readinessProbe;
  delete sync.livenessProbe;
  delete sync.startupProbe;
  delete sync.ports;
  const labels = backupLabels(model.ctx, 'restore');
  return new Job({
    metadata: { name: 'osk-restore-neutron-ovn-sync', namespace: model.ctx.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      template: { metadata: { labels }, spec: { ...pod, restartPolicy: 'Never', containers: [sync] } },
    },
  });
}

interface RestorePlanOptions {
  cloudFile?: string;
  /** Names the safety copy (default: now). */
  now?: Date;
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
}

export function kubernetesRestorePlan(
  rendered: { model: CloudModel; groups: readonly RenderedGroup[] },
  from: string,
  opts: RestorePlanOptions = {},
): RestoreStep[] {
  const { model, groups } = rendered;
  const { ctx } = model;
  if (!backupEnabled(ctx))
    throw new OskError('spec.backup.enabled is false: this cloud has no backups to restore from', {
      exitCode: ExitCode.invalidInput,
    });
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
  const cronJobs = ['backup-mariadb', ...(ovn ? ['backup-ovn'] : [])];
  const env = (e: Record<string, string>): IEnvVar[] => Object.entries(e).map(([name, value]) => ({ name, value }));
  const steps: Omit<RestoreStep, 'commands'>[] = [];
  const job = (j: Job, timeoutSeconds: number): RestoreAction => ({ do: 'job', job: j, timeoutSeconds });
  const now = stamp(opts.now ?? new Date());

  steps.push({
    title: 'Keep a copy of the current state',
    why: 'A restore overwrites the databases; a Velero backup of the namespace as it is now lets you go back if the chosen set turns out to be the wrong one. Also make sure the secret store file (the authoritative copy of every credential) is at hand.',
    actions: [{ do: 'velero-backup', name: `osk-${ctx.name}-before-restore-${now}`, namespace: ns }],
  });
  if (src.where === 'velero') {
    steps.push({
      title: `Restore the namespace's objects from Velero backup ${src.backup}`,
      why: `Brings back every Secret (database and service passwords, Fernet and credential keys), the ConfigMaps, and the claims with their snapshots, among them the backup claim and its checksummed sets. Existing objects are left as they are. If the secret store file was lost too, rebuild it from these Secrets with osk apply --import-secrets.`,
      actions: [{ do: 'velero-restore', name: `osk-${ctx.name}-${src.backup}`, backup: src.backup, namespace: ns }],
      leaves: `the objects of Velero backup ${src.backup} are back in namespace ${ns}; nothing else changed`,
    });
  }
  if (src.where === 'offsite') {
    steps.push({
      title: `Download the ${selector} sets from the offsite copy`,
      why: 'The sets come back onto the backup claim exactly as they were uploaded, and each is checked against its SHA256SUMS before it counts.',
      actions: [
        job(
          restoreJob(
            model,
            'osk-restore-fetch',
            container({
              model,
              name: 'fetch',
              image: 'aws-cli',
              script: 'offsite-fetch.sh',
              env: [...env({ KINDS: kinds, SELECTOR: selector, BACKUP_ROOT }), ...offsiteEnv(ctx)],
              mounts: [scriptsMount, claimMount, tmpMount],
            }),
            [scriptsVolume, claimVolume, tmpVolume],
          ),
          2 * 3600,
        ),
      ],
      leaves: 'the offsite sets are on the backup claim; the cloud itself is unchanged',
    });
  }
  steps.push({
    title: `Verify the ${selector} backup sets`,
    why: 'Checks the chosen MariaDB and OVN sets against their SHA256SUMS and shows which sets will be used, before anything is stopped.',
    actions: [
      job(
        restoreJob(
          model,
          'osk-restore-verify',
          container({
            model,
            name: 'verify',
            image: 'mariadb',
            script: 'verify-sets.sh',
            env: env({ KINDS: kinds, SELECTOR: selector, BACKUP_ROOT }),
            mounts: [scriptsMount, claimMount, tmpMount],
          }),
          [scriptsVolume, claimVolume, tmpVolume],
        ),
        1800,
      ),
    ],
  });
  steps.push({
    title: 'Stop the backups and every API, scheduler, conductor and agent Deployment',
    why: 'Nothing may write to MariaDB or OVN while they are replaced, and a backup must not run against a half-restored database.',
    actions: [
      { do: 'suspend-cronjobs', names: cronJobs, suspend: true },
      {
        do: 'scale',
        kind: 'Deployment',
        names: deployments,
        replicas: 0,
        podSelector: `${sel},osk.dev/component in (${deployments.join(',')})`,
        timeoutSeconds: 600,
      },
    ],
    leaves: `the backup CronJobs are suspended and every Deployment is scaled to 0 (the cloud's APIs are down)`,
  });
  steps.push({
    title: 'Stop MariaDB',
    why: 'mariadb-backup --copy-back writes the data directory of a stopped server.',
    actions: [
      {
        do: 'scale',
        kind: 'StatefulSet',
        names: ['mariadb'],
        replicas: 0,
        podSelector: `${sel},osk.dev/component=mariadb`,
        timeoutSeconds: 900,
      },
    ],
    leaves: 'the backup CronJobs are suspended, every Deployment and MariaDB are scaled to 0',
  });
  if (galeraSize > 1) {
    const others = Array.from({ length: galeraSize - 1 }, (_, i) => mariadbClaim(i + 1));
    steps.push({
      title: 'Drop the data of the other Galera nodes',
      why: `mariadb-${BACKUP_MARIADB_ORDINAL} starts a new cluster from the restored data; the other nodes must not rejoin with their newer history, so their claims go and they copy the restored data (SST) when they start.`,
      actions: [{ do: 'delete-claims', names: others }],
      leaves: `the backup CronJobs are suspended, every Deployment and MariaDB are scaled to 0, and the claims ${others.join(', ')} are deleted`,
    });
  }
  steps.push({
    title: `Restore MariaDB into ${mariadbClaim()}`,
    why: `Unpacks the set, runs mariadb-backup --prepare (applies the redo log: a consistent database) and --copy-back into the emptied data directory of mariadb-${BACKUP_MARIADB_ORDINAL}, and removes its Galera state so it bootstraps a new cluster from this data.`,
    actions: [
      job(
        restoreJob(
          model,
          'osk-restore-mariadb',
          container(
            {
              model,
              name: 'mariadb-restore',
              image: 'mariadb',
              script: 'mariadb-restore.sh',
              env: env({
                SELECTOR: selector,
                BACKUP_ROOT,
                DATADIR: '/var/lib/mysql',
                WORK: `${BACKUP_ROOT}/.restore-mariadb`,
              }),
              mounts: [scriptsMount, claimMount, tmpMount, { name: 'mariadb-data', mountPath: '/var/lib/mysql' }],
            },
            { cpu: '500m', memory: '1Gi', memoryLimit: '4Gi' },
          ),
          [
            scriptsVolume,
            claimVolume,
            tmpVolume,
            { name: 'mariadb-data', persistentVolumeClaim: { claimName: mariadbClaim() } },
          ],
        ),
        3 * 3600,
      ),
    ],
    leaves: `the restored data is in ${mariadbClaim()}; MariaDB and every Deployment are still scaled to 0 and the backups suspended`,
  });
  steps.push({
    title: 'Start MariaDB',
    why: `mariadb-${BACKUP_MARIADB_ORDINAL} starts first (no Galera state: it bootstraps); ${galeraSize > 1 ? 'the others join and copy its data' : 'a single node needs nothing else'}.`,
    actions: [
      {
        do: 'scale',
        kind: 'StatefulSet',
        names: ['mariadb'],
        replicas: galeraSize,
        podSelector: `${sel},osk.dev/component=mariadb`,
        timeoutSeconds: 1800,
      },
      { do: 'rollout', statefulSet: 'mariadb', timeoutSeconds: 1800 },
    ],
    leaves: 'MariaDB runs on the restored data; every Deployment is still scaled to 0 and the backups suspended',
  });
  if (ovn) {
    steps.push({
      title: 'Restore the OVN Northbound and Southbound databases',
      why: 'ovsdb-client restore replaces each database in one transaction on the running RAFT cluster (the leader replicates it); ovn-northd is stopped so it does not write meanwhile. The OVN version must be the one that took the backup (same schema).',
      actions: [
        job(
          restoreJob(
            model,
            'osk-restore-ovn',
            container({
              model,
              name: 'ovn-restore',
              image: 'ovn',
              script: 'ovn-restore.sh',
              env: env({
                SELECTOR: selector,
                BACKUP_ROOT,
                OVN_NB_REMOTES: ovnNbConnection(ctx),
                OVN_SB_REMOTES: ovnSbConnection(ctx),
              }),
              mounts: [scriptsMount, claimMount, tmpMount],
            }),
            [scriptsVolume, claimVolume, tmpVolume],
          ),
          3600,
        ),
      ],
      leaves: 'MariaDB and OVN hold the restored data; every Deployment is still scaled to 0 and the backups suspended',
    });
  }
  steps.push({
    title: 'Start everything in the plan order, then resume the backups',
    why: 'osk apply brings every component back at its replicas, one wave after the other, each gated on the readiness of what it needs; the backup CronJobs are resumed once the cloud is ready.',
    actions: [{ do: 'apply' }, { do: 'suspend-cronjobs', names: cronJobs, suspend: false }],
    leaves: 'the cloud runs on the restored data and the backups are resumed',
  });
  const sync = ovn && model.components.has('neutron-server') ? neutronSyncJob(model, groups) : undefined;
  if (sync) {
    steps.push({
      title: 'Reconcile Neutron and OVN',
      why: "MariaDB and OVN were backed up seconds apart: neutron-ovn-db-sync-util repairs the OVN Northbound database from Neutron's (the source of truth) for anything that changed in between. It runs in neutron-server's own pod spec, so with neutron's exact configuration.",
      actions: [job(sync, 3600)],
    });
  }
  steps.push({
    title: 'Verify',
    why: 'Every component is ready again (the Galera nodes report Synced to their readiness probes), and the first backup after the restore succeeds (it re-checks every kept set against its SHA256SUMS).',
    actions: [
      { do: 'status' },
      {
        do: 'job-from-cronjob',
        cronJob: 'backup-mariadb',
        name: `backup-mariadb-after-restore-${now}`.slice(0, 63),
        timeoutSeconds: 2 * 3600,
      },
    ],
  });
  return steps.map((s) => ({ ...s, commands: s.actions.flatMap((a) => commandsOf(a, ns, file)) }));
}

/** The plan as text: numbered steps, why, then the commands indented. */
export function formatRestorePlan(steps: RestoreStep[]): string {
  return `${steps
    .map((s, i) => [`${i + 1}. ${s.title}`, `   ${s.why}`, ...s.commands.map((c) => `   $ ${c}`)].join('\n'))
    .join('\n\n')}\n`;
}

/** The plan for -o json: what a person or a pipeline reads (the actions are the runner's). */
export function restorePlanJson(steps: RestoreStep[]): unknown {
  return steps.map((s, i) => ({
    step: i + 1,
    title: s.title,
    why: s.why,
    commands: s.commands,
    ...(s.leaves ? { leaves: s.leaves } : {}),
  }));
}
