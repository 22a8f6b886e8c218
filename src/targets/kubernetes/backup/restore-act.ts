/**
 * How each action of a restore step is carried out through the API server and waited for (Jobs
 * complete, pods gone, StatefulSet ready, Velero phase Completed); restore-run.ts runs the steps.
 */
import type { Reporter } from '../../../reporter.js';
import type { CloudModel } from '../../../plan/model.js';
import { applyCloud } from '../apply.js';
import { KubeApiError, sleep, type KubeApi } from '../kube-api.js';
import { kubeStatus } from '../operate.js';
import { lastLogLines, warningEvents, workloadReadiness } from '../readiness.js';
import type { RenderedGroup } from '../objects.js';
import type { RestoreAction } from './restore-actions.js';
import { VELERO_API_VERSION, VELERO_NAMESPACE } from './velero.js';

const RESTORE_MANAGER = 'osk-restore';
const POLL_MS = Number(process.env.OSK_RESTORE_POLL_MS) || 1000;

/** What carrying out an action needs. */
export interface ActionContext {
  model: CloudModel;
  groups: RenderedGroup[];
  api: KubeApi;
  reporter: Reporter;
  /** Per-component readiness timeout of the apply step. */
  applyTimeoutSeconds?: number;
}

// Objects of several kinds as the API server returns them; each step reads the fields of its kind.
type Obj = {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string };
  // biome-ignore lint/suspicious/noExplicitAny: any kind's spec, read field by field
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: any kind's status, read field by field
  status?: any;
};

export async function runAction(
  a: RestoreAction,
  o: ActionContext,
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
      await runJob(api, a.job as unknown as Obj & { metadata: { namespace: string } }, a.timeoutSeconds, wait, notes);
      return;
    case 'job-from-cronjob':
      await runJob(api, await jobFromCronJob(api, ns, a), a.timeoutSeconds, wait, notes);
      return;
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
    case 'scale':
      await scale(api, ns, a, wait, notes);
      return;
    case 'delete-claims':
      await deleteClaims(api, ns, a, wait);
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
    case 'apply':
      await applyAgain(o, notes);
      return;
    case 'status':
      await requireReady(o, notes);
      return;
  }
}

type Act<K extends RestoreAction['do']> = Extract<RestoreAction, { do: K }>;

/** osk apply's own code brings every component back, wave after wave. */
async function applyAgain(o: ActionContext, notes: string[]): Promise<void> {
  const { api, model } = o;
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
}

/** Every component ready, as osk status sees it. */
async function requireReady(o: ActionContext, notes: string[]): Promise<void> {
  const { api, model } = o;
  const states = await kubeStatus(model, o.groups, api);
  const bad = states.filter((s) => !s.ready);
  if (bad.length)
    throw new Error(`not ready after the restore: ${bad.map((s) => `${s.component} (${s.state})`).join(', ')}`);
  notes.push(`${states.length} components ready`);
}

/** The Job `kubectl create job --from=cronjob/…` would create. */
async function jobFromCronJob(
  api: KubeApi,
  ns: string,
  a: Act<'job-from-cronjob'>,
): Promise<Obj & { metadata: { namespace?: string } }> {
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
  return job;
}

/** Scale the workloads (a missing one is noted); scaling to 0 waits for their pods to be gone. */
async function scale(
  api: KubeApi,
  ns: string,
  a: Act<'scale'>,
  wait: (detail: string) => void,
  notes: string[],
): Promise<void> {
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
}

/** Delete the claims and wait until they are gone. */
async function deleteClaims(
  api: KubeApi,
  ns: string,
  a: Act<'delete-claims'>,
  wait: (detail: string) => void,
): Promise<void> {
  for (const name of a.names)
    await api.request('DELETE', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`, {
      ok: [404],
      what: `delete PersistentVolumeClaim ${ns}/${name}`,
    });
  await until(600, `claims ${a.names.join(', ')} to be deleted`, async () => {
    const left: string[] = [];
    for (const name of a.names)
      if (
        (await api.request('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`, { ok: [404] })).status !==
        404
      )
        left.push(name);
    if (left.length) wait(`waiting for ${left.join(', ')} to be deleted (their pods must be gone)`);
    return left.length === 0;
  });
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
