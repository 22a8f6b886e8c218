/**
 * What the OVN metadata agent of a cloud on one host leaves behind when it stops: for every
 * network with a port here a namespace `ovnmeta-<network id>` (its veth end plugged into the
 * cloud's br-int) and an haproxy in it, which daemonizes out of the agent's process group, so
 * stopping the agent stops neither. `osk down` removes them after the agent is stopped.
 *
 * Only what is this cloud's: the network ids come from the agent's files in the cloud's state
 * (haproxy's pid files and configs under its state_path), an haproxy is stopped by its PID only
 * when its command line names the cloud's state directory, and a namespace is removed only by
 * the name made from one of those ids.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../run-command.js';
import type { StatePaths } from '../../state/paths.js';
import { startTimeOf, stopGroup } from './process-tree.js';

const NETWORK_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(pid\.haproxy|conf)$/;

async function filesOf(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** Stops the cloud's metadata haproxys and removes their namespaces; returns the namespaces removed. */
export async function removeMetadataProxies(paths: StatePaths): Promise<string[]> {
  const pids = join(paths.data, 'neutron', 'external', 'pids');
  const confs = join(paths.data, 'neutron', 'ovn-metadata-proxy');
  const ids = new Set<string>();
  for (const dir of [pids, confs])
    for (const f of await filesOf(dir)) {
      const id = NETWORK_ID.exec(f)?.[1];
      if (id) ids.add(id);
    }
  const removed: string[] = [];
  for (const id of ids) {
    const pidFile = join(pids, `${id}.pid.haproxy`);
    const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (pid > 0) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      const startTime = startTimeOf(pid);
      if (cmdline.includes(paths.root) && startTime !== undefined) await stopGroup({ pid, startTime }, 5000);
      await rm(pidFile, { force: true });
    }
    const ns = `ovnmeta-${id}`;
    if (existsSync(`/run/netns/${ns}`)) {
      const r = await runCommand(['ip', 'netns', 'delete', ns]);
      if (r.code === 0) removed.push(ns);
    }
  }
  return removed;
}
