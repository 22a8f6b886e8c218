// Volumes for the local cluster. kwok mounts nothing, but a cloud's StatefulSets wait for their
// claims to be Bound, so the cluster needs a default StorageClass with a real dynamic provisioner.
// kube-controller-manager has one built in for development: with --enable-hostpath-provisioner the
// PersistentVolume controller provisions claims of a class whose provisioner is
// kubernetes.io/host-path as hostPath volumes, creating /tmp/hostpath_pv/<uuid> itself (the path
// is fixed in k8s.io/kubernetes pkg/volume/hostpath, not configurable) and removing it when the
// volume is deleted (reclaim policy Delete). No extra process runs.
import { existsSync, rmSync } from 'node:fs';
import type { KubeClient, KubeObject } from './kube.js';

export const DEFAULT_STORAGE_CLASS = 'hostpath';
export const HOSTPATH_PROVISIONER = 'kubernetes.io/host-path';
export const HOSTPATH_PROVISIONER_FLAG = '--enable-hostpath-provisioner=true';

/** What the built-in provisioner creates: /tmp/hostpath_pv/<uuid>; nothing else is ever removed. */
const PROVISIONED_DIR = /^\/tmp\/hostpath_pv\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function defaultStorageClass(isDefault: boolean): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: DEFAULT_STORAGE_CLASS,
      annotations: { 'storageclass.kubernetes.io/is-default-class': String(isDefault) },
    },
    provisioner: HOSTPATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    // Immediate: a claim binds when it is created, so `osk status` shows a bound claim and a
    // pending pod says why, instead of both waiting on each other.
    volumeBindingMode: 'Immediate',
  };
}

/** The hostpath class; the default one unless the real node's class is (real-node.ts). */
export async function createDefaultStorageClass(client: KubeClient, isDefault = true): Promise<void> {
  const r = await client.request('POST', '/apis/storage.k8s.io/v1/storageclasses', defaultStorageClass(isDefault));
  if (r.status !== 201 && r.status !== 409) {
    throw new Error(`creating StorageClass ${DEFAULT_STORAGE_CLASS}: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  }
}

type PersistentVolume = KubeObject & { spec?: { hostPath?: { path?: string } } };

/** The directories the built-in provisioner made for this cluster's volumes (read from its PVs). */
export async function provisionedVolumeDirs(client: KubeClient): Promise<string[]> {
  const r = await client.request<{ items: PersistentVolume[] }>('GET', '/api/v1/persistentvolumes', undefined, {
    timeoutMs: 5000,
  });
  if (r.status !== 200) throw new Error(`listing PersistentVolumes: HTTP ${r.status}`);
  return r.body.items
    .filter((pv) => pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === HOSTPATH_PROVISIONER)
    .map((pv) => pv.spec?.hostPath?.path ?? '')
    .filter((p) => PROVISIONED_DIR.test(p));
}

/** Removes exactly these provisioned directories (each checked against the provisioner's pattern). */
export function removeVolumeDirs(dirs: string[]): string[] {
  const removed: string[] = [];
  for (const d of dirs) {
    if (!PROVISIONED_DIR.test(d) || !existsSync(d)) continue;
    rmSync(d, { recursive: true, force: true });
    removed.push(d);
  }
  return removed;
}
