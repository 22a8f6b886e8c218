/**
 * No value of the cloud file becomes code. Cloud files are built with a hostile value (a unique
 * marker, then shell metacharacters) in every string field that reaches a script, set on the
 * parsed file so load-time validation is bypassed (the catalog must hold on its own). Then:
 *
 * - no rendered script text holds the marker: `sh -c <text>` of every container and probe, and
 *   every script file of a ConfigMap (`*.sh`, `#!…`, the Python settings);
 * - inside containers the marker is only in env values and in argv elements that are data;
 * - each field arrives in the env variable its script reads (so the test is not vacuous);
 * - the openvswitch and ovn-controller scripts, as rendered, run under /bin/sh against stub
 *   commands that record their argv: each hostile value arrives as exactly one argument, and
 *   nothing else runs (no `id`, no `touch`, no file created);
 * - the bootstrap Jobs, as rendered (`osk bootstrap <task>`, run as `node bin/osk.js bootstrap
 *   <task>` with the Job's env): the hostile volume type, backend, region and public domain reach
 *   the fake OpenStack as exactly those strings, the hostile MariaDB host reaches the mariadb
 *   client (a stub) as one argument, and nothing else runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { SecretStore } from '../state/secret-store.js';
import { ExitCode, OskError } from '../errors.js';
import { render } from '../targets/kubernetes/render.js';
import { parseCloudFile } from '../spec/load.js';
import type { CloudFile } from '../spec/schema.js';
import { allObjects } from '../targets/kubernetes/objects.js';
import { FakeCloud } from '../openstack/testing/fake-cloud.js';
import { serveBootstrapApis } from '../openstack/testing/fake-bootstrap.js';
import { renderedJob, runJob } from '../../test/support/bootstrap-job.js';
import type { HostFacts } from '../targets/local/host-facts.js';
import { statePaths } from '../state/paths.js';
import { localModel } from '../targets/local/up.js';

const run = promisify(execFile);
const RUN_ID = randomUUID().slice(0, 8);
/** The file a hostile value would create if any shell ran it as code. */
const PWNED = join(tmpdir(), `osk-pwned-${RUN_ID}`);
const TOKEN = `OSKMARK${RUN_ID}`;
/** A hostile value for one field: the marker, then `;`, a command, quotes, $(…) and backquotes. */
const hostile = (field: string) => `${TOKEN}${field};touch ${PWNED};"$(id)"\`id\``;

const V = {
  iface: hostile('iface'),
  bridge: hostile('bridge'),
  physnet: hostile('physnet'),
  volumeType: hostile('volumetype'),
  backendName: hostile('backend'),
  namespace: hostile('namespace'),
  name: hostile('name'),
  region: hostile('region'),
  domain: hostile('domain'),
  offsiteUrl: `s3://bucket/${hostile('offsiteurl')}`,
  offsiteEndpoint: `https://s3.example.org/${hostile('endpoint')}`,
  multusName: hostile('multusname'),
  multusNamespace: hostile('multusns'),
  multusInterface: hostile('multusif'),
  volumeGroup: hostile('vg'),
  pool: hostile('pool'),
  keyringSecret: hostile('keyring'),
  glanceCache: `/srv/${hostile('cache')}`,
  storageClass: hostile('storageclass'),
};

const BASE = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata: { name: base, namespace: base }
spec:
  profile: ha
  network:
    providerNetworks:
      - { name: physnet1, interface: eth1, bridge: br-ex }
      - { name: physnet2, interface: eth2 }
    multus:
      networks: [{ name: storage, interface: net1 }]
  storage:
    backend: lvm
    lvm: { volumeGroup: cinder-volumes }
    cinderBackends:
      - { name: fast, volumeType: ssd, qos: { readIopsSec: 500, totalBytesSec: 1000000 } }
  backup:
    offsite: { url: "s3://bucket/prefix", endpoint: "https://s3.example.org", credentialsSecret: s3 }
`;

const CEPH = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata: { name: rbd }
spec:
  storage:
    backend: ceph
    ceph: { monitors: ["10.0.0.1:6789"] }
    glance: { cache: { hostPath: /srv/cache } }
`;

/** The LVM/OVN cloud with a hostile value in every field that reaches a script (validation bypassed). */
function hostileLvmCloud(): CloudFile {
  const f = parseCloudFile(BASE, 'hostile.yaml');
  // metadata.name is not here: it names Kubernetes objects, refused at render (Velero Schedule
  // name) before any script; the all-in-one test below gives it to the host's scripts.
  f.metadata.namespace = V.namespace;
  f.spec.region = V.region;
  f.spec.endpoints = { ...f.spec.endpoints, publicDomain: V.domain };
  const net = f.spec.network!;
  net.providerNetworks[0]!.interface = V.iface;
  net.providerNetworks[0]!.bridge = V.bridge;
  net.providerNetworks[1]!.name = V.physnet;
  net.multus!.networks[0] = { name: V.multusName, namespace: V.multusNamespace, interface: V.multusInterface };
  const storage = f.spec.storage!;
  storage.lvm = { volumeGroup: V.volumeGroup };
  storage.storageClass = V.storageClass;
  storage.cinderBackends![0]!.volumeType = V.volumeType;
  storage.cinderBackends![0]!.name = V.backendName;
  f.spec.backup!.offsite!.url = V.offsiteUrl;
  f.spec.backup!.offsite!.endpoint = V.offsiteEndpoint;
  return f;
}

function hostileCephCloud(): CloudFile {
  const f = parseCloudFile(CEPH, 'hostile-ceph.yaml');
  const ceph = f.spec.storage!.ceph!;
  ceph.pools = { volumes: V.pool, images: V.pool, backups: V.pool, vms: V.pool };
  ceph.keyringSecret = V.keyringSecret;
  f.spec.storage!.glance!.cache!.hostPath = V.glanceCache;
  return f;
}

type Json = any;
type Hit = { path: string; value: string };

function objectsOf(file: CloudFile): Json[] {
  return allObjects(render(file, SecretStore.memory('hostile')).groups).map((o) => o);
}

/** Every string of a JSON value that holds the marker, with its path. */
function hits(v: Json, path = ''): Hit[] {
  if (typeof v === 'string') return v.includes(TOKEN) ? [{ path, value: v }] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => hits(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => hits(x, `${path}.${k}`));
  return [];
}

const SHELLS = new Set(['sh', '/bin/sh', 'bash', '/bin/bash']);
/** The script of an argv run by a shell (`sh -c <script> [args…]`), if it is one. */
function shellScript(argv: string[]): string | undefined {
  return argv.length >= 3 && SHELLS.has(argv[0]!) && argv[1] === '-c' ? argv[2] : undefined;
}

/** Every container of an object (workloads, Jobs, CronJobs; init containers too), with a name. */
function containers(o: Json): { where: string; c: Json }[] {
  const pod = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
  if (!pod) return [];
  return [...(pod.initContainers ?? []), ...pod.containers].map((c: Json) => ({
    where: `${o.kind}/${o.metadata.name}/${c.name}`,
    c,
  }));
}

/** Script texts of a container: its own `sh -c` and those of its probes. */
function containerScripts(c: Json): string[] {
  const argvs: string[][] = [[...(c.command ?? []), ...(c.args ?? [])]];
  for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) if (p?.exec?.command) argvs.push(p.exec.command);
  return argvs.map(shellScript).filter((s): s is string => s !== undefined);
}

/** A ConfigMap file that is a program (shell or Python), not data. */
function isScriptFile(name: string, text: string): boolean {
  return /\.(sh|py)$/.test(name) || text.startsWith('#!');
}

function assertNoMarkerInCode(objects: Json[]): { scriptsChecked: number } {
  let scriptsChecked = 0;
  for (const o of objects) {
    for (const { where, c } of containers(o)) {
      for (const s of containerScripts(c)) {
        scriptsChecked++;
        assert.ok(!s.includes(TOKEN), `${where}: a cloud-file value is in the script it runs:\n${s}`);
      }
      // Inside a container the marker may only be data: an env value or a non-script argument.
      const script = shellScript([...(c.command ?? []), ...(c.args ?? [])]);
      for (const h of hits(c)) {
        const ok =
          /^\.env\[\d+\]\.value$/.test(h.path) || (/^\.(command|args)\[\d+\]$/.test(h.path) && h.value !== script);
        assert.ok(ok, `${where}${h.path}: the marker is in a container field that is not data: ${h.value}`);
      }
    }
    if (o.kind === 'ConfigMap') {
      for (const [name, text] of Object.entries<string>(o.data ?? {})) {
        if (!isScriptFile(name, text)) continue;
        scriptsChecked++;
        assert.ok(
          !text.includes(TOKEN),
          `ConfigMap/${o.metadata.name} ${name}: a cloud-file value is in a script file`,
        );
      }
    }
  }
  return { scriptsChecked };
}

function container(objects: Json[], kind: string, namePrefix: string): Json {
  const o = objects.find(
    (x) => x.kind === kind && (x.metadata.name === namePrefix || x.metadata.name.startsWith(`${namePrefix}-`)),
  );
  assert.ok(o, `${kind}/${namePrefix} is rendered`);
  return containers(o)[0]!.c;
}

function envOf(c: Json, name: string): string {
  const e = (c.env ?? []).find((x: Json) => x.name === name);
  assert.ok(e && typeof e.value === 'string', `env ${name}`);
  return e.value;
}

test('hostile values in every script-bound field: no rendered script holds one; each is an env value or argument', () => {
  const objects = objectsOf(hostileLvmCloud());
  const { scriptsChecked } = assertNoMarkerInCode(objects);
  assert.ok(scriptsChecked > 20, `only ${scriptsChecked} scripts found: the walk misses containers or ConfigMaps`);

  // Each script-bound field arrived in the variable its script reads.
  const ovs = container(objects, 'DaemonSet', 'openvswitch');
  assert.deepEqual(envOf(ovs, 'OVS_BRIDGE_PORTS').split('\n'), [
    V.bridge,
    V.iface,
    `br-${V.physnet}`.slice(0, 15),
    'eth2',
  ]);
  const ctl = container(objects, 'DaemonSet', 'ovn-controller');
  assert.deepEqual(envOf(ctl, 'OVN_BRIDGE_MAPPINGS').split('\n'), [
    'physnet1',
    V.bridge,
    V.physnet,
    `br-${V.physnet}`.slice(0, 15),
  ]);
  assert.ok(envOf(ctl, 'OVN_SB_REMOTE').includes(V.namespace));
  const types = container(objects, 'Job', 'cinder-volume-types');
  assert.equal(envOf(types, 'VOLUME_TYPES'), `${V.volumeType}\n${V.backendName}`);
  assert.equal(
    envOf(types, 'VOLUME_QOS'),
    `${V.volumeType}\nread_iops_sec=500\n${V.volumeType}\ntotal_bytes_sec=1000000`,
  );
  assert.equal(envOf(types, 'OS_REGION_NAME'), V.region);
  assert.ok(envOf(container(objects, 'StatefulSet', 'mariadb'), 'GALERA_PEERS').includes(V.namespace));
  assert.ok(envOf(container(objects, 'StatefulSet', 'ovn-nb'), 'OVN_DB_FIRST').includes(V.namespace));
  assert.ok(
    envOf(container(objects, 'Deployment', 'horizon'), 'OSK_DASHBOARD').includes(
      JSON.stringify(`dashboard.${V.domain}`).slice(1, -1),
    ),
  );
  const cron = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'backup-mariadb');
  const offsite = containers(cron).find((x) => x.c.name === 'offsite')!.c;
  assert.ok(envOf(offsite, 'OFFSITE_URL').startsWith(V.offsiteUrl));
  assert.equal(envOf(offsite, 'S3_ENDPOINT'), V.offsiteEndpoint);
  // Multus: the JSON form, each value a JSON string.
  const ann = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'ovn-controller').spec.template.metadata
    .annotations['k8s.v1.cni.cncf.io/networks'];
  assert.deepEqual(JSON.parse(ann), [
    { name: V.multusName, namespace: V.multusNamespace, interface: V.multusInterface },
  ]);
});

test('a schedule that slipped past validation is bad input (exit 2, the field named), not a crash', () => {
  const f = hostileLvmCloud();
  f.spec.backup!.schedule = '61 25 * * *';
  assert.throws(
    () => objectsOf(f),
    (e: unknown) =>
      e instanceof OskError && e.exitCode === ExitCode.invalidInput && /^spec\.backup\.schedule: /.test(e.message),
  );
});

test('hostile Ceph pools, keyringSecret and cache path: no rendered script holds one', () => {
  const objects = objectsOf(hostileCephCloud());
  assertNoMarkerInCode(objects);
  const volume = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cinder-volume');
  assert.ok(volume.spec.template.spec.volumes.some((v: Json) => v.secret?.secretName === V.keyringSecret));
});

test('all-in-one: no host command runs a hostile cloud name or region as shell', () => {
  const file = parseCloudFile('apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: { name: aio }\n', 'aio.yaml');
  file.metadata.name = V.name;
  file.spec.region = V.region;
  const host: HostFacts = {
    distro: { id: 'debian', versionId: '12', pretty: 'Debian 12' },
    hostname: 'aio',
    root: true,
  };
  const model = localModel(
    file,
    statePaths(file.metadata.name, join(tmpdir(), hostile('state'))),
    host,
    (n) => `S${n}`,
  );
  let scripts = 0;
  for (const c of model.components.values()) {
    const h = c.host;
    if (!h || !('command' in h)) continue;
    const argvs = [h.command, ...(h.kind === 'process' ? (h.prepare ?? []).map((p) => p.command) : [])];
    for (const argv of argvs) {
      const s = shellScript(argv);
      if (s === undefined) continue;
      scripts++;
      assert.ok(!s.includes(TOKEN), `${c.id}: a cloud-file value is in the host script:\n${s}`);
    }
  }
  assert.ok(scripts > 0, 'the all-in-one runs some sh -c');
});

// ---- the rendered scripts, run ---------------------------------------------------------------

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osk-no-injection-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await rm(PWNED, { force: true });
});

/**
 * Shell that appends one call (its name, then each argument, a line each) to log in a single
 * write: a stub in the background (libvirtd) and one in the foreground may record at once.
 */
const RECORD = (name: string, log: string) =>
  `r='CALL ${name}'; for a in "$@"; do r="$r\nARG $a"; done; printf '%s\\n' "$r" >> '${log}'`;

/**
 * A directory of stub commands that append their name and each argument (one per line) to
 * calls.log; `id` and `touch` (what the hostile values would run) also note themselves in
 * ran.log. `failing` stubs exit 1 when their argv has a "show" argument (nothing exists yet).
 */
async function stubs(
  name: string,
  commands: string[],
): Promise<{ bin: string; calls: () => Promise<string[][]>; ran: string }> {
  const base = join(dir, name);
  const bin = join(base, 'bin');
  await run('mkdir', ['-p', bin]);
  const log = join(base, 'calls.log');
  const ran = join(base, 'ran.log');
  for (const cmd of commands) {
    await writeFile(
      join(bin, cmd),
      `#!/bin/sh\n${RECORD(cmd, log)}\nfor a in "$@"; do [ "$a" = show ] && exit 1; done\nexit 0\n`,
    );
    await chmod(join(bin, cmd), 0o755);
  }
  for (const cmd of ['id', 'touch']) {
    await writeFile(join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${ran}'\n`);
    await chmod(join(bin, cmd), 0o755);
  }
  const calls = async () => {
    const text = existsSync(log) ? await readFile(log, 'utf8') : '';
    const out: string[][] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('CALL ')) out.push([line.slice(5)]);
      else if (line.startsWith('ARG ')) out.at(-1)!.push(line.slice(4));
    }
    return out;
  };
  return { bin, calls, ran };
}

/** Run a script as the container would: /bin/sh, the container's env (plus `extra`), stubs first on PATH. */
async function runScript(script: string[], c: Json, bin: string, extra: Record<string, string> = {}): Promise<void> {
  const env: Record<string, string> = { PATH: `${bin}:${process.env.PATH}`, HOME: dir };
  for (const e of c.env ?? []) env[e.name] = typeof e.value === 'string' ? e.value : `from-${e.name}`;
  await run('/bin/sh', script, { env: { ...env, ...extra } });
}

function assertNothingElseRan(ran: string): void {
  assert.ok(!existsSync(PWNED), `${PWNED} was created: a hostile value ran as code`);
  assert.ok(!existsSync(ran), 'id or touch ran: a hostile value ran as code');
}

test('cinder volume-types, as rendered: osk bootstrap sends the hostile type and backend as data, nothing else runs', async () => {
  const objects = objectsOf(hostileLvmCloud());
  const job = renderedJob(objects, 'cinder-volume-types');
  assert.deepEqual(containers(job)[0]!.c.command, ['osk', 'bootstrap', 'volume-types']);
  const cloud = await FakeCloud.start();
  try {
    const state = serveBootstrapApis(cloud, V.region);
    const r = await runJob(objects, job, { OS_AUTH_URL: cloud.authUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(PWNED), `${PWNED} was created: a hostile value ran as code`);
    assert.deepEqual(
      state.types.map((t) => [t.name, t.extra_specs]),
      [[V.volumeType, { volume_backend_name: V.backendName }]],
    );
    assert.deepEqual(
      state.qos.map((q) => [q.name, q.specs]),
      [[`${V.volumeType}-qos`, { read_iops_sec: '500', total_bytes_sec: '1000000' }]],
    );
  } finally {
    await cloud.stop();
  }
});

test('ks-register, as rendered: the hostile region and public domain reach Keystone as those strings', async () => {
  const objects = objectsOf(hostileLvmCloud());
  const job = renderedJob(objects, 'nova-ks-register');
  const cloud = await FakeCloud.start();
  try {
    const state = serveBootstrapApis(cloud, V.region);
    const r = await runJob(objects, job, { OS_AUTH_URL: cloud.authUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(PWNED), `${PWNED} was created: a hostile value ran as code`);
    assert.deepEqual(state.regions, [{ id: V.region }]);
    assert.deepEqual(new Set(state.endpoints.map((e) => e.region_id)), new Set([V.region]));
    const pub = state.endpoints.find((e) => e.interface === 'public')!;
    assert.equal(pub.url, envOf(containers(job)[0]!.c, 'ENDPOINT_PUBLIC'));
    assert.ok(pub.url.includes(V.domain));
  } finally {
    await cloud.stop();
  }
});

test('db-init, as rendered: the hostile MariaDB host is one argument of the mariadb client, nothing else runs', async () => {
  const objects = objectsOf(hostileLvmCloud());
  const job = renderedJob(objects, 'nova-db-init');
  const host = envOf(containers(job)[0]!.c, 'DB_HOST');
  assert.ok(host.includes(V.namespace));
  const s = await stubs('db-init', ['mariadb']);
  const r = await runJob(objects, job, { PATH: `${s.bin}:${process.env.PATH}` });
  assert.equal(r.code, 0, r.stderr);
  assertNothingElseRan(s.ran);
  const client = ['mariadb', '-h', host, '-u', 'root', '--batch', '--skip-column-names'];
  // The wait (SELECT 1), then the SQL; both on standard input, not in the argv.
  assert.deepEqual(await s.calls(), [client, client]);
});

test('openvswitch, as rendered: bridge and interface arrive as one argument each, nothing else runs', async () => {
  const objects = objectsOf(hostileLvmCloud());
  const ovs = container(objects, 'DaemonSet', 'openvswitch');
  const script = shellScript(ovs.command)!;
  const s = await stubs('ovs', ['ovs-ctl', 'ovs-vsctl', 'tail']);
  await runScript(['-c', script], ovs, s.bin);
  assertNothingElseRan(s.ran);
  const physnet2Bridge = `br-${V.physnet}`.slice(0, 15);
  const bridge = (name: string, iface: string) => [
    'ovs-vsctl',
    '--may-exist',
    'add-br',
    name,
    '--',
    'set',
    'Bridge',
    name,
    'datapath_type=system',
    '--',
    '--may-exist',
    'add-port',
    name,
    iface,
  ];
  assert.deepEqual(await s.calls(), [
    ['ovs-ctl', 'start', '--system-id=random', '--no-monitor'],
    [
      'ovs-vsctl',
      '--may-exist',
      'add-br',
      'br-int',
      '--',
      'set',
      'Bridge',
      'br-int',
      'fail_mode=secure',
      'datapath_type=system',
    ],
    bridge(V.bridge, V.iface),
    bridge(physnet2Bridge, 'eth2'),
    ['tail', '-F', '/var/log/openvswitch/ovs-vswitchd.log'],
  ]);
});

test('openvswitch with the userspace datapath: ovs-vswitchd started without the kernel module, every bridge netdev', async () => {
  const file = hostileLvmCloud();
  file.spec.network!.datapath = 'netdev';
  const ds = objectsOf(file).find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'openvswitch');
  assert.ok(
    !ds.spec.template.spec.volumes.some((v: Json) => v.hostPath?.path === '/lib/modules'),
    'no kernel modules are mounted',
  );
  const ovs = containers(ds)[0]!.c;
  const s = await stubs('ovs-netdev', ['ovs-ctl', 'ovs-vswitchd', 'ovs-vsctl', 'tail']);
  await runScript(['-c', shellScript(ovs.command)!], ovs, s.bin);
  assertNothingElseRan(s.ran);
  const calls = await s.calls();
  assert.deepEqual(calls.slice(0, 4), [
    ['ovs-ctl', 'start', '--system-id=random', '--no-monitor', '--no-ovs-vswitchd'],
    ['ovs-vsctl', '--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true'],
    ['ovs-vswitchd', '--pidfile', '--detach', '--log-file'],
    [
      'ovs-vsctl',
      '--may-exist',
      'add-br',
      'br-int',
      '--',
      'set',
      'Bridge',
      'br-int',
      'fail_mode=secure',
      'datapath_type=netdev',
    ],
  ]);
  const bridges = calls.filter((c) => c[0] === 'ovs-vsctl' && c[1] === '--may-exist' && c[3] !== 'br-int');
  assert.equal(bridges.length, 2);
  for (const b of bridges) assert.ok(b.includes('datapath_type=netdev'), JSON.stringify(b));
  // ovn-controller gives OVN the same datapath type for the bridges it manages.
  const ctl = container(objectsOf(file), 'DaemonSet', 'ovn-controller');
  const c = await stubs('ovn-netdev', ['ovs-vsctl', 'ovn-controller']);
  await runScript(['-c', shellScript(ctl.command)!], ctl, c.bin, { NODE_IP: '192.0.2.10' });
  assert.ok((await c.calls())[0]!.includes('external-ids:ovn-bridge-datapath-type=netdev'));
});

test('openvswitch and ovn-controller refuse a datapath other than system or netdev', async () => {
  const objects = objectsOf(hostileLvmCloud());
  for (const name of ['openvswitch', 'ovn-controller']) {
    const c = container(objects, 'DaemonSet', name);
    const s = await stubs(`dp-${name}`, ['ovs-ctl', 'ovs-vswitchd', 'ovs-vsctl', 'ovn-controller', 'tail']);
    await assert.rejects(
      runScript(['-c', shellScript(c.command)!], c, s.bin, { NODE_IP: '192.0.2.10', OVS_DATAPATH: 'dpdk;x' }),
      (e: { code?: number; stderr?: string }) => e.code === 2 && /refusing OVS_DATAPATH/.test(e.stderr ?? ''),
    );
    assert.deepEqual(await s.calls(), [], `${name} ran nothing`);
  }
});

test('openvswitch refuses an interface that ovs-vsctl would read as an option', async () => {
  const file = hostileLvmCloud();
  file.spec.network!.providerNetworks[0]!.interface = '--';
  const ovs = container(objectsOf(file), 'DaemonSet', 'openvswitch');
  const s = await stubs('ovs-dash', ['ovs-ctl', 'ovs-vsctl', 'tail']);
  await assert.rejects(
    runScript(['-c', shellScript(ovs.command)!], ovs, s.bin),
    (e: { code?: number; stderr?: string }) => e.code === 2 && /refusing interface --/.test(e.stderr ?? ''),
  );
  assert.ok(!(await s.calls()).some((c) => c.includes('add-port')), 'no port was added');
});

test('ovn-controller, as rendered: remote and bridge mappings are OVSDB strings of the exact values, nothing else runs', async () => {
  const objects = objectsOf(hostileLvmCloud());
  const ctl = container(objects, 'DaemonSet', 'ovn-controller');
  const s = await stubs('ovn-controller', ['ovs-vsctl', 'ovn-controller']);
  await runScript(['-c', shellScript(ctl.command)!], ctl, s.bin, { NODE_IP: '192.0.2.10' });
  assertNothingElseRan(s.ran);
  const calls = await s.calls();
  assert.equal(calls.length, 2, JSON.stringify(calls));
  const [set, start] = calls as [string[], string[]];
  assert.deepEqual(set.slice(0, 4), ['ovs-vsctl', 'set', 'open', '.']);
  // ovs-vsctl reads a value that starts with '"' as a JSON string: decode each as it would.
  const ids = Object.fromEntries(
    set.slice(4).map((a) => {
      const m = /^external-ids:([a-z-]+)=(.*)$/s.exec(a)!;
      assert.ok(m, `one key=value per argument: ${a}`);
      return [m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!];
    }),
  );
  assert.deepEqual(ids, {
    'ovn-remote': envOf(ctl, 'OVN_SB_REMOTE'),
    'ovn-encap-type': 'geneve',
    'ovn-encap-ip': '192.0.2.10',
    'ovn-bridge-mappings': `physnet1:${V.bridge},${V.physnet}:${`br-${V.physnet}`.slice(0, 15)}`,
    'ovn-bridge-datapath-type': 'system',
    'ovn-cms-options': 'enable-chassis-as-gw',
  });
  assert.equal(start[0], 'ovn-controller');
});

test('libvirt with Ceph, as rendered: the libvirt secret gets the UUID and the Ceph user as data, the key by file; nothing else runs', async () => {
  const objects = objectsOf(hostileCephCloud());
  const libvirt = container(objects, 'DaemonSet', 'libvirt');
  const script = shellScript(libvirt.command)!;
  assert.ok(!script.includes(TOKEN));
  const s = await stubs('libvirt', ['libvirtd', 'virsh']);
  // virsh secret-define reads its XML from a file the script removes: keep a copy.
  const xmlCopy = join(dir, 'libvirt', 'secret.xml');
  await writeFile(
    join(s.bin, 'virsh'),
    `#!/bin/sh\n${RECORD('virsh', join(dir, 'libvirt', 'calls.log'))}\n[ "$3" = secret-define ] && cp "$5" '${xmlCopy}'\nexit 0\n`,
  );
  const uuid = randomUUID();
  const tmp = join(dir, 'libvirt', 'tmp');
  await run('mkdir', ['-p', tmp]);
  await runScript(['-c', script], libvirt, s.bin, { SECRET_UUID: uuid, TMPDIR: tmp });
  assertNothingElseRan(s.ran);
  const user = envOf(libvirt, 'CEPH_USER');
  const keyFile = envOf(libvirt, 'CEPH_KEY_FILE');
  const calls = await s.calls();
  // libvirtd runs in the background, beside the script's first virsh calls: in either order.
  assert.deepEqual(
    calls.filter((c) => c[0] === 'libvirtd'),
    [['libvirtd', '--listen']],
  );
  const virsh = calls.filter((c) => c[0] === 'virsh');
  assert.deepEqual(virsh.slice(-2), [
    ['virsh', '-c', 'qemu:///system', 'secret-define', '--file', virsh.at(-2)![5]!],
    ['virsh', '-c', 'qemu:///system', 'secret-set-value', '--secret', uuid, '--file', keyFile],
  ]);
  assert.equal(
    await readFile(xmlCopy, 'utf8'),
    `<secret ephemeral="yes" private="yes"><uuid>${uuid}</uuid><usage type="ceph"><name>client.${user} secret</name></usage></secret>\n`,
  );
  // Values that slipped past the catalog never become XML: the script refuses them (exit 2).
  for (const [name, value] of [
    ['CEPH_USER', V.pool],
    ['CEPH_USER', 'x</name><uuid>y'],
    ['SECRET_UUID', `${uuid.slice(0, -1)}<`],
    ['SECRET_UUID', 'not-a-uuid'],
  ] as const) {
    const r = await stubs(`libvirt-${name}-${value.length}`, ['libvirtd', 'virsh']);
    await assert.rejects(
      runScript(['-c', script], libvirt, r.bin, { SECRET_UUID: uuid, TMPDIR: tmp, [name]: value }),
      (e: { code?: number; stderr?: string }) => e.code === 2 && e.stderr!.includes(`osk: refusing ${name}`),
    );
    assert.deepEqual(await r.calls(), [], `${name}: nothing ran`);
    assertNothingElseRan(r.ran);
  }
});
