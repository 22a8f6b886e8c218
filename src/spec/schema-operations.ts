/** spec.monitoring and spec.backup: what watches the cloud and what keeps copies of it. */
import { z } from 'zod';
import { duration, httpUrl, k8sName, percent, s3Url } from './rules.js';
import { cron } from './schema-parts.js';

/** Where S3 credentials go instead of a URL. */
const CREDENTIALS_GO =
  'put the access key in the Secret named by spec.backup.offsite.credentialsSecret (keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and write the URL without user:password@';

export const monitoringSchema = z.strictObject({
  enabled: z.boolean().default(true),
  required: z
    .boolean()
    .default(false)
    .describe(
      'Stop osk apply before changing anything when the cluster lacks the Prometheus Operator CRDs (default: skip those objects with a note)',
    ),
  thresholds: z
    .strictObject({
      novaApiP99: duration.default('500ms'),
      neutronPortFailureRate: percent.default('1%'),
      cinderOpLatency: duration.default('3s'),
      apiSuccessRate: percent.default('99.9%'),
      gatewayP99: duration.default('200ms'),
      podRestartsPerHour: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .default(3)
        .describe('Alert when a container restarts more often than this in an hour (0: on any restart)'),
      containerCpu: percent.default('70%'),
      containerMemory: percent.default('80%'),
    })
    .optional(),
});

export const backupSchema = z.strictObject({
  enabled: z.boolean().default(true),
  required: z
    .boolean()
    .default(false)
    .describe(
      "Stop osk apply before changing anything when the cluster lacks Velero's CRDs (default: skip those objects with a note)",
    ),
  schedule: cron.default('0 2 * * *'),
  copies: z.number().int().min(1).max(365).default(3).describe('Backups kept'),
  offsite: z
    .strictObject({
      url: s3Url(CREDENTIALS_GO).describe('s3://bucket/prefix; never with credentials (they go in credentialsSecret)'),
      endpoint: httpUrl(CREDENTIALS_GO).optional().describe('S3-compatible endpoint (MinIO, Ceph RGW); AWS when unset'),
      credentialsSecret: k8sName
        .default('osk-backup-s3')
        .describe('Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'),
    })
    .optional(),
});
