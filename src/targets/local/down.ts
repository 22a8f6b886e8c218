/**
 * `osk down`: stop every program of the cloud by PID, dependants first (the reverse of the start
 * order), through its supervisor, or straight from the PID files when the supervisor is gone.
 * Guests first: QEMU outlives libvirtd (libvirt detaches it), so the cloud's guests are destroyed
 * through its libvirtd while that still runs. The OVN metadata agent's namespaces and haproxys
 * outlive it too and are removed after it stops. `--purge` then removes the state directory:
 * configs, data, logs and the secret store.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shutdown, stopProcess, supervisorPid, supervisorStatus } from './control.js';
import type { StopResult } from './supervisor.js';
import type { StatePaths } from '../../state/paths.js';
import { destroyGuests, libvirtLayout } from './libvirt.js';
import { removeMetadataProxies } from './metadata-proxies.js';
import { readPidFile, stopGroup } from './process-tree.js';

interface DownResult {
  stopped: string[];
  purged: boolean;
}

/** `waves`: the start order in waves; stopping goes the other way round. */
export async function down(
  paths: StatePaths,
  waves: string[][],
  opts: { purge: boolean; log: (line: string) => void },
): Promise<DownResult> {
  const reverseWaves = [...waves].reverse();
  const reverse = reverseWaves.flat();
  const status = await supervisorStatus(paths);
  const stopped: string[] = [];
  const guests = await destroyGuests(libvirtLayout(paths));
  if (guests.length) opts.log(`destroyed ${guests.length} guests through the cloud's libvirtd: ${guests.join(', ')}`);
  if (status) {
    const running = status.processes.filter((p) => p.state !== 'stopped').map((p) => p.id);
    opts.log(`stopping ${running.length} programs through the supervisor (pid ${status.pid}), dependants first`);
    const said = (r: StopResult) => {
      opts.log(
        `stopped ${r.id} in ${(r.ms / 1000).toFixed(1)} s${r.how === 'killed' ? ' (killed: it ignored SIGTERM for the whole grace period)' : ''}`,
      );
      stopped.push(r.id);
    };
    // Wave by wave, each program's line as it stops (a slow one is seen while it is waited for),
    // then the supervisor stops whatever is left and exits.
    const isRunning = new Set(running);
    for (const wave of reverseWaves)
      await Promise.all(
        wave
          .filter((id) => isRunning.has(id))
          .map(async (id) => {
            const r = await stopProcess(paths, id);
            if (r && r.how !== 'gone') said(r);
          }),
      );
    for (const r of await shutdown(paths, [])) said(r);
  }
  // Whatever is still recorded (no supervisor, or it died mid-way): stop by PID file.
  const files = (await readdir(paths.pids).catch(() => [] as string[])).filter(
    (f) => f.endsWith('.json') && f !== 'supervisor.json',
  );
  const ids = files.map((f) => f.slice(0, -5)).sort((a, b) => idx(reverse, a) - idx(reverse, b));
  for (const id of ids) {
    const rec = await readPidFile(join(paths.pids, `${id}.json`));
    if (rec) {
      const how = await stopGroup(rec);
      if (how !== 'gone') {
        opts.log(`stopped ${id} (pid ${rec.pid}${how === 'killed' ? ', killed after the grace period' : ''})`);
        stopped.push(id);
      }
    }
    await rm(join(paths.pids, `${id}.json`), { force: true });
  }
  // The metadata agent is stopped by now, so it makes no namespace again.
  const namespaces = await removeMetadataProxies(paths);
  if (namespaces.length) opts.log(`removed the metadata namespaces ${namespaces.join(', ')} and their haproxy`);
  const sup = await supervisorPid(paths);
  if (sup) await stopGroup(sup, 5000);
  await rm(join(paths.pids, 'supervisor.json'), { force: true });
  await rm(paths.supervisorSocket, { force: true });
  if (opts.purge) await rm(paths.root, { recursive: true, force: true });
  return { stopped: [...new Set(stopped)], purged: opts.purge };
}

function idx(order: string[], id: string): number {
  const i = order.indexOf(id);
  return i < 0 ? -1 : i;
}
