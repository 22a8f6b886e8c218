/**
 * What a catalog module declares. A service is one file in src/catalog/ that returns its
 * components, the credentials it owns and the config files it generates; the planner and the
 * targets know nothing service-specific.
 */
import type { SecretDef } from '../config/secrets.js';
import type { IniDoc, Ref } from '../config/ini.js';
import type { ImageKey } from '../spec/image-keys.js';

type Workload = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';
export type NodeRole = 'controlPlane' | 'compute' | 'gpu';

export interface PortDef {
  name: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export type ProbeDef =
  | {
      http: { path: string; port: number; scheme?: 'HTTP' | 'HTTPS' };
      initialDelaySeconds?: number;
      periodSeconds?: number;
      timeoutSeconds?: number;
      failureThreshold?: number;
    }
  | {
      tcp: { port: number };
      initialDelaySeconds?: number;
      periodSeconds?: number;
      timeoutSeconds?: number;
      failureThreshold?: number;
    }
  | {
      exec: { command: string[] };
      initialDelaySeconds?: number;
      periodSeconds?: number;
      timeoutSeconds?: number;
      failureThreshold?: number;
    };

/** A credential osk generates and keeps (never changed by a re-render). */

/** A generated file: an oslo INI model (split into public + secret parts) or plain text. */
export type ConfigFileDef =
  | {
      name: string;
      ini: IniDoc;
      dialect?: 'oslo' | 'paste' /** namespace set for oslo-config-validator */;
      validate?: string;
      /**
       * The directory beside the file that oslo reads as its config dir, where the file's
       * credentials go on Kubernetes: `<name>.d` unless the program is started without
       * --config-dir and finds it by its project's name alone (`<project>.conf.d`), as a WSGI app
       * under uwsgi does.
       */
      configDir?: string;
    }
  | {
      name: string;
      text: string;
      secret?: boolean;
      refs?: Ref[] /** Used by the images only (uwsgi ini, start scripts): not written on a host. */;
      kubernetesOnly?: boolean;
    };

/** Files of one service, rendered as ConfigMap `<name>-config` plus Secret `<name>-config-secrets`. */
export interface ConfigBundleDef {
  name: string;
  /** Directory the files appear in, e.g. /etc/nova. */
  dir: string;
  files: ConfigFileDef[];
}

interface EnvDef {
  name: string;
  value?: string;
  /** Value from a secret of the store (rendered as a secretKeyRef). */
  secret?: string;
  /** Value from the pod's own fields, e.g. "status.hostIP". */
  fieldPath?: string;
  /** References the value makes (for the plan's edges). */
  refs?: Ref[];
}

export interface VolumeClaimDef {
  name: string;
  mountPath: string;
  size: string;
  storageClass?: string;
}

interface HostPathDef {
  name: string;
  path: string;
  mountPath: string;
  type?: 'Directory' | 'DirectoryOrCreate' | 'File' | 'Socket';
}

export interface ResolvedSettings {
  replicas: number;
  resources: { requests: { cpu: string; memory: string }; limits: { cpu?: string; memory: string } };
  nodeSelector: Record<string, string>;
  tolerations: {
    key?: string;
    operator?: 'Exists' | 'Equal';
    value?: string;
    effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  }[];
}

interface SidecarDef {
  /** Container name. */
  name: string;
  command: string[];
  /** Passes once the program serves what the main container needs at its start. */
  startup: ProbeDef;
  resources: ResolvedSettings['resources'];
}

/** An explicit ordering edge that no config value expresses (e.g. "schema before API"). */
export interface AfterDef {
  target: string;
  why: string;
}

export interface ComponentDef {
  /** Unique id, also the Kubernetes object name, e.g. "nova-api". */
  id: string;
  service: string;
  /** Part of the service, e.g. "api", "db-sync" (app.kubernetes.io/component). */
  part: string;
  workload: Workload;
  image: ImageKey;
  command: string[];
  env?: EnvDef[];
  ports?: PortDef[];
  /** A Service in front of the pods; for StatefulSets also a headless Service named `<id>-headless`. */
  service_?: {
    ports: PortDef[];
    headless?: boolean /** NodePort Service; a number pins the port. */;
    nodePort?: number | true;
  };
  /** StorageClasses this component provides to clusters consuming it (Cinder CSI), cluster-scoped. */
  storageClasses?: { name: string; volumeType: string }[];
  /**
   * A StatefulSet whose members must start together (RabbitMQ nodes find each other only when
   * all are up). Unset: members start in order, each joining the first (Galera, OVN RAFT).
   */
  startTogether?: boolean;
  /** Reaches the Ceph cluster (RBD): its NetworkPolicy lets it out to the monitors and OSDs. */
  cephClient?: boolean;
  /** Public API: Ingress host `<publicHost>.<publicDomain>` to this port. */
  publicHost?: string;
  publicPort?: number;
  readiness?: ProbeDef;
  liveness?: ProbeDef;
  startup?: ProbeDef;
  /**
   * Programs that must share the pod's files with the main one (a Unix socket): on Kubernetes
   * native sidecars (init containers that keep running), each started and past its startup probe
   * before the main container starts, with the same image, mounts and security context. A host
   * runs such a program as a component of its own.
   */
  sidecars?: SidecarDef[];
  /** Config bundles this component mounts (by bundle name). */
  configs?: string[];
  /**
   * The oslo sections this component reads (a Job that only syncs a schema reads [database], not
   * [keystone_authtoken]); references in other sections make no edge for it. All when unset.
   */
  readsSections?: string[];
  /** Store secrets mounted as files: the Kubernetes Secret is mounted whole at mountPath. */
  secretFiles?: {
    k8sSecret: string;
    mountPath: string;
    refs?: Ref[] /** Pod volume name (default `secret-<k8sSecret>`). */;
    volume?: string;
  }[];
  volumeClaim?: VolumeClaimDef;
  emptyDirs?: { name: string; mountPath: string }[];
  hostPaths?: HostPathDef[];
  hostNetwork?: boolean;
  privileged?: boolean;
  runAsUser?: number;
  nodeRole: NodeRole;
  /** Labels of nodes this component must not run on (e.g. plain compute excludes GPU nodes). */
  avoidNodeLabels?: Record<string, string>;
  settings: ResolvedSettings;
  /** Ordering edges that no reference expresses, each with its reason. */
  after?: AfterDef[];
  /** Extra references made outside config files (e.g. a Job's command line). */
  refs?: Ref[];
  /** Pods of this component call the Kubernetes API (RBAC is rendered for exactly these rules). */
  rbac?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  /** Multus NetworkAttachmentDefinitions attached to the pods (namespace: the pod's when unset). */
  networks?: { name: string; namespace?: string; interface?: string }[];
  /** Receives traffic from outside the cluster (hostNetwork agents, ingress, NodePort). */
  externalPorts?: number[];
  /** Job: retries before the Job fails. */
  backoffLimit?: number;
  /** How it runs on one host from Debian's packages (the all-in-one target). */
  host?: HostDef;
}

/**
 * The all-in-one target's view of a component. `process`: a supervised long-running program;
 * `step`: a one-shot command (a Job on Kubernetes), rerun only when what it depends on changed;
 * `builtin`: work osk does itself (SQL through the local socket, calls through its OpenStack
 * client); `skip`: cannot or need not run on one host, with the reason shown by `osk up`.
 */
export type HostDef =
  | ({ kind: 'process'; ready: HostProbe; ports?: number[]; prepare?: HostPrepare[] } & HostCommand)
  | ({ kind: 'step' } & HostCommand)
  | { kind: 'builtin'; action: HostBuiltin; packages?: string[] }
  | { kind: 'skip'; why: string };

interface HostCommand {
  command: string[];
  env?: Record<string, string>;
  /** Environment values taken from the secret store (never on a command line). */
  secretEnv?: Record<string, string>;
  /** Debian packages the command comes from. */
  packages: string[];
  /** Directories created (0700) before start: data, lock and image paths. */
  dirs?: string[];
  /**
   * Files written before start: a secret's value or text, mode 0600 for secrets. `live`: the
   * program rereads the file while it runs (a key repository), so a new content does not
   * restart it.
   */
  files?: { path: string; secret?: string; text?: string; mode?: number; live?: boolean }[];
}

/** A one-time preparation of a process's data (e.g. initialise a database directory). */
interface HostPrepare {
  command: string[];
  /** Skipped when this path exists: preparations never touch existing data. */
  unlessExists: string;
}

export type HostProbe =
  | { tcp: number }
  | { http: { port: number; path: string } }
  | { exec: string[] }
  /** A query on the local MariaDB that must return a non-zero count (a service row, a compute node). */
  | { sql: { query: string; what: string } }
  /** Running this long without exiting (workers with no endpoint of their own). */
  | { aliveSeconds: number };

export type HostBuiltin =
  | { dbInit: { databases: string[]; user: string; passwordSecret: string } }
  | { keystoneUser: { user: string; passwordSecret: string } }
  | { keystoneEndpoint: { type: string; name: string; internalUrl: string; publicUrl: string; roles?: string[] } }
  | { volumeTypes: { name: string; backend: string; qos?: Record<string, number> }[] }
  /** A Chassis row for a hypervisor with no ovn-controller (the fake driver): ports can bind. */
  | { ovnFakeChassis: { hostname: string; sbSocket: string } };

export interface ServiceDef {
  name: string;
  /** Keystone catalog type and the component answering it (for `catalog` references). */
  catalog?: { type: string; component: string; register: string };
  components: ComponentDef[];
  secrets: SecretDef[];
  configs: ConfigBundleDef[];
}
