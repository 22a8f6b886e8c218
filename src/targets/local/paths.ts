/**
 * Where an all-in-one cloud keeps its state: one directory per cloud, next to its secret store,
 * holding everything the cloud is made of on this host. Nothing is written to /etc or /var/lib,
 * so two clouds never share a file and `osk down --purge` removes exactly one cloud.
 */
import { dirname, join } from 'node:path';
import { defaultStorePath } from '../../config/secrets.js';

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
  supervisorSocket: string;
  cloudsYaml: string;
  openrc: string;
}

export function statePaths(cloud: string, root?: string): StatePaths {
  const r = root ?? dirname(defaultStorePath(cloud));
  const run = join(r, 'run');
  return {
    root: r,
    etc: join(r, 'etc'),
    data: join(r, 'data'),
    log: join(r, 'log'),
    run,
    pids: join(run, 'osk'),
    steps: join(r, 'steps'),
    secrets: join(r, 'secrets.yaml'),
    supervisorSocket: join(run, 'supervisor.sock'),
    cloudsYaml: join(r, 'clouds.yaml'),
    openrc: join(r, 'openrc'),
  };
}
