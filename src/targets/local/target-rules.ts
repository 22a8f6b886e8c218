/**
 * What the all-in-one cannot run, refused when `osk up` reads the file (exit 2, with the field's
 * line and column) instead of being accepted and silently ignored: on one host Cinder has only
 * its fake backend and Glance stores images in local files, so Ceph and LVM settings would do
 * nothing there.
 */
import type { Problem } from '../../spec/schema-parts.js';
import type { CloudFile } from '../../spec/schema.js';

export function localTargetProblems(file: CloudFile): Problem[] {
  const backend = file.spec.storage?.backend;
  if (!backend || backend === 'local') return [];
  return [
    {
      path: ['spec', 'storage', 'backend'],
      message: `osk up cannot use the ${backend} storage backend: on one host Cinder runs its fake backend and Glance stores images in local files`,
      hint: `remove spec.storage.backend (or set it to local) for osk up; ${backend} volumes need the Kubernetes target (osk apply)`,
    },
  ];
}
