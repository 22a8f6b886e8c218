/**
 * What `osk apply` (and render, diff, delete) cannot do with a valid cloud file, refused when the
 * file is read (exit 2, with the field's line and column): Ceph without monitors is the one-host
 * cluster `osk up` runs itself; on Kubernetes osk connects to an existing cluster and must be told
 * where it is.
 */
import type { Problem } from '../../spec/schema-parts.js';
import type { CloudFile } from '../../spec/schema.js';

export function kubernetesTargetProblems(file: CloudFile): Problem[] {
  const storage = file.spec.storage;
  if (storage?.backend !== 'ceph' || storage.ceph?.monitors) return [];
  return [
    {
      path: storage.ceph ? ['spec', 'storage', 'ceph'] : ['spec', 'storage', 'backend'],
      message:
        'Ceph on Kubernetes needs storage.ceph.monitors: osk apply connects Cinder, Glance and Nova to an existing cluster (only osk up runs one of its own)',
      hint: 'add spec.storage.ceph.monitors: [host:6789, …] and the key in the Secret storage.ceph.keyringSecret names',
    },
  ];
}
