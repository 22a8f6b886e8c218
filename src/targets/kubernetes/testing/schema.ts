/**
 * The schema check of what osk renders, for the tests: kubernetes-models' classes hold the
 * OpenAPI schemas of Kubernetes and of the Prometheus Operator's CRDs, compiled, and validate
 * the plain objects of k8s.ts. It runs here and not in `osk render`, because a failure is an
 * osk bug, and its cost (a validator per kind, a WebAssembly regex engine) was most of a
 * render's CPU (issue 13). The Velero Schedule, which has no model, checks itself when built
 * (backup/velero.ts).
 */
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { CSIDriver } from 'kubernetes-models/storage.k8s.io/v1/CSIDriver';
import { StorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { KubeObject } from '../objects.js';

type Validating = { new (data: never): { validate(): void }; apiVersion: string; kind: string };
const MODELS = new Map<string, Validating>(
  (
    [
      DaemonSet,
      Deployment,
      StatefulSet,
      Job,
      CronJob,
      ConfigMap,
      Namespace,
      PersistentVolumeClaim,
      Secret,
      Service,
      ServiceAccount,
      Ingress,
      NetworkPolicy,
      PodDisruptionBudget,
      Role,
      RoleBinding,
      ClusterRole,
      ClusterRoleBinding,
      CSIDriver,
      StorageClass,
      PodMonitor,
      PrometheusRule,
    ] as unknown as Validating[]
  ).map((c) => [`${c.apiVersion} ${c.kind}`, c]),
);
/** Kinds checked elsewhere. */
const SELF_CHECKED = new Set(['velero.io/v1 Schedule']);

/** Throws what the schema of the object's kind refuses (or that osk renders a kind with no schema here). */
export function validateKube(obj: KubeObject): void {
  const key = `${obj.apiVersion} ${obj.kind}`;
  if (SELF_CHECKED.has(key)) return;
  const Model = MODELS.get(key);
  if (!Model) throw new Error(`no schema for ${key}: add its kubernetes-models class to testing/schema.ts`);
  new Model(obj as never).validate();
}

/** Every refusal, as `Kind/name: message` lines (none when all pass). */
export function schemaProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    try {
      validateKube(o);
    } catch (e) {
      problems.push(`${o.kind}/${o.metadata?.name}: ${(e as Error).message}`);
    }
  }
  return problems;
}
