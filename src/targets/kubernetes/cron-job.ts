/**
 * The one shape of osk's scheduled Jobs (backups, key rotation): UTC schedule, never two runs at
 * once, a missed run still starts within an hour, the last three successes and failures kept.
 */
import type { ICronJob } from 'kubernetes-models/batch/v1';
import type { IPodTemplateSpec } from 'kubernetes-models/v1';
import { CronJob } from './k8s.js';

interface ScheduledJob {
  metadata: NonNullable<ICronJob['metadata']>;
  /** Labels of the Jobs it creates. */
  labels: Record<string, string>;
  schedule: string;
  backoffLimit: number;
  activeDeadlineSeconds: number;
  ttlSecondsAfterFinished?: number;
  template: IPodTemplateSpec;
}

export function scheduledJob(s: ScheduledJob): CronJob {
  return CronJob({
    metadata: s.metadata,
    spec: {
      schedule: s.schedule,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: s.labels },
        spec: {
          backoffLimit: s.backoffLimit,
          activeDeadlineSeconds: s.activeDeadlineSeconds,
          ...(s.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: s.ttlSecondsAfterFinished } : {}),
          template: s.template,
        },
      },
    },
  });
}
