/**
 * What the all-in-one cannot run, refused when `osk up` reads the file (exit 2, with the field's
 * line and column) instead of being accepted and silently ignored: LVM (no volume group is made
 * on a host, and many hosts have no device-mapper), and the monitors of an existing Ceph cluster
 * (osk up runs a Ceph cluster of its own, catalog/ceph-host.ts; the key of another one would be
 * in a Kubernetes Secret).
 */
import type { Problem } from '../../spec/schema-parts.js';
import type { CloudFile } from '../../spec/schema.js';

export function localTargetProblems(file: CloudFile): Problem[] {
  const storage = file.spec.storage;
  if (storage?.backend === 'lvm')
    return [
      {
        path: ['spec', 'storage', 'backend'],
        message: 'osk up cannot use the lvm storage backend: it makes no volume group on a host',
        hint: 'use backend: ceph (osk up runs a one-host Ceph cluster) or local (Cinder fake backend); LVM volumes need the Kubernetes target (osk apply)',
      },
    ];
  if (storage?.backend === 'ceph' && storage.ceph?.monitors)
    return [
      {
        path: ['spec', 'storage', 'ceph', 'monitors'],
        message: 'osk up runs a Ceph cluster of its own and does not connect to another one',
        hint: 'remove spec.storage.ceph.monitors for osk up; an existing Ceph cluster is for the Kubernetes target (osk apply)',
      },
    ];
  return [];
}
