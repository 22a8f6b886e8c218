/**
 * The Kubernetes objects osk renders, as plain data: `Deployment({ metadata, spec })` is
 * `{ apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec }` with undefined fields left out,
 * typed by kubernetes-models' interfaces. Only the types come from kubernetes-models: its classes
 * load a compiled schema validator per kind and a WebAssembly regex engine, which cost every
 * `osk render` more CPU than the render itself (issue 13). The schema check of every rendered
 * object runs in the tests instead (testing/schema.ts and its users), where an osk bug
 * belongs; a cluster checks what it is sent again (osk apply asks for strict field validation).
 */
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IStorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';

type Body<T extends { apiVersion: string; kind: string }> = Omit<T, 'apiVersion' | 'kind'>;

/**
 * A copy without undefined fields, as kubernetes-models' classes hold data (array items stay).
 * Every rendered object goes through it whole, so it is plain loops: Object.entries and map
 * allocated an array per field and per list, which made this copy a twentieth of a render's CPU.
 */
function defined(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = defined(value[i]);
    return items;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  const fields = value as Record<string, unknown>;
  for (const k of Object.keys(fields)) {
    const v = fields[k];
    if (v !== undefined) out[k] = defined(v);
  }
  return out;
}

function kind<T extends { apiVersion: string; kind: string }>(
  apiVersion: T['apiVersion'],
  name: T['kind'],
): (data: Body<T>) => T {
  return (data) => defined({ apiVersion, kind: name, ...data }) as T;
}

export const DaemonSet = kind<IDaemonSet>('apps/v1', 'DaemonSet');
export type DaemonSet = IDaemonSet;
export const Deployment = kind<IDeployment>('apps/v1', 'Deployment');
export type Deployment = IDeployment;
export const StatefulSet = kind<IStatefulSet>('apps/v1', 'StatefulSet');
export type StatefulSet = IStatefulSet;
export const Job = kind<IJob>('batch/v1', 'Job');
export type Job = IJob;
export const CronJob = kind<ICronJob>('batch/v1', 'CronJob');
export type CronJob = ICronJob;
export const ConfigMap = kind<IConfigMap>('v1', 'ConfigMap');
export type ConfigMap = IConfigMap;
export const Namespace = kind<INamespace>('v1', 'Namespace');
export type Namespace = INamespace;
export const PersistentVolumeClaim = kind<IPersistentVolumeClaim>('v1', 'PersistentVolumeClaim');
export type PersistentVolumeClaim = IPersistentVolumeClaim;
export const Secret = kind<ISecret>('v1', 'Secret');
export type Secret = ISecret;
export const Service = kind<IService>('v1', 'Service');
export type Service = IService;
export const ServiceAccount = kind<IServiceAccount>('v1', 'ServiceAccount');
export type ServiceAccount = IServiceAccount;
export const Ingress = kind<IIngress>('networking.k8s.io/v1', 'Ingress');
export type Ingress = IIngress;
export const NetworkPolicy = kind<INetworkPolicy>('networking.k8s.io/v1', 'NetworkPolicy');
export type NetworkPolicy = INetworkPolicy;
export const PodDisruptionBudget = kind<IPodDisruptionBudget>('policy/v1', 'PodDisruptionBudget');
export type PodDisruptionBudget = IPodDisruptionBudget;
export const Role = kind<IRole>('rbac.authorization.k8s.io/v1', 'Role');
export type Role = IRole;
export const RoleBinding = kind<IRoleBinding>('rbac.authorization.k8s.io/v1', 'RoleBinding');
export type RoleBinding = IRoleBinding;
export const StorageClass = kind<IStorageClass>('storage.k8s.io/v1', 'StorageClass');
export type StorageClass = IStorageClass;
export const PodMonitor = kind<IPodMonitor>('monitoring.coreos.com/v1', 'PodMonitor');
export type PodMonitor = IPodMonitor;
export const PrometheusRule = kind<IPrometheusRule>('monitoring.coreos.com/v1', 'PrometheusRule');
export type PrometheusRule = IPrometheusRule;
