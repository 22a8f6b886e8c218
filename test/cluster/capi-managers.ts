/**
 * The Cluster API managers, built from their Go modules at the versions the research pinned:
 * sigs.k8s.io/cluster-api v1.12.10 (the core manager and the kubeadm bootstrap and control-plane
 * providers, three main packages of one module) and cluster-api-provider-openstack v0.14.7 (its
 * API v1beta1; it requires cluster-api v1.12.10). Each is built as the main module from a copy of
 * its module (build.ts's ensureGoModuleBuild): `go install module@version` asks the proxy for the
 * module's version list, which it refuses (403) for CAPO; and so each dependency graph stays out of
 * the Kubernetes module in ./go. The proxy serves only exact versions (`@latest` answers 403).
 */
import { join } from 'node:path';
import { type EnsureOptions, ensureGoModuleBuild, type GoModuleBuild } from './build.js';

export const CLUSTER_API_VERSION = 'v1.12.10';
export const CAPO_VERSION = 'v0.14.7';

const CLUSTER_API = 'sigs.k8s.io/cluster-api';
const CAPO = 'sigs.k8s.io/cluster-api-provider-openstack';

// Each its own cache directory: the bootstrap and control-plane commands are both named "kubeadm".
// `binary`: what go build names the command (the last element of its import path).
const MANAGERS = {
  core: {
    name: 'the Cluster API core manager',
    prefix: 'capi-core',
    module: CLUSTER_API,
    version: CLUSTER_API_VERSION,
    commands: ['.'],
    stamps: {},
    binary: 'cluster-api',
  },
  bootstrap: {
    name: 'the kubeadm bootstrap provider',
    prefix: 'capi-bootstrap-kubeadm',
    module: CLUSTER_API,
    version: CLUSTER_API_VERSION,
    commands: ['bootstrap/kubeadm'],
    stamps: {},
    binary: 'kubeadm',
  },
  controlPlane: {
    name: 'the kubeadm control-plane provider',
    prefix: 'capi-controlplane-kubeadm',
    module: CLUSTER_API,
    version: CLUSTER_API_VERSION,
    commands: ['controlplane/kubeadm'],
    stamps: {},
    binary: 'kubeadm',
  },
  openstack: {
    name: 'cluster-api-provider-openstack',
    prefix: 'capo',
    module: CAPO,
    version: CAPO_VERSION,
    commands: ['.'],
    stamps: {},
    binary: 'cluster-api-provider-openstack',
  },
} as const satisfies Record<string, GoModuleBuild & { binary: string }>;

export type Manager = keyof typeof MANAGERS;

/** Paths of the four manager binaries, built one after the other (they share Go's build cache). */
export async function ensureClusterApiManagers(opts: EnsureOptions = {}): Promise<Record<Manager, string>> {
  const out = {} as Record<Manager, string>;
  for (const [k, tool] of Object.entries(MANAGERS) as [Manager, GoModuleBuild & { binary: string }][])
    out[k] = join(await ensureGoModuleBuild(tool, opts), tool.binary);
  return out;
}

/** The API path of a rendered object in a namespace (every kind osk renders is namespaced). */
export function capiPath(o: { apiVersion: string; kind: string; metadata: { name: string } }, ns: string): string {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}/namespaces/${ns}/${o.kind.toLowerCase()}s/${o.metadata.name}`;
}
