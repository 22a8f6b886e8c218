/**
 * The Cinder CSI driver of a user's cluster (cloud-provider-openstack's cinder-csi-plugin with the
 * kubernetes-csi sidecars) and one StorageClass per Cinder volume type of the cluster file. The
 * controller (CreateVolume, attach to the node's server, resize) is a Deployment; the node plugin
 * (format, mount) a DaemonSet on every node. Both read the cloud-config Secret (cluster-addons.ts).
 * No snapshotter: it needs the VolumeSnapshot CRDs and their controller, which a kubeadm cluster
 * does not have.
 */
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { ICSIDriver } from 'kubernetes-models/storage.k8s.io/v1/CSIDriver';
import type { IStorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { ClusterFile } from '../spec/schema-cluster.js';
import {
  ADDON_IMAGES,
  ADDON_NAMESPACE,
  CLOUD_CONFIG_DIR,
  CLOUD_CONFIG_SECRET,
  EARLY_TOLERATIONS,
  managed,
} from './cluster-addon-parts.js';

export type CsiObject =
  | IServiceAccount
  | IClusterRole
  | IClusterRoleBinding
  | ICSIDriver
  | IDeployment
  | IDaemonSet
  | IStorageClass;

export const CINDER_CSI_DRIVER = 'cinder.csi.openstack.org';
export const CSI_CONTROLLER_SERVICE_ACCOUNT = 'csi-cinder-controller-sa';
const NODE_SERVICE_ACCOUNT = 'csi-cinder-node-sa';
const rule = (apiGroups: string[], resources: string[], verbs: string[]) => ({ apiGroups, resources, verbs });
const READ = ['get', 'list', 'watch'];
const LEASES = rule(['coordination.k8s.io'], ['leases'], ['get', 'watch', 'list', 'delete', 'update', 'create']);
const EVENTS = rule([''], ['events'], ['list', 'watch', 'create', 'update', 'patch']);

/** One ServiceAccount, ClusterRole and binding. */
function account(file: ClusterFile, name: string, role: string, rules: IClusterRole['rules']): CsiObject[] {
  const labels = managed(file);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ADDON_NAMESPACE, labels } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: role, labels }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: role, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ADDON_NAMESPACE }],
    },
  ];
}

/** What the provisioner, attacher and resizer of the controller read and write (their manifests' roles, merged). */
const CONTROLLER_RULES: IClusterRole['rules'] = [
  rule([''], ['persistentvolumes'], ['get', 'list', 'watch', 'create', 'delete', 'patch']),
  rule([''], ['persistentvolumeclaims'], ['get', 'list', 'watch', 'update']),
  rule([''], ['persistentvolumeclaims/status'], ['patch']),
  rule([''], ['pods', 'nodes'], READ),
  rule(['storage.k8s.io'], ['storageclasses', 'csinodes', 'volumeattributesclasses'], READ),
  rule(['storage.k8s.io'], ['volumeattachments'], ['get', 'list', 'watch', 'patch']),
  rule(['storage.k8s.io'], ['volumeattachments/status'], ['patch']),
  rule(['snapshot.storage.k8s.io'], ['volumesnapshots', 'volumesnapshotcontents'], ['get', 'list']),
  EVENTS,
  LEASES,
];

const SOCKET = { name: 'socket-dir', mountPath: '/csi' };
const ADDRESS = '--csi-address=/csi/csi.sock';
const sidecar = (name: string, image: string, args: string[]): IContainer => ({
  name,
  image,
  args: [ADDRESS, ...args],
  volumeMounts: [SOCKET],
});

function plugin(args: string[], extra: Partial<IContainer>): IContainer {
  return {
    name: 'cinder-csi-plugin',
    image: ADDON_IMAGES.cinderCsi,
    args: [
      '/bin/cinder-csi-plugin',
      '--endpoint=unix:///csi/csi.sock',
      `--cloud-config=${CLOUD_CONFIG_DIR}/cloud.conf`,
      ...args,
      '--v=1',
    ],
    ports: [{ containerPort: 9808, name: 'healthz', protocol: 'TCP' }],
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'healthz' },
      initialDelaySeconds: 10,
      periodSeconds: 60,
      timeoutSeconds: 10,
      failureThreshold: 5,
    },
    ...extra,
    volumeMounts: [
      SOCKET,
      { name: 'cloud-config', mountPath: CLOUD_CONFIG_DIR, readOnly: true },
      ...(extra.volumeMounts ?? []),
    ],
  };
}

const cloudConfigVolume = { name: 'cloud-config', secret: { secretName: CLOUD_CONFIG_SECRET, defaultMode: 0o400 } };

/**
 * The controller: one replica with leader election. --cluster names the cluster on its volumes
 * (Cinder property cinder.csi.openstack.org/cluster), so they can be told apart in the project.
 */
function controller(file: ClusterFile): IDeployment {
  const labels = { app: 'csi-cinder-controllerplugin' };
  const sidecars: IContainer[] = [
    sidecar('csi-provisioner', ADDON_IMAGES.provisioner, [
      '--timeout=3m',
      '--default-fstype=ext4',
      // Topology is GA (on) in v6: volumes are made in the zone of the pod's node.
      '--extra-create-metadata',
      '--leader-election=true',
    ]),
    sidecar('csi-attacher', ADDON_IMAGES.attacher, ['--timeout=3m', '--leader-election=true']),
    sidecar('csi-resizer', ADDON_IMAGES.resizer, [
      '--timeout=3m',
      '--handle-volume-inuse-error=false',
      '--leader-election=true',
    ]),
    sidecar('liveness-probe', ADDON_IMAGES.livenessProbe, []),
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'csi-cinder-controllerplugin',
      namespace: ADDON_NAMESPACE,
      labels: { ...labels, ...managed(file) },
    },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: CSI_CONTROLLER_SERVICE_ACCOUNT,
          priorityClassName: 'system-cluster-critical',
          tolerations: EARLY_TOLERATIONS,
          containers: [
            ...sidecars,
            plugin(['--provide-node-service=false', `--cluster=${file.metadata.name}`, '--pvc-annotations'], {}),
          ],
          volumes: [{ name: 'socket-dir', emptyDir: {} }, cloudConfigVolume],
        },
      },
    },
  };
}

/** The node plugin: privileged, host network and the kubelet's directories, as mounting needs. */
function nodePlugin(file: ClusterFile): IDaemonSet {
  const labels = { app: 'csi-cinder-nodeplugin' };
  const kubelet = '/var/lib/kubelet';
  const hostDir = (name: string, path: string, type: 'Directory' | 'DirectoryOrCreate') => ({
    name,
    hostPath: { path, type },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'csi-cinder-nodeplugin', namespace: ADDON_NAMESPACE, labels: { ...labels, ...managed(file) } },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: NODE_SERVICE_ACCOUNT,
          priorityClassName: 'system-node-critical',
          hostNetwork: true,
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              ...sidecar('node-driver-registrar', ADDON_IMAGES.nodeDriverRegistrar, [
                `--kubelet-registration-path=${kubelet}/plugins/${CINDER_CSI_DRIVER}/csi.sock`,
              ]),
              volumeMounts: [SOCKET, { name: 'registration-dir', mountPath: '/registration' }],
            },
            sidecar('liveness-probe', ADDON_IMAGES.livenessProbe, []),
            plugin(['--provide-controller-service=false'], {
              securityContext: {
                privileged: true,
                capabilities: { add: ['SYS_ADMIN'] },
                allowPrivilegeEscalation: true,
              },
              volumeMounts: [
                { name: 'kubelet-dir', mountPath: kubelet, mountPropagation: 'Bidirectional' },
                { name: 'pods-probe-dir', mountPath: '/dev', mountPropagation: 'HostToContainer' },
              ],
            }),
          ],
          volumes: [
            hostDir('socket-dir', `${kubelet}/plugins/${CINDER_CSI_DRIVER}`, 'DirectoryOrCreate'),
            hostDir('registration-dir', `${kubelet}/plugins_registry/`, 'Directory'),
            hostDir('kubelet-dir', kubelet, 'Directory'),
            hostDir('pods-probe-dir', '/dev', 'Directory'),
            cloudConfigVolume,
          ],
        },
      },
    },
  };
}

/** The CSIDriver, the controller and the node plugin with their accounts. */
export function cinderCsiObjects(file: ClusterFile): CsiObject[] {
  return [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: CINDER_CSI_DRIVER, labels: managed(file) },
      spec: { attachRequired: true, podInfoOnMount: true, volumeLifecycleModes: ['Persistent', 'Ephemeral'] },
    },
    ...account(file, CSI_CONTROLLER_SERVICE_ACCOUNT, 'osk:csi-cinder-controller', CONTROLLER_RULES),
    ...account(file, NODE_SERVICE_ACCOUNT, 'osk:csi-cinder-node', [
      rule([''], ['events'], ['get', 'list', 'watch', 'create', 'update', 'patch']),
    ]),
    controller(file),
    nodePlugin(file),
  ];
}

/**
 * One StorageClass per volume type. WaitForFirstConsumer: a volume is made once its pod has a
 * node, in that node's zone (Nova and Cinder zones differ on many clouds).
 */
export function storageClassObjects(file: ClusterFile): IStorageClass[] {
  return file.spec.storageClasses.map((c) => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: c.name,
      labels: managed(file),
      ...(c.default ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}),
    },
    provisioner: CINDER_CSI_DRIVER,
    parameters: { type: c.volumeType },
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true,
    volumeBindingMode: 'WaitForFirstConsumer',
  }));
}
