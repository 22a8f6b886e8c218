/**
 * The backup objects of a cloud on Kubernetes (spec.backup), rendered with it as one group:
 *
 * - the claim `osk-backups` (ReadWriteOnce) that holds the backup sets (the scripts in scripts.ts);
 * - CronJob `backup-mariadb`: mariadb-backup of the Galera node mariadb-0 (it must be Synced),
 *   streamed, gzip'd, SHA256SUMS next to it, the oldest sets beyond spec.backup.copies removed;
 * - CronJob `backup-ovn`: `ovsdb-client backup` of the NB and SB RAFT clusters (the client finds
 *   the leader among all members), same claim, same retention and manifests;
 * - with spec.backup.offsite, a second container in each uploads the new set to S3 (credentials
 *   only from the named Secret) and checks that every file arrived;
 * - NetworkPolicies that admit exactly these pods to MariaDB, the OVN databases and S3;
 * - a Velero Schedule (velero.io/v1) for the namespace's objects and volumes (see velero.ts).
 *
 * mariadb-backup copies the data files, so it runs on the node of mariadb-0 with that pod's data
 * volume mounted read-only (a ReadWriteOnce volume can be mounted by several pods of one node).
 * Both CronJobs are pinned there, so the ReadWriteOnce backup claim is always used from one node
 * and both can run at the same time. Nothing when spec.backup.enabled is false.
 */
import { ExitCode, OskError } from '../../../errors.js';
import { scheduledJob } from '../cron-job.js';
import type { IContainer, IEnvVar, IPodTemplateSpec, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1';
import {
  BACKUP_BUNDLE,
  BACKUP_ROOT,
  BACKUP_SCRIPTS_DIR,
  backupEnabled,
  backupScripts,
  backupSettings,
} from './scripts.js';
import type { CatalogContext } from '../../../catalog/context.js';
import type { ImageKey } from '../../../spec/image-keys.js';
import { ovnNbConnection, ovnSbConnection } from '../../../catalog/ovn.js';
import type { ComponentDef } from '../../../catalog/types.js';
import type { CloudModel } from '../../../plan/model.js';
import { baseLabels, labelsFor, selectorFor } from '../labels.js';
import type { KubernetesAddOn } from '../add-on.js';
import type { KubeObject } from '../objects.js';
import { configMapName } from '../workload.js';
import { veleroSchedule } from './velero.js';
import { ConfigMap, NetworkPolicy, PersistentVolumeClaim, ServiceAccount, type CronJob } from '../k8s.js';

export const BACKUP_CLAIM = 'osk-backups';
const BACKUP_SERVICE_ACCOUNT = 'osk-backup';
/** The mariadb image's mysql user: owns the data files mariadb-backup reads. */
const BACKUP_UID = 999;
/** The Galera node backups are taken from and restored into (it bootstraps the cluster). */
export const BACKUP_MARIADB_ORDINAL = 0;
const DEFAULT_CLAIM_SIZE = { minimal: '20Gi', ha: '50Gi' };

type BackupPart = 'mariadb' | 'ovn' | 'restore';

/** Labels of backup and restore pods; `app.kubernetes.io/name: backup` selects all of them. */
export function backupLabels(ctx: CatalogContext, part: BackupPart): Record<string, string> {
  return labelsFor(ctx, { service: 'backup', part, id: `backup-${part}` });
}
function backupPodSelector(ctx: CatalogContext): Record<string, string> {
  return { 'app.kubernetes.io/instance': ctx.name, 'app.kubernetes.io/name': 'backup' };
}

/** Size and StorageClass of the backup claim: the cloud's StorageClass, a size by profile. */
function backupClaimSpec(ctx: CatalogContext): { size: string; storageClass?: string } {
  return { size: ctx.ha ? DEFAULT_CLAIM_SIZE.ha : DEFAULT_CLAIM_SIZE.minimal, ...ctx.storageClass(undefined) };
}

/** The MariaDB data claim of one StatefulSet pod (volumeClaimTemplate `data`). */
export function mariadbClaim(ordinal = BACKUP_MARIADB_ORDINAL): string {
  return `data-mariadb-${ordinal}`;
}

/** OVN databases osk runs itself (not with the kube-ovn backend, whose OVN is the cluster's). */
export function ovnBackedUp(model: CloudModel): boolean {
  return model.components.has('ovn-nb') && model.components.has('ovn-sb');
}

interface BackupContainerInputs {
  model: CloudModel;
  name: string;
  image: ImageKey;
  script: string;
  env: IEnvVar[];
  mounts: IVolumeMount[];
}

export function container(
  i: BackupContainerInputs,
  resources = { cpu: '100m', memory: '256Mi', memoryLimit: '1Gi' },
): IContainer {
  const { ctx } = i.model;
  return {
    name: i.name,
    image: ctx.imageRef(i.image),
    imagePullPolicy: ctx.spec.images?.pullPolicy ?? 'IfNotPresent',
    command: ['sh', `${BACKUP_SCRIPTS_DIR}/${i.script}`],
    env: i.env,
    resources: {
      requests: { cpu: resources.cpu, memory: resources.memory },
      limits: { memory: resources.memoryLimit },
    },
    volumeMounts: i.mounts,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsUser: BACKUP_UID,
      runAsNonRoot: true,
    },
  };
}

export const scriptsVolume: IVolume = {
  name: 'scripts',
  configMap: { name: configMapName(BACKUP_BUNDLE), defaultMode: 0o555 },
};
export const scriptsMount: IVolumeMount = { name: 'scripts', mountPath: BACKUP_SCRIPTS_DIR, readOnly: true };
export const claimVolume: IVolume = { name: 'backups', persistentVolumeClaim: { claimName: BACKUP_CLAIM } };
export const claimMount: IVolumeMount = { name: 'backups', mountPath: BACKUP_ROOT };
export const tmpVolume: IVolume = { name: 'tmp', emptyDir: {} };
export const tmpMount: IVolumeMount = { name: 'tmp', mountPath: '/tmp' };

/** The MariaDB root password as the env var the scripts read (from the store's Secret). */
function mariadbPasswordEnv(model: CloudModel): IEnvVar {
  const def = model.secrets.get('mariadb-root-password');
  if (!def) throw new Error('catalog bug: backups need the mariadb-root-password credential');
  return { name: 'MARIADB_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: def.k8sSecret, key: def.key } } };
}

/** S3 settings and credentials (from spec.backup.offsite.credentialsSecret only). */
export function offsiteEnv(ctx: CatalogContext): IEnvVar[] {
  const o = ctx.spec.backup?.offsite;
  if (!o) return [];
  const secret = o.credentialsSecret;
  return [
    { name: 'OFFSITE_URL', value: `${o.url.replace(/\/$/, '')}/${ctx.name}` },
    ...(o.endpoint ? [{ name: 'S3_ENDPOINT', value: o.endpoint }] : []),
    { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret, key: 'AWS_ACCESS_KEY_ID' } } },
    { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret, key: 'AWS_SECRET_ACCESS_KEY' } } },
    {
      name: 'AWS_DEFAULT_REGION',
      valueFrom: { secretKeyRef: { name: secret, key: 'AWS_DEFAULT_REGION', optional: true } },
    },
    // The AWS CLI writes its cache under $HOME; the image's HOME is not ours to write.
    { name: 'HOME', value: '/tmp' },
  ];
}

/** Pod spec parts every backup and restore pod shares: identity, user, node placement. */
export function podBasics(model: CloudModel) {
  const { ctx } = model;
  const mariadb = model.components.get('mariadb');
  return {
    serviceAccountName: BACKUP_SERVICE_ACCOUNT,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    restartPolicy: 'Never' as const,
    securityContext: {
      runAsUser: BACKUP_UID,
      runAsGroup: BACKUP_UID,
      fsGroup: BACKUP_UID,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' as const },
    },
    ...(mariadb && Object.keys(mariadb.settings.nodeSelector).length
      ? { nodeSelector: mariadb.settings.nodeSelector }
      : {}),
    ...(mariadb?.settings.tolerations.length ? { tolerations: mariadb.settings.tolerations } : {}),
    ...(ctx.spec.images?.pullSecrets?.length
      ? { imagePullSecrets: ctx.spec.images.pullSecrets.map((n) => ({ name: n })) }
      : {}),
  };
}

/** Run on the node of mariadb-0: its data volume and the backup claim are mounted there. */
function besideMariadb(model: CloudModel, mariadb: ComponentDef) {
  return {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: {
            matchLabels: {
              ...selectorFor(model.ctx, mariadb),
              'statefulset.kubernetes.io/pod-name': `mariadb-${BACKUP_MARIADB_ORDINAL}`,
            },
          },
          topologyKey: 'kubernetes.io/hostname',
        },
      ],
    },
  };
}

function cronJob(model: CloudModel, part: 'mariadb' | 'ovn', backup: IContainer, volumes: IVolume[]): CronJob {
  const { ctx } = model;
  const b = backupSettings(ctx);
  const labels = backupLabels(ctx, part);
  const offsite = b.offsite
    ? container({
        model,
        name: 'offsite',
        image: 'aws-cli',
        script: 'offsite-upload.sh',
        env: [{ name: 'KIND', value: part }, { name: 'BACKUP_ROOT', value: BACKUP_ROOT }, ...offsiteEnv(ctx)],
        mounts: [scriptsMount, claimMount, tmpMount],
      })
    : undefined;
  const template: IPodTemplateSpec = {
    metadata: { labels },
    spec: {
      ...podBasics(model),
      affinity: besideMariadb(model, model.components.get('mariadb')!),
      // Offsite: the backup runs first (init container), then the upload and the check of every set.
      ...(offsite ? { initContainers: [backup], containers: [offsite] } : { containers: [backup] }),
      volumes,
    },
  };
  return scheduledJob({
    metadata: { name: `backup-${part}`, namespace: ctx.namespace, labels },
    labels,
    schedule: b.schedule,
    backoffLimit: 1,
    activeDeadlineSeconds: 6 * 3600,
    ttlSecondsAfterFinished: 7 * 24 * 3600,
    template,
  });
}

function s3Port(endpoint: string | undefined): number {
  if (!endpoint) return 443;
  const u = new URL(endpoint);
  return u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
}

const ANYWHERE: INetworkPolicyPeer[] = [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }];

function networkPolicies(model: CloudModel): NetworkPolicy[] {
  const { ctx } = model;
  const ns = ctx.namespace;
  const labels = baseLabels(ctx);
  const pods = backupPodSelector(ctx);
  const targets: { id: string; port: number }[] = [{ id: 'mariadb', port: 3306 }];
  if (ovnBackedUp(model)) targets.push({ id: 'ovn-nb', port: 6641 }, { id: 'ovn-sb', port: 6642 });
  const offsite = ctx.spec.backup?.offsite;
  const out = [
    NetworkPolicy({
      metadata: { name: 'osk-backup', namespace: ns, labels },
      spec: {
        podSelector: { matchLabels: pods },
        policyTypes: ['Egress'],
        egress: [
          ...targets.map((t) => ({
            to: [{ podSelector: { matchLabels: selectorFor(ctx, model.components.get(t.id)!) } }],
            ports: [{ protocol: 'TCP' as const, port: t.port }],
          })),
          ...(offsite ? [{ to: ANYWHERE, ports: [{ protocol: 'TCP' as const, port: s3Port(offsite.endpoint) }] }] : []),
        ],
      },
    }),
  ];
  for (const t of targets) {
    out.push(
      NetworkPolicy({
        metadata: { name: `osk-backup-to-${t.id}`, namespace: ns, labels },
        spec: {
          podSelector: { matchLabels: selectorFor(ctx, model.components.get(t.id)!) },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: pods } }], ports: [{ protocol: 'TCP', port: t.port }] }],
        },
      }),
    );
  }
  return out;
}

/** spec.backup.copies as the scripts read it; anything but a positive whole number is bad input. */
function wholeCopies(copies: unknown): number {
  if (typeof copies === 'number' && Number.isSafeInteger(copies) && copies >= 1) return copies;
  throw new OskError(`spec.backup.copies: expected a whole number of at least 1, found ${JSON.stringify(copies)}`, {
    exitCode: ExitCode.invalidInput,
  });
}

/** The backup claim, CronJobs, their NetworkPolicies and the Velero Schedule (spec.backup). */
export const backupAddOn: KubernetesAddOn = { group: 'backup', objects: backupObjects };

function backupObjects(model: CloudModel): KubeObject[] {
  const { ctx } = model;
  if (!backupEnabled(ctx)) return [];
  const mariadb = model.components.get('mariadb');
  if (!mariadb) throw new Error('catalog bug: backups need the mariadb component');
  const b = backupSettings(ctx);
  const ns = ctx.namespace;
  const labels = baseLabels(ctx);
  const claim = backupClaimSpec(ctx);
  const verifyHere = ctx.spec.backup?.offsite ? '0' : '1';
  const common: CommonEnv = (kind) => [
    { name: 'BACKUP_ROOT', value: BACKUP_ROOT },
    // The scripts do arithmetic with it: only a whole number may reach them.
    { name: 'COPIES', value: String(wholeCopies(b.copies)) },
    // With an offsite copy, the upload container checks every set after uploading.
    { name: 'VERIFY_ALL', value: verifyHere },
    { name: 'KIND', value: kind },
  ];

  const out: KubeObject[] = [
    ServiceAccount({
      metadata: { name: BACKUP_SERVICE_ACCOUNT, namespace: ns, labels },
      automountServiceAccountToken: false,
    }),
    ConfigMap({
      metadata: { name: configMapName(BACKUP_BUNDLE), namespace: ns, labels },
      data: backupScripts(),
    }),
    PersistentVolumeClaim({
      metadata: { name: BACKUP_CLAIM, namespace: ns, labels: { ...labels, 'app.kubernetes.io/name': 'backup' } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: claim.size } },
        ...(claim.storageClass ? { storageClassName: claim.storageClass } : {}),
      },
    }),
    mariadbBackupJob(model, common),
  ];
  if (ovnBackedUp(model)) out.push(ovnBackupJob(model, common));
  out.push(...networkPolicies(model), veleroSchedule(ctx));
  return out;
}

/** The environment every backup container gets, with its KIND. */
type CommonEnv = (kind: string) => IEnvVar[];

/** The CronJob that dumps MariaDB from one member's data (read-only) into the backup claim. */
function mariadbBackupJob(model: CloudModel, common: CommonEnv): CronJob {
  return cronJob(
    model,
    'mariadb',
    container(
      {
        model,
        name: 'mariadb-backup',
        image: 'mariadb',
        script: 'mariadb-backup.sh',
        env: [
          { name: 'MARIADB_HOST', value: model.ctx.topology.podHost('mariadb', BACKUP_MARIADB_ORDINAL) },
          { name: 'MARIADB_PORT', value: '3306' },
          mariadbPasswordEnv(model),
          { name: 'DATADIR', value: '/var/lib/mysql' },
          ...common('mariadb'),
        ],
        mounts: [
          scriptsMount,
          claimMount,
          tmpMount,
          { name: 'mariadb-data', mountPath: '/var/lib/mysql', readOnly: true },
        ],
      },
      { cpu: '250m', memory: '512Mi', memoryLimit: '2Gi' },
    ),
    [
      scriptsVolume,
      claimVolume,
      tmpVolume,
      { name: 'mariadb-data', persistentVolumeClaim: { claimName: mariadbClaim(), readOnly: true } },
    ],
  );
}

/** The CronJob that backs up the OVN northbound and southbound databases. */
function ovnBackupJob(model: CloudModel, common: CommonEnv): CronJob {
  return cronJob(
    model,
    'ovn',
    container({
      model,
      name: 'ovn-backup',
      image: 'ovn',
      script: 'ovn-backup.sh',
      env: [
        { name: 'OVN_NB_REMOTES', value: ovnNbConnection(model.ctx) },
        { name: 'OVN_SB_REMOTES', value: ovnSbConnection(model.ctx) },
        ...common('ovn'),
      ],
      mounts: [scriptsMount, claimMount, tmpMount],
    }),
    [scriptsVolume, claimVolume, tmpVolume],
  );
}
