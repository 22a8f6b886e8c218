/** The Jobs of a restore (rendered here, run by restore-run.ts), each in the backups' own pod shape. */
import type { IContainer, IEnvVar, IPodSpec, IVolume } from 'kubernetes-models/v1';
import { BACKUP_ROOT } from './scripts.js';
import { ovnNbConnection, ovnSbConnection } from '../../../catalog/ovn.js';
import type { CloudModel } from '../../../plan/model.js';
import type { RenderedGroup } from '../objects.js';
import { Job } from '../k8s.js';
import {
  backupLabels,
  claimMount,
  claimVolume,
  container,
  mariadbClaim,
  offsiteEnv,
  podBasics,
  scriptsMount,
  scriptsVolume,
  tmpMount,
  tmpVolume,
} from './render.js';

const env = (e: Record<string, string>): IEnvVar[] => Object.entries(e).map(([name, value]) => ({ name, value }));

function restoreJob(model: CloudModel, name: string, c: IContainer, volumes: IVolume[]): Job {
  const { ctx } = model;
  const labels = backupLabels(ctx, 'restore');
  return Job({
    metadata: { name, namespace: ctx.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 6 * 3600,
      template: { metadata: { labels }, spec: { ...podBasics(model), containers: [c], volumes } },
    },
  });
}

/** Downloads the chosen sets from the offsite copy onto the backup claim. */
export function fetchJob(model: CloudModel, kinds: string, selector: string): Job {
  const { ctx } = model;
  return restoreJob(
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
  );
}

/** Checks the chosen sets against their SHA256SUMS. */
export function verifyJob(model: CloudModel, kinds: string, selector: string): Job {
  return restoreJob(
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
  );
}

/** Prepares the chosen MariaDB set and copies it back into the data directory of the bootstrap node. */
export function mariadbRestoreJob(model: CloudModel, selector: string): Job {
  return restoreJob(
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
  );
}

/** Replaces the OVN Northbound and Southbound databases with the chosen set. */
export function ovnRestoreJob(model: CloudModel, selector: string): Job {
  const { ctx } = model;
  return restoreJob(
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
  );
}

/**
 * The neutron-ovn-db-sync-util run, as a Job with neutron-server's own pod (image, configs,
 * credential overlays, service account), so it reads exactly the configuration neutron runs with.
 */
export function neutronSyncJob(model: CloudModel, groups: readonly RenderedGroup[]): Job | undefined {
  const dep = groups.find((g) => g.component === 'neutron-server')?.objects.find((o) => o.kind === 'Deployment') as
    | { spec: { template: { spec: IPodSpec } } }
    | undefined;
  if (!dep) return undefined;
  const pod = structuredClone(dep.spec.template.spec) as IPodSpec;
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
  return Job({
    metadata: { name: 'osk-restore-neutron-ovn-sync', namespace: model.ctx.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      template: { metadata: { labels }, spec: { ...pod, restartPolicy: 'Never', containers: [sync] } },
    },
  });
}
