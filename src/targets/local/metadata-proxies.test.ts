import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCommand } from '../../run-command.js';
import { statePaths } from '../../state/paths.js';
import { alive } from '../../../test/support/process.js';
import { scratchDir } from '../../../test/support/scratch.js';
import { removeMetadataProxies } from './metadata-proxies.js';

const children: ChildProcess[] = [];
const namespaces: string[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const ns of namespaces) await runCommand(['ip', 'netns', 'delete', ns]);
});

/** A long-running process whose command line is `args` (an haproxy stand-in), detached like haproxy -D. */
function daemon(args: string[]): number {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', '--', ...args], {
    detached: true,
    stdio: 'ignore',
  });
  children.push(c);
  return c.pid!;
}

const root = process.getuid?.() === 0;

test("osk down's cleanup stops the cloud's metadata haproxys and removes their namespaces, and nothing else", {
  skip: root ? false : 'makes network namespaces: run as root',
}, async () => {
  const dir = await scratchDir('osk-metadata-');
  const paths = statePaths('md', dir);
  const pids = join(paths.data, 'neutron', 'external', 'pids');
  const confs = join(paths.data, 'neutron', 'ovn-metadata-proxy');
  await mkdir(pids, { recursive: true });
  await mkdir(confs, { recursive: true });
  // Network a: haproxy running, namespace present. Network b: only a config and a namespace
  // (the agent made the namespace, haproxy had not started). Network c: its pid file names a
  // process that is not this cloud's haproxy (a reused PID): that process must live on.
  const [a, b, c, other] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const haproxy = daemon(['-f', join(confs, `${a}.conf`)]);
  const stranger = daemon(['-f', '/etc/haproxy/haproxy.cfg']);
  await writeFile(join(pids, `${a}.pid.haproxy`), `${haproxy}\n`);
  await writeFile(join(confs, `${a}.conf`), '');
  await writeFile(join(confs, `${b}.conf`), '');
  await writeFile(join(pids, `${c}.pid.haproxy`), `${stranger}\n`);
  for (const id of [a, b, other]) {
    const ns = `ovnmeta-${id}`;
    namespaces.push(ns);
    const r = await runCommand(['ip', 'netns', 'add', ns]);
    assert.equal(r.code, 0, r.out);
  }

  const removed = await removeMetadataProxies(paths);
  assert.deepEqual(removed.sort(), [`ovnmeta-${a}`, `ovnmeta-${b}`].sort());
  assert.equal(alive(haproxy), false, "the cloud's haproxy is stopped");
  assert.equal(alive(stranger), true, 'a process that is not the cloud’s haproxy is left alone');
  assert.ok(!existsSync(`/run/netns/ovnmeta-${a}`) && !existsSync(`/run/netns/ovnmeta-${b}`));
  assert.ok(existsSync(`/run/netns/ovnmeta-${other}`), "another cloud's namespace is left alone");
  assert.deepEqual(await removeMetadataProxies(paths), [], 'a second run finds nothing');
});
