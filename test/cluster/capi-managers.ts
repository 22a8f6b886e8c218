/**
 * The Cluster API managers, built from their Go modules at the versions the research pinned:
 * sigs.k8s.io/cluster-api v1.12.10 (the core manager and the kubeadm bootstrap and control-plane
 * providers, three main packages of one module) and cluster-api-provider-openstack v0.14.7 (its
 * API v1beta1; it requires cluster-api v1.12.10). Neither go.mod has replace directives, so each is
 * `go install`ed from its own module (build.ts's cached helper) and its dependency graph stays out
 * of the Kubernetes module in ./go. The proxy serves only exact versions (`@latest` answers 403).
 */
import { type EnsureOptions, ensureGoInstall, type GoInstall } from './build.js';

export const CLUSTER_API_VERSION = 'v1.12.10';
export const CAPO_VERSION = 'v0.14.7';

const CLUSTER_API = 'sigs.k8s.io/cluster-api';
const CAPO = 'sigs.k8s.io/cluster-api-provider-openstack';

// Each its own cache directory: the bootstrap and control-plane commands are both named "kubeadm".
const MANAGERS = {
  core: {
    name: 'the Cluster API core manager',
    prefix: 'capi-core',
    module: CLUSTER_API,
    package: CLUSTER_API,
    version: CLUSTER_API_VERSION,
    binary: 'cluster-api',
  },
  bootstrap: {
    name: 'the kubeadm bootstrap provider',
    prefix: 'capi-bootstrap-kubeadm',
    module: CLUSTER_API,
    package: `${CLUSTER_API}/bootstrap/kubeadm`,
    version: CLUSTER_API_VERSION,
    binary: 'kubeadm',
  },
  controlPlane: {
    name: 'the kubeadm control-plane provider',
    prefix: 'capi-controlplane-kubeadm',
    module: CLUSTER_API,
    package: `${CLUSTER_API}/controlplane/kubeadm`,
    version: CLUSTER_API_VERSION,
    binary: 'kubeadm',
  },
  openstack: {
    name: 'cluster-api-provider-openstack',
    prefix: 'capo',
    module: CAPO,
    package: CAPO,
    version: CAPO_VERSION,
    binary: 'cluster-api-provider-openstack',
    // The proxy answers its version list with 403, which `go install module@version` needs.
    asMainModule: true,
  },
} as const satisfies Record<string, GoInstall>;

export type Manager = keyof typeof MANAGERS;

/** Paths of the four manager binaries, built one after the other (they share Go's build cache). */
export async function ensureClusterApiManagers(opts: EnsureOptions = {}): Promise<Record<Manager, string>> {
  const out = {} as Record<Manager, string>;
  for (const [k, tool] of Object.entries(MANAGERS) as [Manager, GoInstall][])
    out[k] = await ensureGoInstall(tool, opts);
  return out;
}

/** The API path of a rendered object in a namespace (every kind osk renders is namespaced). */
export function capiPath(o: { apiVersion: string; kind: string; metadata: { name: string } }, ns: string): string {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}/namespaces/${ns}/${o.kind.toLowerCase()}s/${o.metadata.name}`;
}
