/**
 * Carries out a Kubernetes restore plan (restore.ts) through the API server, step by step, each
 * action waited for (Jobs complete, pods gone, StatefulSet ready, Velero phase Completed). On the
 * first failure it stops and says which step, what state the cloud is left in, and the command
 * that continues from there (`--start-at N`): every step can be run again.
 *
 * Everything goes through osk's own API client (no kubectl or velero binary needed): a Velero
 * backup or restore is the Backup/Restore object the velero CLI would create.
 */
import type { Reporter } from '../../../reporter.js';
import { ExitCode, OskError } from '../../../errors.js';
import type { CloudModel } from '../../../plan/model.js';
import { applyCloud } from '../apply.js';
import { KubeApiError, sleep, type KubeApi } from '../kube-api.js';
import { kubeStatus } from '../operate.js';
import { lastLogLines, warningEvents, workloadReadiness } from '../readiness.js';
import type { RenderedGroup } from '../objects.js';
import { BACKUP_CLAIM } from './render.js';
import type { RestoreAction, RestoreStep } from './restore.js';
import { VELERO_API_VERSION, VELERO_NAMESPACE } from './velero.js';

const RESTORE_MANAGER = 'osk-restore';
const POLL_MS = Number(process.env.OSK_RESTORE_POLL_MS) || 1000;

interface RestoreRunOptions {
  model: CloudModel;
  groups: RenderedGroup[];
  api: KubeApi;
  reporter: Reporter;
  /** 1-based: skip the steps before it (they were done by an earlier, interrupted run). */
  startAt?: number;
  /** How a person continues after a failure (the command line without --start-at). */
  resumeCommand: string;
  /** Per-component readiness timeout of the apply step. */
  applyTimeoutSeconds?: number;
}

interface RestoreRunResult {
  steps: { step: number; title: string; outcome: 'done' | 'skipped'; seconds: number; notes: string[] }[];
  seconds: number;
}

// Objects of several kinds as the API server returns them; each step reads the fields of its kind.
type Obj = {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string };
  // biome-ignore lint/suspicious/noExplicitAny: any kind's spec, read field by field
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: any kind's status, read field by field
  status?: any;
};

/** Fails when the cloud is not deployed where the plan expects it (unless Velero brings it back). */
export async function restorePreflight(
  steps: RestoreStep[],
  o: Pick<RestoreRunOptions, 'model' | 'api'>,
): Promise<string[]> {
  const { model, api } = o;
  const ns = model.ctx.namespace;
  const notes: string[] = [];
  const needsVelero = steps.some((s) => s.actions.some((a) => a.do === 'velero-restore'));
  const veleroServed =
    (await api.serves(VELERO_API_VERSION, 'Backup')) && (await api.serves(VELERO_API_VERSION, 'Restore'));
  if (needsVelero && !veleroServed) {
    throw new OskError(
      `the cluster does not serve Velero's Backup and Restore (${VELERO_API_VERSION}), so a velero: source cannot be restored`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'install Velero in the cluster (velero install …), or restore from the backup claim: --from latest',
      },
    );
  }
  if (!veleroServed)
    notes.push(
      `Velero is not installed (${VELERO_API_VERSION} Backup not served): no copy of the current state is kept before the restore; the backup sets on ${BACKUP_CLAIM} stay as they are`,
    );
  if (!needsVelero) {
    const missing: string[] = [];
    const sts = await api.request('GET', `/apis/apps/v1/namespaces/${ns}/statefulsets/mariadb`, { ok: [404] });
    if (sts.status === 404) missing.push('StatefulSet mariadb');
    const claim = await api.request('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${BACKUP_CLAIM}`, {
      ok: [404],
    });
    if (claim.status === 404) missing.push(`PersistentVolumeClaim ${BACKUP_CLAIM}`);
    if (missing.length) {
      throw new OskError(
        `cloud ${model.ctx.name} is not deployed in namespace ${ns} of ${api.server}: no ${missing.join(', no ')}; nothing was changed`,
        {
          exitCode: ExitCode.invalidInput,
          hint: 'check --context/--kubeconfig; a restore needs the deployed cloud and its backup claim (or --from velero:<backup> to bring the namespace back first)',
        },
      );
    }
  }
  return notes;
}

export async function runRestore(steps: RestoreStep[], o: RestoreRunOptions): Promise<RestoreRunResult> {
  const t0 = Date.now();
  const startAt = o.startAt ?? 1;
  if (!Number.isInteger(startAt) || startAt < 1 || startAt > steps.length) {
    throw new OskError(`--start-at ${startAt}: the plan has steps 1 to ${steps.length}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'osk restore … --dry-run prints them',
    });
  }
  const veleroServed = await o.api.serves(VELERO_API_VERSION, 'Backup');
  const result: RestoreRunResult = { steps: [], seconds: 0 };
  for (const [i, step] of steps.entries()) {
    const n = i + 1;
    const id = `step ${n}/${steps.length}`;
    if (n < startAt) {
      result.steps.push({ step: n, title: step.title, outcome: 'skipped', seconds: 0, notes: ['before --start-at'] });
      continue;
    }
    o.reporter.begin(id, step.title);
    const s0 = Date.now();
    const notes: string[] = [];
    try {
      for (const a of step.actions) {
        if (a.do === 'velero-backup' && !veleroServed) {
          notes.push('skipped: Velero is not installed');
          continue;
        }
        await runAction(a, o, (detail) => o.reporter.waiting(id, detail), notes);
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      o.reporter.fail(id, message);
      const before = steps
        .slice(0, i)
        .reverse()
        .find((s) => s.leaves)?.leaves;
      throw new OskError(
        `restore stopped at step ${n} of ${steps.length} (${step.title}): ${message}\n` +
          `  done: ${n > 1 ? `steps 1 to ${n - 1}` : 'nothing'}${startAt > 1 ? ` (1 to ${startAt - 1} before this run)` : ''}\n` +
          `  the cloud now: ${before ?? 'unchanged'}${n > 1 ? '' : ' (nothing was changed)'}`,
        { hint: `fix the cause, then continue from this step: ${o.resumeCommand} --start-at ${n}` },
      );
    }
    const seconds = (Date.now() - s0) / 1000;
    const skipped = notes.filter((x) => x.startsWith('skipped')).length === step.actions.length;
    o.reporter.done(id, skipped ? 'skipped' : 'completed', [step.title, ...notes].join('; '));
    result.steps.push({ step: n, title: step.title, outcome: 'done', seconds, notes });
  }
  result.seconds = (Date.now() - t0) / 1000;
  return result;
}

async function runAction(
  a: RestoreAction,
  o: RestoreRunOptions,
  wait: (detail: string) => void,
  notes: string[],
): Promise<void> {
  const { api, model } = o;
  const ns = model.ctx.namespace;
  switch (a.do) {
    case 'velero-backup':
      await veleroRun(api, 'Backup', a.name, { includedNamespaces: [a.namespace], snapshotVolumes: true }, wait);
      notes.push(`Velero backup ${a.name} completed`);
      return;
    case 'velero-restore':
      await veleroRun(
        api,
        'Restore',
        a.name,
        { backupName: a.backup, includedNamespaces: [a.namespace], restorePVs: true },
        wait,
      );
      notes.push(`Velero restore ${a.name} completed`);
      return;
    case 'job':
      await runJob(
        api,
        a.job.toJSON() as unknown as Obj & { metadata: { namespace: string } },
        a.timeoutSeconds,
        wait,
        notes,
      );
      return;
    case 'job-from-cronjob': {
      const cj = (
        await api.request<Obj>('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs/${a.cronJob}`, {
          what: `get CronJob ${ns}/${a.cronJob}`,
        })
      ).body;
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: a.name,
          namespace: ns,
          labels: cj.spec.jobTemplate.metadata?.labels ?? {},
          // What `kubectl create job --from=cronjob/…` sets: the CronJob owns it, marked manual.
          annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'CronJob', name: a.cronJob, uid: cj.metadata.uid!, controller: true },
          ],
        },
        spec: cj.spec.jobTemplate.spec,
      };
      await runJob(api, job, a.timeoutSeconds, wait, notes);
      return;
    }
    case 'suspend-cronjobs':
      for (const name of a.names) {
        await api.request('PATCH', `/apis/batch/v1/namespaces/${ns}/cronjobs/${name}`, {
          body: { spec: { suspend: a.suspend } },
          contentType: 'application/merge-patch+json',
          query: { fieldManager: RESTORE_MANAGER },
          what: `${a.suspend ? 'suspend' : 'resume'} CronJob ${ns}/${name}`,
        });
      }
      return;
    case 'scale': {
      const plural = a.kind === 'Deployment' ? 'deployments' : 'statefulsets';
      const absent: string[] = [];
      for (const name of a.names) {
        const r = await api.request('PATCH', `/apis/apps/v1/namespaces/${ns}/${plural}/${name}/scale`, {
          body: { spec: { replicas: a.replicas } },
          contentType: 'application/merge-patch+json',
          query: { fieldManager: RESTORE_MANAGER },
          ok: [404],
          what: `scale ${a.kind} ${ns}/${name}`,
        });
        if (r.status === 404) absent.push(name);
      }
      if (absent.length) notes.push(`not deployed: ${absent.join(', ')}`);
      if (a.replicas === 0) {
        await until(
          a.timeoutSeconds,
          `the pods of ${a.names.length > 3 ? `${a.names.length} ${plural}` : a.names.join(', ')} to be gone`,
          async () => {
            const pods = (
              await api.request<{ items: Obj[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
                query: { labelSelector: a.podSelector },
              })
            ).body.items;
            if (pods.length)
              wait(
                `${pods.length} pods still stopping (${pods
                  .slice(0, 3)
                  .map((p) => p.metadata.name)
                  .join(', ')}${pods.length > 3 ? ', …' : ''})`,
              );
            return pods.length === 0;
          },
        );
      }
      return;
    }
    case 'delete-claims':
      for (const name of a.names)
        await api.request('DELETE', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`, {
          ok: [404],
          what: `delete PersistentVolumeClaim ${ns}/${name}`,
        });
      await until(600, `claims ${a.names.join(', ')} to be deleted`, async () => {
        const left: string[] = [];
        for (const name of a.names)
          if (
            (await api.request('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`, { ok: [404] }))
              .status !== 404
          )
            left.push(name);
        if (left.length) wait(`waiting for ${left.join(', ')} to be deleted (their pods must be gone)`);
        return left.length === 0;
      });
      return;
    case 'rollout':
      await until(a.timeoutSeconds, `StatefulSet ${a.statefulSet} to be ready`, async () => {
        const sts = (
          await api.request<Obj>('GET', `/apis/apps/v1/namespaces/${ns}/statefulsets/${a.statefulSet}`, {
            what: `get StatefulSet ${ns}/${a.statefulSet}`,
          })
        ).body;
        const r = workloadReadiness('StatefulSet', sts);
        wait(`${a.statefulSet}: ${r.summary}`);
        return r.ready;
      });
      return;
    case 'apply': {
      const r = await applyCloud(model, o.groups, api, {
        reporter: o.reporter,
        timeoutSeconds: o.applyTimeoutSeconds ?? 600,
        prune: false,
        pruneVolumes: false,
      });
      if (r.failed.size)
        throw new Error(
          `osk apply did not bring every component back: ${[...r.failed].map(([id, e]) => `${id}: ${e.message}`).join('; ')}`,
        );
      notes.push(`${r.done.length} components ready`);
      return;
    }
    case 'status': {
      const states = await kubeStatus(model, o.groups, api);
      const bad = states.filter((s) => !s.ready);
      if (bad.length)
        throw new Error(`not ready after the restore: ${bad.map((s) => `${s.component} (${s.state})`).join(', ')}`);
      notes.push(`${states.length} components ready`);
      return;
    }
  }
}

/** Delete a leftover of an earlier run, create the Job, wait for Complete; a failure carries events and logs. */
async function runJob(
  api: KubeApi,
  job: Obj & { metadata: { namespace?: string } },
  timeoutSeconds: number,
  wait: (d: string) => void,
  notes: string[],
): Promise<void> {
  const ns = job.metadata.namespace!;
  const name = job.metadata.name;
  const path = `/apis/batch/v1/namespaces/${ns}/jobs/${name}`;
  const old = await api.request('DELETE', path, {
    ok: [404],
    query: { propagationPolicy: 'Foreground' },
    what: `delete Job ${ns}/${name}`,
  });
  if (old.status !== 404)
    await until(
      300,
      `the earlier Job ${name} to be deleted`,
      async () => (await api.request('GET', path, { ok: [404] })).status === 404,
    );
  await api.request('POST', `/apis/batch/v1/namespaces/${ns}/jobs`, {
    body: job,
    query: { fieldManager: RESTORE_MANAGER, fieldValidation: 'Strict' },
    what: `create Job ${ns}/${name}`,
  });
  let last: { ready: boolean; failed?: boolean; summary: string } = { ready: false, summary: 'created' };
  try {
    await until(timeoutSeconds, `Job ${name} to complete`, async () => {
      const j = (await api.request<Obj>('GET', path, { what: `get Job ${ns}/${name}` })).body;
      last = workloadReadiness('Job', j);
      if (last.failed) throw new Error(`Job ${name} failed: ${last.summary}`);
      wait(`Job ${name}: ${last.summary}`);
      return last.ready;
    });
  } catch (e) {
    const events = await warningEvents(api, ns, [name]).catch(() => []);
    const logs = await lastLogLines(api, ns, `job-name=${name}`, 20).catch(() => undefined);
    throw new Error(
      `${(e as Error).message}${events.length ? `\n    events: ${events.join('\n            ')}` : ''}${logs ? `\n    last log lines:\n      ${logs.trimEnd().split('\n').join('\n      ')}` : ''}`,
    );
  }
  const logs = await lastLogLines(api, ns, `job-name=${name}`, 5).catch(() => undefined);
  notes.push(`Job ${name} completed${logs?.trim() ? ` (${logs.trim().split('\n').pop()})` : ''}`);
}

/** Create a Velero Backup or Restore (what the velero CLI does) and wait for its final phase. */
async function veleroRun(
  api: KubeApi,
  kind: 'Backup' | 'Restore',
  name: string,
  spec: Record<string, unknown>,
  wait: (d: string) => void,
): Promise<void> {
  const coll = await api.path(VELERO_API_VERSION, kind, VELERO_NAMESPACE);
  const body = {
    apiVersion: VELERO_API_VERSION,
    kind,
    metadata: { name, namespace: VELERO_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'osk' } },
    spec,
  };
  const r = await api.request('POST', coll, {
    body,
    ok: [409],
    query: { fieldManager: RESTORE_MANAGER },
    what: `create Velero ${kind} ${name}`,
  });
  if (r.status === 409) wait(`Velero ${kind} ${name} exists already: waiting for it`);
  await until(4 * 3600, `Velero ${kind} ${name} to finish`, async () => {
    const o = (await api.request<Obj>('GET', `${coll}/${name}`, { what: `get Velero ${kind} ${name}` })).body;
    const phase: string = o.status?.phase ?? 'New';
    if (phase === 'Completed') return true;
    if (['Failed', 'PartiallyFailed', 'FailedValidation'].includes(phase)) {
      const why = [
        o.status?.failureReason,
        ...(o.status?.validationErrors ?? []),
        o.status?.errors ? `${o.status.errors} errors` : undefined,
      ]
        .filter(Boolean)
        .join('; ');
      throw new Error(
        `Velero ${kind} ${name} ended ${phase}${why ? `: ${why}` : ''} (velero ${kind.toLowerCase()} describe ${name} --details)`,
      );
    }
    wait(`Velero ${kind} ${name}: ${phase}`);
    return false;
  });
}

async function until(timeoutSeconds: number, what: string, done: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    if (await done()) return;
    if (Date.now() > end)
      throw new KubeApiError(`timed out after ${timeoutSeconds} s waiting for ${what}`, 0, 'Timeout');
    await sleep(POLL_MS);
  }
}
