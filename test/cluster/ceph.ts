// A Ceph cluster for the real-node e2e: the storage a user's Kubernetes cloud connects to
// (spec.storage.ceph.monitors), run on the host end of the node network (10.250.<i>.1) where the
// pods reach it. Its programs are the one-host cloud's own (src/catalog/ceph-host.ts: the same
// scripts, conf and readiness checks, one monitor, one manager and one OSD on a sparse file), so
// what the e2e proves about them holds for `osk up` too; only the address and the directory
// differ. Every process is started detached and stopped by its PID; the caller removes dir.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cephClusterCommands, type HostCephLayout, hostCephConf } from '../../src/catalog/ceph-host.js';

export interface TestCeph {
  /** the monitor, as spec.storage.ceph.monitors names it */
  monitor: string;
  /** the cloud's user and its bare cephx key (what the keyringSecret holds) */
  user: string;
  clientKey: string;
  /** `rbd` as client.admin, e.g. rbd(['ls', 'volumes']) */
  rbd(args: string[]): { code: number; stdout: string; stderr: string };
  /** SIGTERM to each program (manager, OSD, monitor), then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const POOLS = { volumes: 'volumes', images: 'images', backups: 'backups', vms: 'vms' };

/** A fresh cephx key from Ceph's own tool (base64 of a typed AES key). */
function newKey(): string {
  const r = spawnSync('ceph-authtool', ['--gen-print-key'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ceph-authtool --gen-print-key: ${r.stderr}`);
  return r.stdout.trim();
}

function layout(dir: string, user: string): HostCephLayout {
  const etc = join(dir, 'etc');
  return {
    etc,
    conf: join(etc, 'ceph.conf'),
    clientKeyring: join(etc, `ceph.client.${user}.keyring`),
    monKey: join(dir, 'keys', 'mon.key'),
    adminKey: join(dir, 'keys', 'client.admin.key'),
    clientKey: join(dir, 'keys', `client.${user}.key`),
    data: join(dir, 'data'),
    run: join(dir, 'run'),
  };
}

async function waitFor(what: string, probe: string[], child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (spawnSync(probe[0]!, probe.slice(1), { stdio: 'ignore', timeout: 20_000 }).status === 0) return;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(
        `the test Ceph's ${what} did not become ready; ${log}:\n${readFileSync(log, 'utf8').slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** One monitor, one manager, one OSD and the RBD pools, on `address` (an address of this host). */
export async function startTestCeph(dir: string, address: string, log: (line: string) => void): Promise<TestCeph> {
  const user = 'cinder';
  const l = layout(dir, user);
  for (const d of [
    l.etc,
    join(dir, 'keys'),
    l.data,
    join(l.data, 'mon'),
    join(l.data, 'mgr'),
    join(l.data, 'osd'),
    l.run,
  ])
    mkdirSync(d, { recursive: true, mode: 0o700 });
  const keys = { mon: newKey(), admin: newKey(), client: newKey() };
  writeFileSync(l.monKey, keys.mon, { mode: 0o600 });
  writeFileSync(l.adminKey, keys.admin, { mode: 0o600 });
  writeFileSync(l.clientKey, keys.client, { mode: 0o600 });
  const net = { monAddrs: `[v2:${address}:3300,v1:${address}:6789]`, publicNetwork: `${address}/32` };
  const fsid = randomUUID();
  writeFileSync(l.conf, hostCephConf(l, fsid, user, net));
  const c = cephClusterCommands(l, fsid, { user, pools: POOLS }, net);

  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // ChildProcess.kill signals its own PID and takes one that just exited (ESRCH) in its stride.
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };
  const start = async (name: 'mon' | 'mgr' | 'osd'): Promise<void> => {
    const logFile = join(dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const [cmd, ...args] = c[name].command;
    const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.push(child);
    await waitFor(name, c[name].ready, child, logFile);
    log(`test Ceph: ${name} ready (pid ${child.pid})`);
  };
  try {
    await start('mon');
    await start('mgr');
    await start('osd');
    const [cmd, ...args] = c.pools;
    const pools = spawnSync(cmd!, args, { encoding: 'utf8', env: { ...process.env, CLIENT_KEY: keys.client } });
    if (pools.status !== 0) throw new Error(`the test Ceph's pools step failed: ${pools.stderr}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    monitor: `${address}:3300`,
    user,
    clientKey: keys.client,
    rbd: (args) => {
      const r = spawnSync('rbd', ['--conf', l.conf, '--name', 'client.admin', ...args], { encoding: 'utf8' });
      return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    stop,
  };
}
