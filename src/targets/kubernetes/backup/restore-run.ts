/**
 * Carries out a Kubernetes restore plan (restore.ts) through the API server, step by step, each
 * action waited for (Jobs complete, pods gone, StatefulSet ready, Velero phase Completed). On the
 * first failure it stops and says which step, what state the cloud is left in, and the command
 * that continues from there (`--start-at N`): every step can be run again.
 *
 * Everything goes through osk's own API client (no kubectl or velero binary needed): a Velero
 * backup or restore is the Backup/Restore object the velero CLI would create.
 */
import { ExitCode, OskError } from '../../../errors.js';
import { BACKUP_CLAIM } from './render.js';
import { type ActionContext, runAction } from './restore-act.js';
import type { RestoreStep } from './restore.js';
import { VELERO_API_VERSION } from './velero.js';

export interface RestoreRunOptions extends ActionContext {
  /** 1-based: skip the steps before it (they were done by an earlier, interrupted run). */
  startAt?: number;
  /** How a person continues after a failure (the command line without --start-at). */
  resumeCommand: string;
}

export interface RestoreRunResult {
  steps: { step: number; title: string; outcome: 'done' | 'skipped'; seconds: number; notes: string[] }[];
  seconds: number;
}

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
