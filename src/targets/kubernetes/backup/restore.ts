/**
 * `osk restore --from …` on Kubernetes: the procedure as data, in dependency order. Each step
 * says why it is there, what it does as actions (carried out by restore-run.ts through the API
 * server) and the same as the commands an operator would type (kubectl, velero, osk), which
 * `--dry-run` prints. Nothing here talks to a cluster; the Jobs a step creates are rendered in
 * restore-jobs.ts, the commands of each action (schema-validated Job manifests) in restore-actions.ts.
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
 * The osk secret store file (state/paths.ts secretStorePath, ~/.local/state/osk/<cloud>/secrets.yaml) is the
 * authoritative copy of every credential: the cluster's Secrets are created from it. Back it up
 * off-cluster (it is not in the cluster's backups unless Velero has the Secrets); with only the
 * cluster's Secrets left, `osk apply --import-secrets` rebuilds the store from them.
 */
import { backupEnabled } from './scripts.js';
import { ExitCode, OskError } from '../../../errors.js';
import type { CloudModel } from '../../../plan/model.js';
import type { RenderedGroup } from '../objects.js';
import { type RestoreAction, commandsOf } from './restore-actions.js';
import { fetchJob, mariadbRestoreJob, neutronSyncJob, ovnRestoreJob, verifyJob } from './restore-jobs.js';
import { BACKUP_MARIADB_ORDINAL, mariadbClaim, ovnBackedUp } from './render.js';
import type { Job } from '../k8s.js';

export interface RestoreStep {
  title: string;
  why: string;
  /** Shell commands, run in order; a command may carry a here-document (a Job manifest). */
  commands: string[];
  actions: RestoreAction[];
  /** The state of the cloud once this step is done, for "stopped at step N" (undefined: as before). */
  leaves?: string;
}

export type RestoreSource =
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

export interface RestorePlanOptions {
  cloudFile?: string;
  /** Names the safety copy (default: now). */
  now?: Date;
}

/**
 * A name part from the time, to the millisecond: a Velero object that already has the name is
 * adopted (waited for), so two restores started in the same second must not share a safety copy
 * (the second would take the first one's, failed or not).
 */
function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d+)Z$/, '$1z')
    .toLowerCase();
}

/** What the steps of one plan are built from. */
interface PlanFacts {
  model: CloudModel;
  src: RestoreSource;
  ns: string;
  /** Whether OVN is backed up (and so restored). */
  ovn: boolean;
  /** The kinds of sets restored: "mariadb" or "mariadb ovn". */
  kinds: string;
  selector: string;
  galeraSize: number;
  /** Label selector of the cloud's pods. */
  sel: string;
  cronJobs: string[];
  /** Stamp of this restore, naming the safety copy and the check backup. */
  now: string;
}

type Step = Omit<RestoreStep, 'commands'>;
const job = (j: Job, timeoutSeconds: number): RestoreAction => ({ do: 'job', job: j, timeoutSeconds });

/** Before anything is stopped: a copy of the current state, then the sets brought back and checked. */
function prepareSteps(f: PlanFacts): Step[] {
  const { model, src, ns, kinds, selector, now } = f;
  const { ctx } = model;
  const steps: Step[] = [];
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
      actions: [job(fetchJob(model, kinds, selector), 2 * 3600)],
      leaves: 'the offsite sets are on the backup claim; the cloud itself is unchanged',
    });
  }
  steps.push({
    title: `Verify the ${selector} backup sets`,
    why: 'Checks the chosen MariaDB and OVN sets against their SHA256SUMS and shows which sets will be used, before anything is stopped.',
    actions: [job(verifyJob(model, kinds, selector), 1800)],
  });
  return steps;
}

/** Stop everything that writes, then MariaDB, and drop the data of the Galera nodes that must not rejoin. */
function stopSteps(f: PlanFacts): Step[] {
  const { model, sel, cronJobs, galeraSize } = f;
  const deployments = [...model.components.values()].filter((c) => c.workload === 'Deployment').map((c) => c.id);
  const steps: Step[] = [];
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
  return steps;
}

/** The data put back, MariaDB started on it, then OVN. */
function restoreDataSteps(f: PlanFacts): Step[] {
  const { model, ovn, selector, sel, galeraSize } = f;
  const steps: Step[] = [];
  steps.push({
    title: `Restore MariaDB into ${mariadbClaim()}`,
    why: `Unpacks the set, runs mariadb-backup --prepare (applies the redo log: a consistent database) and --copy-back into the emptied data directory of mariadb-${BACKUP_MARIADB_ORDINAL}, and removes its Galera state so it bootstraps a new cluster from this data.`,
    actions: [job(mariadbRestoreJob(model, selector), 3 * 3600)],
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
      actions: [job(ovnRestoreJob(model, selector), 3600)],
      leaves: 'MariaDB and OVN hold the restored data; every Deployment is still scaled to 0 and the backups suspended',
    });
  }
  return steps;
}

/** Everything started again, Neutron and OVN reconciled, the result checked. */
function finishSteps(f: PlanFacts, groups: readonly RenderedGroup[]): Step[] {
  const { model, ovn, cronJobs, now } = f;
  const steps: Step[] = [];
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
  return steps;
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
  const galeraSize = model.components.get('mariadb')!.settings.replicas;
  const sel = `app.kubernetes.io/instance=${ctx.name}`;
  const cronJobs = ['backup-mariadb', ...(ovn ? ['backup-ovn'] : [])];
  const facts: PlanFacts = {
    model,
    src,
    ns,
    ovn,
    kinds,
    selector,
    galeraSize,
    sel,
    cronJobs,
    now: stamp(opts.now ?? new Date()),
  };
  const steps = [
    ...prepareSteps(facts),
    ...stopSteps(facts),
    ...restoreDataSteps(facts),
    ...finishSteps(facts, groups),
  ];
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
