/**
 * What the add-ons of a user's cluster share (cluster-addons.ts, cluster-csi.ts): the pinned
 * images, the namespace, the cloud-config Secret's name and mount, the label of every object and
 * the tolerations of what runs before the nodes are initialised.
 */
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ClusterFile } from '../spec/schema-cluster.js';

/** Images of the controllers, pinned: cloud-provider-openstack v1.36.0 is what osk's tests run. */
export const ADDON_IMAGES = {
  occm: 'registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.36.0',
  cinderCsi: 'registry.k8s.io/provider-os/cinder-csi-plugin:v1.36.0',
  provisioner: 'registry.k8s.io/sig-storage/csi-provisioner:v6.4.0',
  attacher: 'registry.k8s.io/sig-storage/csi-attacher:v4.13.0',
  resizer: 'registry.k8s.io/sig-storage/csi-resizer:v1.14.0',
  livenessProbe: 'registry.k8s.io/sig-storage/livenessprobe:v2.17.0',
  nodeDriverRegistrar: 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.15.0',
} as const;

export const ADDON_NAMESPACE = 'kube-system';
/** The Secret both controllers mount at /etc/config: cloud.conf (and ca.crt). */
export const CLOUD_CONFIG_SECRET = 'cloud-config';
export const CLOUD_CONFIG_DIR = '/etc/config';

/** The label every add-on object carries: which cluster file it came from. */
export function managed(file: ClusterFile): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'osk', 'osk.dev/cluster': file.metadata.name };
}

/** The tolerations of what must run before the nodes are initialised (and on control planes). */
export const EARLY_TOLERATIONS: IToleration[] = [
  { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
  { key: 'CriticalAddonsOnly', operator: 'Exists' },
];
