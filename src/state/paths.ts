/**
 * Every path of osk's state, in one place. The state root is $OSK_STATE_DIR, else
 * $XDG_STATE_HOME/osk, else ~/.local/state/osk; each cloud has one directory there holding its
 * secret store (both targets) and, for an all-in-one cloud, everything the cloud is made of on
 * this host. Nothing is written to /etc or /var/lib, so two clouds never share a file and
 * `osk down --purge` removes exactly one cloud.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the root came from, for messages that name it. */
export type StateRootSource = 'OSK_STATE_DIR' | 'XDG_STATE_HOME' | 'home';

export function stateRootSource(env: NodeJS.ProcessEnv = process.env): StateRootSource {
  return env.OSK_STATE_DIR ? 'OSK_STATE_DIR' : env.XDG_STATE_HOME ? 'XDG_STATE_HOME' : 'home';
}

/** The directory holding one directory per cloud. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.OSK_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'osk');
}

/** The secret store of a cloud, on either target (the default of --secrets-file). */
export function secretStorePath(cloud: string): string {
  return join(stateRoot(), cloud, SECRET_STORE_FILE);
}

/** The clouds.yaml `osk env -f` writes for a cloud on Kubernetes (beside, never over, an all-in-one's). */
export function kubeCloudsYamlPath(cloud: string): string {
  return join(stateRoot(), cloud, 'kubernetes', 'clouds.yaml');
}

const SECRET_STORE_FILE = 'secrets.yaml';
/** The all-in-one's copy of the cloud file it runs. */
const CLOUD_FILE = 'cloud.yaml';

/** Where `osk backup` keeps a cloud's backups when no --to is given (beside the clouds' state, not inside it). */
export function defaultBackupsDir(cloud: string): string {
  return join(stateRoot(), '.backups', cloud);
}

/**
 * The secret store of a user Kubernetes cluster made by `osk cluster create`: its application
 * credential, kubeadm's join secrets and CA (beside the clouds' state, like the backups, so it
 * is never taken for a cloud).
 */
export function clusterSecretStorePath(cluster: string): string {
  return join(stateRoot(), '.clusters', cluster, SECRET_STORE_FILE);
}

/** The cloud file kept in a cloud's state directory (or in a backup's copy of it). */
export function savedCloudFile(dir: string): string {
  return join(dir, CLOUD_FILE);
}

export interface StatePaths {
  /** Root of the cloud's state (0700). */
  root: string;
  /** Generated configuration, one directory per bundle (files 0600: they hold credentials). */
  etc: string;
  /** Databases, images, RabbitMQ's mnesia, OVN databases. */
  data: string;
  /** One log file per component. */
  log: string;
  /** Sockets and the services' own PID files, and the supervisor's socket. */
  run: string;
  /** osk's PID records of the programs it supervises (JSON, with start times). */
  pids: string;
  /** Completed steps, by content hash (a step reruns only when its inputs change). */
  steps: string;
  secrets: string;
  /** The copy of the cloud file `osk up` runs (what status, backup and down read). */
  cloudFile: string;
  supervisorSocket: string;
  cloudsYaml: string;
  openrc: string;
}

export function statePaths(cloud: string, root?: string): StatePaths {
  const r = root ?? join(stateRoot(), cloud);
  const run = join(r, 'run');
  return {
    root: r,
    etc: join(r, 'etc'),
    data: join(r, 'data'),
    log: join(r, 'log'),
    run,
    pids: join(run, 'osk'),
    steps: join(r, 'steps'),
    secrets: join(r, SECRET_STORE_FILE),
    cloudFile: savedCloudFile(r),
    supervisorSocket: join(run, 'supervisor.sock'),
    cloudsYaml: join(r, 'clouds.yaml'),
    openrc: join(r, 'openrc'),
  };
}
