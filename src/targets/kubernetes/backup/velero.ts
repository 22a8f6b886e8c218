/**
 * The Velero Schedule (velero.io/v1) of a cloud: every object osk renders in the cloud's
 * namespace (Secrets with every credential and the Fernet/credential keys, ConfigMaps, claims
 * and workloads) plus the cluster-scoped ones it renders (StorageClasses), selected by the labels
 * every osk object carries, on spec.backup.schedule, kept copies × the schedule's period.
 *
 * Volumes: `snapshotVolumes: true`, `defaultVolumesToFsBackup: false`. File-system backup only
 * reads volumes mounted by a running pod (the backup claim is mounted only while a backup runs)
 * and copies a live database file by file (torn InnoDB pages, a RAFT log mid-write). Volume
 * snapshots are point-in-time per volume and also cover unmounted claims, so they capture the
 * backup claim with its consistent, checksummed sets (mariadb-backup, ovsdb-client backup),
 * which are what a restore uses; snapshots of the live database volumes are crash-consistent
 * extras. Needs a CSI driver with snapshots (Velero's CSI support) or a volume snapshotter
 * plugin; without one Velero still backs up every object and marks the volumes as skipped.
 *
 * The Schedule lives in Velero's namespace (`velero`, where the server watches Schedules);
 * includedNamespaces names the cloud's. Which kinds need Velero's CRDs: ../monitoring/crds.ts.
 */
import { ExitCode, OskError } from '../../../errors.js';
import { backupSettings } from './scripts.js';
import { cronPeriodMinutes } from '../../../spec/cron.js';
import type { CatalogContext } from '../../../catalog/context.js';
import { baseLabels, CLOUD_LABEL } from '../labels.js';
import type { KubeObject } from '../objects.js';

export const VELERO_NAMESPACE = 'velero';
export const VELERO_API_VERSION = 'velero.io/v1';

interface VeleroScheduleSpec {
  schedule: string;
  useOwnerReferencesInBackup?: boolean;
  template: {
    includedNamespaces: string[];
    includeClusterResources: boolean;
    labelSelector: { matchLabels: Record<string, string> };
    snapshotVolumes: boolean;
    defaultVolumesToFsBackup: boolean;
    ttl: string;
    metadata?: { labels: Record<string, string> };
  };
}

/** The labels the Schedule selects by: on every object osk renders for this cloud. */
function veleroSelector(ctx: CatalogContext): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'osk', [CLOUD_LABEL]: ctx.name };
}

class VeleroSchedule implements KubeObject {
  readonly apiVersion = VELERO_API_VERSION;
  readonly kind = 'Schedule';
  constructor(
    readonly metadata: { name: string; namespace: string; labels: Record<string, string> },
    readonly spec: VeleroScheduleSpec,
  ) {}

  /** The Schedule CRD's required fields and the formats Velero parses (cron, Go duration). */
  validate(): void {
    const problems: string[] = [];
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.metadata.name) || this.metadata.name.length > 63)
      problems.push(`metadata.name ${this.metadata.name} is not a DNS label`);
    if (!this.spec.schedule) problems.push('spec.schedule is required');
    else if (cronPeriodMinutes(this.spec.schedule) === undefined)
      problems.push(`spec.schedule ${this.spec.schedule} is not a cron schedule`);
    if (!this.spec.template) problems.push('spec.template is required');
    else if (!/^(\d+h)?(\d+m)?(\d+s)?$/.test(this.spec.template.ttl) || this.spec.template.ttl === '')
      problems.push(`spec.template.ttl ${this.spec.template.ttl} is not a Go duration`);
    if (problems.length) throw new Error(`Schedule ${this.metadata.name}: ${problems.join('; ')}`);
  }

  /** As plain data, like every object osk renders. */
  toJSON(): KubeObject & { spec: VeleroScheduleSpec } {
    return { apiVersion: this.apiVersion, kind: this.kind, metadata: this.metadata, spec: this.spec };
  }
}

export function veleroSchedule(ctx: CatalogContext): KubeObject & { spec: VeleroScheduleSpec } {
  const b = backupSettings(ctx);
  const s = new VeleroSchedule(
    { name: `osk-${ctx.name}`, namespace: VELERO_NAMESPACE, labels: baseLabels(ctx) },
    {
      schedule: b.schedule,
      // Backups outlive the Schedule: deleting the cloud's Schedule must not delete them.
      useOwnerReferencesInBackup: false,
      template: {
        includedNamespaces: [ctx.namespace],
        // osk renders StorageClasses (Cinder CSI); PVs come along with their claims.
        includeClusterResources: true,
        labelSelector: { matchLabels: veleroSelector(ctx) },
        snapshotVolumes: true,
        defaultVolumesToFsBackup: false,
        ttl: veleroTtl(b.schedule, b.copies),
        metadata: { labels: baseLabels(ctx) },
      },
    },
  );
  s.validate();
  return s.toJSON();
}

/** TTL of each Velero backup: copies × the longest gap between two runs of the schedule. */
export function veleroTtl(schedule: string, copies: number): string {
  const minutes = cronPeriodMinutes(schedule);
  // src/spec refuses a bad schedule at load time; one that slipped through is still bad input, not a crash.
  if (minutes === undefined)
    throw new OskError(`spec.backup.schedule: ${JSON.stringify(schedule)} is not a cron schedule that ever runs`, {
      exitCode: ExitCode.invalidInput,
      hint: 'five fields such as "0 2 * * *", or @daily',
    });
  const total = minutes * copies;
  return `${Math.floor(total / 60)}h${total % 60}m0s`;
}
