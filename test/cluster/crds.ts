/**
 * The real CustomResourceDefinitions of the Prometheus Operator, Velero, Cluster API and its
 * OpenStack provider (CAPO), installed into the test control plane, so the objects osk renders
 * for them are checked by the same OpenAPI schemas (with fieldValidation=Strict) a production
 * cluster uses.
 *
 * Where they come from: both projects ship their CRDs as YAML inside their Go modules, and the
 * Go module proxy is the one source of them reachable here. `go mod download` fetches the pinned
 * version; the module's hash is checked against the pin below (and by go against sum.golang.org).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { goCommand } from './build.js';

interface CrdSource {
  module: string;
  version: string;
  /** go.sum's h1: hash of the module zip. */
  sum: string;
  files: string[];
  /**
   * Labels the project's kustomization puts on its CRDs. Cluster API reads the contract label
   * (cluster.x-k8s.io/<contract>: <API version>) to pick the version of a provider's object that
   * a reference (apiGroup and kind only, in v1beta2) means.
   */
  labels?: Record<string, string>;
}

const CLUSTER_API = {
  module: 'sigs.k8s.io/cluster-api',
  version: 'v1.12.10',
  sum: 'h1:hllwEOtVfotdi+i1/HnVO9B5CJLgr5SBBtBL9yRtFEs=',
} as const;

const CRD_SOURCES = {
  'prometheus-operator': {
    module: 'github.com/prometheus-operator/prometheus-operator',
    version: 'v0.85.0',
    sum: 'h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=',
    files: ['prometheusrules', 'podmonitors', 'servicemonitors', 'probes'].map(
      (p) => `example/prometheus-operator-crd/monitoring.coreos.com_${p}.yaml`,
    ),
  },
  velero: {
    module: 'github.com/vmware-tanzu/velero',
    version: 'v1.18.3',
    sum: 'h1:9uwN5yxTWQl9PsF5ljX4xiG+7VIq3I9mxOQ0DyyZ31A=',
    files: ['schedules', 'backups', 'restores'].map((p) => `config/crd/v1/bases/velero.io_${p}.yaml`),
  },
  // Cluster API: every CRD of config/crd (the core manager watches them all, feature gates or not).
  'cluster-api': {
    ...CLUSTER_API,
    files: [
      ...['clusterclasses', 'clusters', 'machines', 'machinesets', 'machinedeployments', 'machinedrainrules']
        .concat(['machinepools', 'machinehealthchecks'])
        .map((p) => `config/crd/bases/cluster.x-k8s.io_${p}.yaml`),
      ...['clusterresourcesets', 'clusterresourcesetbindings'].map(
        (p) => `config/crd/bases/addons.cluster.x-k8s.io_${p}.yaml`,
      ),
      'config/crd/bases/runtime.cluster.x-k8s.io_extensionconfigs.yaml',
      ...['ipaddresses', 'ipaddressclaims'].map((p) => `config/crd/bases/ipam.cluster.x-k8s.io_${p}.yaml`),
    ],
  },
  'cluster-api-kubeadm': {
    ...CLUSTER_API,
    files: [
      ...['kubeadmconfigs', 'kubeadmconfigtemplates'].map(
        (p) => `bootstrap/kubeadm/config/crd/bases/bootstrap.cluster.x-k8s.io_${p}.yaml`,
      ),
      ...['kubeadmcontrolplanes', 'kubeadmcontrolplanetemplates'].map(
        (p) => `controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_${p}.yaml`,
      ),
    ],
    labels: { 'cluster.x-k8s.io/v1beta1': 'v1beta1', 'cluster.x-k8s.io/v1beta2': 'v1beta2' },
  },
  capo: {
    module: 'sigs.k8s.io/cluster-api-provider-openstack',
    version: 'v0.14.7',
    sum: 'h1:paxhYMaCVkoOBBL3IL02Su2x+/ocXOxqNgZ0AyG2KSI=',
    files: [
      'openstackclusters',
      'openstackclusteridentities',
      'openstackmachines',
      'openstackmachinetemplates',
      'openstackclustertemplates',
      'openstackfloatingippools',
      'openstackservers',
    ].map((p) => `config/crd/bases/infrastructure.cluster.x-k8s.io_${p}.yaml`),
    labels: { 'cluster.x-k8s.io/v1beta1': 'v1beta1' },
  },
  // openstack-resource-controller, the version CAPO v0.14.7 requires: CAPO's server controller
  // watches ORC Images (for imageRef), so the manager does not start its caches without this CRD.
  // ORC itself need not run: osk renders images by id.
  orc: {
    module: 'github.com/k-orc/openstack-resource-controller/v2',
    version: 'v2.4.0',
    sum: 'h1:5sRLIe24eIwICl/210LuH3BgeF3LAMq+MI0qyCaZ7MI=',
    files: ['config/crd/bases/openstack.k-orc.cloud_images.yaml'],
  },
} as const satisfies Record<string, CrdSource>;

export type CrdSet = keyof typeof CRD_SOURCES;

/** The YAML documents of files of a set's module, from the Go module cache (downloaded when absent). */
export function moduleDocuments(set: CrdSet, files: readonly string[]): Record<string, unknown>[] {
  const src: CrdSource = CRD_SOURCES[set];
  const cwd = mkdtempSync(join(tmpdir(), 'osk-crds-'));
  try {
    const r = spawnSync(goCommand(), ['mod', 'download', '-json', `${src.module}@${src.version}`], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`go mod download ${src.module}@${src.version} failed: ${r.stderr || r.stdout}`);
    const info = JSON.parse(r.stdout) as { Dir: string; Sum: string };
    if (info.Sum !== src.sum) throw new Error(`${src.module}@${src.version} has hash ${info.Sum}, pinned ${src.sum}`);
    return files.flatMap((f) =>
      parseAllDocuments(readFileSync(join(info.Dir, f), 'utf8'))
        .map((d) => d.toJSON() as Record<string, unknown> | null)
        .filter((d): d is Record<string, unknown> => Boolean(d)),
    );
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The CRD documents of one set, with the set's labels. */
function crdDocuments(set: CrdSet): Record<string, unknown>[] {
  const src: CrdSource = CRD_SOURCES[set];
  return moduleDocuments(set, src.files).map((d) => {
    const meta = d.metadata as { labels?: Record<string, string> };
    if (src.labels) meta.labels = { ...meta.labels, ...src.labels };
    return d;
  });
}

/**
 * Create the CRDs of each set and wait until the API server serves them (Established).
 * `conversion`: where the API server sends the objects of an API group to convert them between
 * the versions its CRDs serve (the manager's webhook, as the project's kustomize patches say);
 * without it the CRDs keep strategy None, which only relabels the apiVersion.
 */
export async function installCrds(
  api: KubeApi,
  sets: CrdSet[],
  conversion?: (group: string) => { url: string; caBundle: string } | undefined,
): Promise<string[]> {
  const names: string[] = [];
  for (const set of sets) {
    for (const crd of crdDocuments(set)) {
      const to = conversion?.((crd.spec as { group: string }).group);
      if (to)
        (crd.spec as Record<string, unknown>).conversion = {
          strategy: 'Webhook',
          webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: to.url, caBundle: to.caBundle } },
        };
      const name = (crd.metadata as { name: string }).name;
      await api.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
        body: crd,
        ok: [409],
        what: `create CRD ${name}`,
      });
      names.push(name);
    }
  }
  const t0 = Date.now();
  for (const name of names) {
    for (;;) {
      const r = await api.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (r.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() - t0 > 60_000) throw new Error(`CRD ${name} not Established after 60 s`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  return names;
}
