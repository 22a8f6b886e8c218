/** Shared by the Kubernetes tests and bench:apply: what a kwok cluster lacks for a cloud. */
import type { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { goCommand } from '../cluster/build.js';

/** Why the cluster tests cannot run here (no Go toolchain, or switched off), if so. */
export function clusterSkipReason(): string | undefined {
  if (process.env.OSK_SKIP_CLUSTER_TESTS) return 'OSK_SKIP_CLUSTER_TESTS is set';
  try {
    goCommand();
  } catch (e) {
    return String(e);
  }
  return undefined;
}

/**
 * kwok runs no storage driver: a no-provisioner StorageClass and pre-made volumes let the real
 * PersistentVolume controller bind the clouds' claims.
 */
export async function provisionVolumes(
  api: KubeApi,
  count: number,
  storageClass = 'standard',
  opts: { isDefault?: boolean } = {},
): Promise<void> {
  const annotations = opts.isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : undefined;
  await api.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
    ok: [409],
    body: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClass, ...(annotations ? { annotations } : {}) },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'Immediate',
    },
  });
  for (let i = 0; i < count; i++) {
    // The first class keeps the plain names older tests know; others get their own.
    const name = storageClass === 'standard' ? `pv-${i}` : `pv-${storageClass}-${i}`;
    await api.request('POST', '/api/v1/persistentvolumes', {
      ok: [409],
      body: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name },
        spec: {
          capacity: { storage: '100Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: storageClass,
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path: `/tmp/osk-${name}` },
        },
      },
    });
  }
}

export const cloudYaml = (name: string, extra = '') => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: ${name}
  namespace: ${name}
spec:
  profile: minimal
  storage:
    storageClass: standard
${extra}`;
