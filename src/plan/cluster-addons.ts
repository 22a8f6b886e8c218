/**
 * What runs inside a user's cluster so it works on OpenStack, rendered from the cluster file and
 * what `osk cluster create` made: the cloud.conf Secret (the cluster's application credential,
 * the OVN load-balancer settings, its network and subnet), the OpenStack cloud controller manager
 * (initialises nodes from Nova, turns Services of type LoadBalancer into Octavia load balancers)
 * with its RBAC, the Cinder CSI driver (cluster-csi.ts) and one StorageClass per volume type.
 * Plain Kubernetes objects, typed by kubernetes-models' interfaces (types only, as k8s.ts);
 * `osk cluster addons` prints them and the first control-plane node applies them (cloud-init).
 * The credential is only in the Secret: the pods mount it, no argument or ConfigMap carries it.
 */
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { OskError } from '../errors.js';
import { toPlainYaml } from '../plain-yaml.js';
import type { ClusterFile } from '../spec/schema-cluster.js';
import {
  ADDON_NAMESPACE,
  CLOUD_CONFIG_DIR,
  CLOUD_CONFIG_SECRET,
  EARLY_TOLERATIONS,
  ADDON_IMAGES,
  managed,
} from './cluster-addon-parts.js';
import { cinderCsiObjects, storageClassObjects, type CsiObject } from './cluster-csi.js';

/** What the cluster's objects in the cloud are, as `osk cluster create` made them. */
export interface AddonInputs {
  /** Keystone's URL as the nodes reach it (clouds.yaml auth_url). */
  authUrl: string;
  /** The region of the cloud's endpoints (clouds.yaml region_name, else the catalog's). */
  region: string | undefined;
  applicationCredential: { id: string; secret: string };
  networkId: string;
  subnetId: string;
  /** The external network's id (spec.network.externalNetwork): where Services get floating IPs. */
  floatingNetworkId: string | undefined;
  /** The cloud's catalog has a load-balancer service: OCCM refuses to start when it is enabled without one. */
  loadBalancerService: boolean;
  /** The CA of the cloud's endpoints (clouds.yaml cacert), PEM; goes into the Secret beside cloud.conf. */
  caCert: string | undefined;
}

type AddonObject = ISecret | IServiceAccount | IClusterRole | IClusterRoleBinding | IDaemonSet | CsiObject;

/**
 * A gcfg value (the INI dialect of cloud.conf), always quoted: `;` and `#` start a comment in an
 * unquoted value, and a credential may hold either. A line break cannot be written at all.
 */
function gcfgValue(v: string | number | boolean): string {
  const s = String(v);
  if (/[\n\r\0]/.test(s))
    throw new OskError(`a cloud.conf value cannot hold a line break: ${JSON.stringify(s)}`, {
      hint: 'check auth_url and region_name of the cloud in clouds.yaml',
    });
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function section(name: string, values: Record<string, string | number | boolean | undefined>): string {
  const lines = Object.entries(values)
    .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
    .map(([k, v]) => `${k} = ${gcfgValue(v)}`);
  return `[${name}]\n${lines.join('\n')}\n`;
}

/**
 * cloud.conf of OCCM and Cinder CSI. [LoadBalancer]: the OVN provider serves only SOURCE_IP_PORT
 * and L4; members are the nodes' addresses on the cluster's subnet; security groups are the
 * cluster's own (osk opens the NodePorts), so OCCM does not manage any (the rules it manages are
 * wiped or leaked under the OVN provider: cloud-provider-openstack #2699). Without a
 * load-balancer service OCCM must have it off or it exits at start. [BlockStorage]: Nova and
 * Cinder availability zones need not match (one "nova" zone on osk's cloud, often not elsewhere).
 */
export function cloudConf(file: ClusterFile, i: AddonInputs): string {
  const global = section('Global', {
    'auth-url': i.authUrl,
    region: i.region,
    'application-credential-id': i.applicationCredential.id,
    'application-credential-secret': i.applicationCredential.secret,
    'ca-file': i.caCert ? `${CLOUD_CONFIG_DIR}/ca.crt` : undefined,
  });
  const lb = i.loadBalancerService
    ? section('LoadBalancer', {
        enabled: true,
        'lb-provider': file.spec.apiLoadBalancer.provider,
        'lb-method': file.spec.apiLoadBalancer.provider === 'ovn' ? 'SOURCE_IP_PORT' : 'ROUND_ROBIN',
        'network-id': i.networkId,
        'subnet-id': i.subnetId,
        'member-subnet-id': i.subnetId,
        'floating-network-id': i.floatingNetworkId,
        'manage-security-groups': false,
        'create-monitor': false,
      })
    : section('LoadBalancer', { enabled: false });
  return [global, lb, section('BlockStorage', { 'ignore-volume-az': true })].join('\n');
}

function cloudConfigSecret(file: ClusterFile, i: AddonInputs): ISecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CLOUD_CONFIG_SECRET, namespace: ADDON_NAMESPACE, labels: managed(file) },
    type: 'Opaque',
    stringData: { 'cloud.conf': cloudConf(file, i), ...(i.caCert ? { 'ca.crt': i.caCert } : {}) },
  };
}

const OCCM = 'openstack-cloud-controller-manager';
/** The uid OCCM's image runs as (its manifests' runAsUser). */
const OCCM_UID = 1001;
export const OCCM_SERVICE_ACCOUNT = 'cloud-controller-manager';
const rule = (apiGroups: string[], resources: string[], verbs: string[]) => ({ apiGroups, resources, verbs });

/** What OCCM v1.36.0's controllers touch (its manifests' ClusterRole, without what it never uses). */
function occmRbac(file: ClusterFile): AddonObject[] {
  const role = 'system:cloud-controller-manager';
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: OCCM_SERVICE_ACCOUNT, namespace: ADDON_NAMESPACE, labels: managed(file) },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: role, labels: managed(file) },
      rules: [
        rule(['coordination.k8s.io'], ['leases'], ['get', 'create', 'update']),
        rule([''], ['events'], ['create', 'patch', 'update']),
        rule([''], ['nodes'], ['*']),
        rule([''], ['nodes/status'], ['patch']),
        rule([''], ['services'], ['list', 'patch', 'update', 'watch']),
        rule([''], ['services/status'], ['patch']),
        rule([''], ['serviceaccounts'], ['create', 'get']),
        rule([''], ['serviceaccounts/token'], ['create']),
        rule([''], ['persistentvolumes'], ['*']),
        rule([''], ['endpoints'], ['create', 'get', 'list', 'watch', 'update']),
        rule(['discovery.k8s.io'], ['endpointslices'], ['get', 'list', 'watch']),
        rule([''], ['configmaps'], ['get', 'list', 'watch']),
        rule([''], ['secrets'], ['list', 'get', 'watch']),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: role, labels: managed(file) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: OCCM_SERVICE_ACCOUNT, namespace: ADDON_NAMESPACE }],
    },
  ];
}

/**
 * OCCM on every control-plane node (kubeadm labels them), host network: it must run before the
 * CNI, whose pods wait for the nodes it initialises. --cluster-name is the cluster's: OCCM names
 * and tags its load balancers with it (kube_service_<cluster>_<namespace>_<service>).
 */
function occmDaemonSet(file: ClusterFile): IDaemonSet {
  const labels = { 'k8s-app': OCCM };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: OCCM, namespace: ADDON_NAMESPACE, labels: { ...labels, ...managed(file) } },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
          tolerations: EARLY_TOLERATIONS,
          serviceAccountName: OCCM_SERVICE_ACCOUNT,
          priorityClassName: 'system-cluster-critical',
          hostNetwork: true,
          // Not root; the Secret's files are root's, so they are readable through the group (fsGroup).
          securityContext: { runAsUser: OCCM_UID, runAsNonRoot: true, fsGroup: OCCM_UID },
          containers: [
            {
              name: OCCM,
              image: ADDON_IMAGES.occm,
              args: [
                '/bin/openstack-cloud-controller-manager',
                '--v=1',
                `--cluster-name=${file.metadata.name}`,
                `--cloud-config=${CLOUD_CONFIG_DIR}/cloud.conf`,
                '--cloud-provider=openstack',
                '--use-service-account-credentials=false',
                '--bind-address=127.0.0.1',
              ],
              resources: { requests: { cpu: '200m', memory: '64Mi' } },
              volumeMounts: [{ name: 'cloud-config', mountPath: CLOUD_CONFIG_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: 'cloud-config', secret: { secretName: CLOUD_CONFIG_SECRET, defaultMode: 0o440 } }],
        },
      },
    },
  };
}

/**
 * Every add-on object, in apply order: the Secret, OCCM's RBAC and DaemonSet, the Cinder CSI
 * driver, then the StorageClasses.
 */
export function clusterAddons(file: ClusterFile, inputs: AddonInputs): AddonObject[] {
  return [
    cloudConfigSecret(file, inputs),
    ...occmRbac(file),
    occmDaemonSet(file),
    ...cinderCsiObjects(file),
    ...storageClassObjects(file),
  ];
}

/** The add-ons as multi-document YAML, for kubectl apply (and cloud-init's copy of it). */
export function addonsYaml(objects: readonly object[]): string {
  return objects.map((o) => `---\n${toPlainYaml(o)}`).join('');
}
