/**
 * osk's MariaDB/Galera alerts against real components, all on 127.0.0.1 in a temp directory:
 * - a real one-node Galera cluster (Debian's mariadbd + galera-4, bootstrapped with
 *   --wsrep-new-cluster), which is what the `ha` example's 3-node cluster looks like after two
 *   nodes are lost;
 * - osk's rendered Job mysqld-exporter-db-init: its command (`osk bootstrap db-init`, as
 *   `node bin/osk.js`) run with the Job's env (Secrets resolved), twice, making the metrics user;
 * - the real mysqld_exporter (Debian's prometheus-mysqld-exporter 0.14) with the rendered my.cnf
 *   (plus host/port: 0.14 has no /probe multi-target, so it scrapes one server) and the
 *   rendered collector flags;
 * - a real Prometheus server (Debian's prometheus) that loads the rendered PrometheusRule's
 *   groups as its rule file and scrapes the exporter with the labels the PodMonitor gives
 *   (namespace of the cloud, instance mariadb-0).
 * It proves: every rendered rule evaluates without error; the metric names the MariaDB/Galera
 * alerts read are the ones the exporter emits; the value mappings hold on real state changes
 * (Synced = 4 and Donor/Desynced on wsrep_desync, Primary = 1 and Disconnected = 0, mysql_up 0
 * when the server stops); and the metrics user can monitor but not read an OpenStack database.
 * Skips, saying why, when a binary or the Galera library is missing
 * (scripts/install-test-tools.sh installs them).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { stringify } from 'yaml';
import { SecretStore } from '../../../state/secret-store.js';
import { render } from '../render.js';
import { parseCloudFile } from '../../../spec/load.js';
import { allObjects } from '../objects.js';
import { alertDefinitions } from './alerts.js';
import { dashboards } from './dashboards.js';
import { rootOverTcp, runJob } from '../../../../test/support/bootstrap-job.js';
import { freePort } from '../../../../test/support/net.js';

const GALERA_LIB = '/usr/lib/galera/libgalera_smm.so';
const EXPORTER = 'prometheus-mysqld-exporter';
const WAIT = 60_000; // generous: a shared 2-core machine

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
function missing(): string | false {
  const gone = ['mariadbd', 'mariadb', 'mariadb-install-db', 'mariadb-admin', EXPORTER, 'prometheus'].filter(
    (c) => !has(c),
  );
  if (!existsSync(GALERA_LIB)) gone.push(GALERA_LIB);
  return gone.length
    ? `missing ${gone.join(', ')}: run scripts/install-test-tools.sh as root (mariadb-server, galera-4, prometheus-mysqld-exporter, prometheus)`
    : false;
}
const skip = missing();

// ---- what osk renders for the `ha` example (3 Galera nodes) -------------------------------------
type Obj = {
  kind: string;
  metadata: { name: string };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};
const cloud = parseCloudFile(readFileSync('examples/ha.yaml', 'utf8'), 'ha');
const { model, groups } = render(cloud, SecretStore.memory(cloud.metadata.name));
const objects = allObjects(groups).map((o) => o as Obj);
const ns = model.ctx.namespace;
const alerts = alertDefinitions(model);
const byName = new Map(alerts.map((a) => [a.alert, a]));
const expr = (alert: string) => byName.get(alert)!.expr;
const find = (kind: string, name: string | RegExp) => {
  const o = objects.find(
    (x) => x.kind === kind && (typeof name === 'string' ? x.metadata.name === name : name.test(x.metadata.name)),
  );
  assert.ok(o, `rendered ${kind} ${name}`);
  return o;
};
const secretValue = (name: string, key: string) =>
  find('Secret', name).stringData?.[key] ?? Buffer.from(find('Secret', name).data![key]!, 'base64').toString();

/** The Job's env as its pod gets it: plain values, and secretKeyRefs read from the rendered Secrets. */
function jobEnv(): Record<string, string> {
  const job = find('Job', /^mysqld-exporter-db-init(-|$)/);
  const env: Record<string, string> = {};
  for (const e of job.spec.template.spec.containers[0].env as {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef: { name: string; key: string } };
  }[]) {
    env[e.name] = e.valueFrom
      ? secretValue(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key)
      : (e.value ?? '');
  }
  return env;
}
/** The exporter's flags from the rendered Deployment, except the two that name in-pod paths and ports. */
function exporterFlags(): string[] {
  const c = find('Deployment', 'mysqld-exporter').spec.template.spec.containers[0];
  return [...(c.command ?? []), ...(c.args ?? [])].filter(
    (a: string) => a.startsWith('--') && !/^--(config\.my-cnf|web\.listen-address)=/.test(a),
  );
}
/** Metric names an expression reads (vector selectors), as lezer-promql parses them. */
function metricNames(e: string): string[] {
  const out: string[] = [];
  parser.parse(e).iterate({
    enter: (n) => {
      const id = n.name === 'VectorSelector' ? n.node.getChild('Identifier') : null;
      if (id) out.push(e.slice(id.from, id.to));
    },
  });
  return out;
}

// ---- processes ------------------------------------------------------------------------------------
let work = ''; // made in before(): a skipped run leaves nothing behind
const procs: ChildProcess[] = [];

/** Start a server with its output in <work>/<name>.log (read back when an assertion fails). */
function start(name: string, cmd: string, args: string[]): ChildProcess {
  const fd = openSync(join(work, `${name}.log`), 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  procs.push(p);
  return p;
}
const log = (name: string) => {
  try {
    return readFileSync(join(work, `${name}.log`), 'utf8')
      .split('\n')
      .slice(-15)
      .join('\n');
  } catch {
    return '';
  }
};
/** SIGTERM by PID and wait; SIGKILL if it has not exited after 30 s. */
async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(timer);
}
/** Poll until `check` returns a value (not undefined); the last reason is in the timeout error. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = WAIT): Promise<T> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() - t0 > ms)
      throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ---- MariaDB ------------------------------------------------------------------------------------
const rootPassword = jobEnv().MARIADB_ROOT_PASSWORD!;
let db: { port: number; sock: string; proc: ChildProcess };

/** SQL as root over the socket; `-N -B` output. */
function sql(statement: string): string {
  return execFileSync('mariadb', ['--no-defaults', `--socket=${db.sock}`, '-uroot', '-N', '-B', '-e', statement], {
    encoding: 'utf8',
    env: { ...process.env, MYSQL_PWD: rootPassword },
  });
}
const status = (name: string) => sql(`SHOW GLOBAL STATUS LIKE '${name}'`).trim().split('\t')[1];

async function galeraNode(): Promise<typeof db> {
  const data = join(work, 'data');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, ...asRoot, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { stdio: 'pipe' },
  );
  const [port, gcomm, ist] = [await freePort(), await freePort(), await freePort()];
  const sock = join(work, 'mysqld.sock');
  const proc = start('mariadbd', 'mariadbd', [
    '--no-defaults',
    `--datadir=${data}`,
    ...asRoot,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${sock}`,
    `--pid-file=${join(work, 'mysqld.pid')}`,
    '--innodb-buffer-pool-size=32M',
    `--log-error=${join(work, 'mariadbd.log')}`,
    // Galera, loopback only; --wsrep-new-cluster bootstraps the one-node Primary component.
    '--wsrep_on=ON',
    `--wsrep_provider=${GALERA_LIB}`,
    '--wsrep_cluster_address=gcomm://',
    '--wsrep_cluster_name=osk-test',
    '--binlog_format=ROW',
    '--innodb_autoinc_lock_mode=2',
    '--wsrep_node_address=127.0.0.1',
    `--wsrep_provider_options=gmcast.listen_addr=tcp://127.0.0.1:${gcomm};ist.recv_addr=127.0.0.1:${ist}`,
    '--wsrep-new-cluster',
  ]);
  await eventually('mariadbd to answer on its socket', async () =>
    spawnSync('mariadb-admin', ['--no-defaults', `--socket=${sock}`, '-uroot', '--connect-timeout=1', 'ping'])
      .status === 0
      ? true
      : undefined,
  );
  rootOverTcp(sock, rootPassword);
  return { port, sock, proc };
}

/** The rendered Job's command and env, pointed at the local server. */
async function dbInit() {
  // MYSQL_TCP_PORT: the mariadb client's port when none is given (the Job uses 3306).
  const r = await runJob(objects, find('Job', /^mysqld-exporter-db-init(-|$)/), {
    DB_HOST: '127.0.0.1',
    MYSQL_TCP_PORT: String(db.port),
  });
  return { status: r.code, out: `${r.stdout}${r.stderr}` };
}

/** The rendered my.cnf with the server's address in [client] (0.14 reads it from there). */
function myCnf(): string {
  const text = secretValue('mysqld-exporter-config-secrets', 'my.cnf');
  assert.match(text, /^\[client\]\n/m);
  const file = join(work, 'my.cnf');
  writeFileSync(file, text.replace(/^\[client\]\n/m, `[client]\nhost = 127.0.0.1\nport = ${db.port}\n`), {
    mode: 0o600,
  });
  return file;
}

// ---- Prometheus ---------------------------------------------------------------------------------
let prom = '';
let exporterUrl = '';

async function api(path: string): Promise<any> {
  const r = await fetch(`${prom}${path}`);
  const j = (await r.json()) as { status: string; data: any; error?: string };
  if (j.status !== 'success') throw new Error(`${path}: ${j.error}`);
  return j.data;
}
type Sample = { metric: Record<string, string>; value: [number, string] };
const query = async (e: string): Promise<Sample[]> =>
  (await api(`/api/v1/query?query=${encodeURIComponent(e)}`)).result;
/** The alert's expression, evaluated now: the series on which it would be active. */
const active = (alert: string) => query(expr(alert));
/** Wait until the expression has (true) or has no (false) series; returns the last result. */
async function untilActive(alert: string, want: boolean): Promise<Sample[]> {
  return eventually(`${alert} (${expr(alert)}) to ${want ? 'return a series' : 'return nothing'}`, async () => {
    const r = await active(alert);
    if (r.length > 0 === want) return r;
    throw new Error(`got ${JSON.stringify(r)}`);
  });
}
/** Wait until the alert is pending or firing in Prometheus; returns it. */
async function untilAlert(
  alert: string,
): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }> {
  return eventually(`alert ${alert} pending or firing`, async () => {
    const a = ((await api('/api/v1/alerts')).alerts as any[]).find((x) => x.labels.alertname === alert);
    return a && ['pending', 'firing'].includes(a.state) ? a : undefined;
  });
}

describe('MariaDB/Galera alerts against a real Galera node, mysqld_exporter and Prometheus', {
  skip,
  timeout: 600_000,
}, () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'osk-exporters-'));
    db = await galeraNode();
  });
  after(async () => {
    for (const p of procs.reverse()) await stop(p);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the node is a one-member Primary, Synced Galera cluster', () => {
    assert.equal(status('wsrep_cluster_status'), 'Primary', log('mariadbd'));
    assert.equal(status('wsrep_local_state_comment'), 'Synced');
    assert.equal(status('wsrep_cluster_size'), '1');
  });

  test('the rendered db-init Job makes the metrics user with monitoring grants only, and a rerun converges', async () => {
    const env = jobEnv();
    assert.equal(env.DB_USER, 'mysqld_exporter');
    for (const run of [1, 2]) {
      const r = await dbInit();
      assert.equal(r.status, 0, `run ${run}: ${r.out}`);
      assert.match(r.out, /^user mysqld_exporter$/m);
    }
    // One GRANT line per object: the privileges on it, nothing else.
    const grants = new Map<string, string>();
    for (const line of sql("SHOW GRANTS FOR 'mysqld_exporter'@'%'").trim().split('\n')) {
      const m = /^GRANT (.+?) ON (\S+) TO /.exec(line);
      assert.ok(m, line);
      grants.set(m[2]!.replaceAll('`', ''), m[1]!);
    }
    assert.deepEqual(Object.fromEntries(grants), {
      '*.*': 'PROCESS, BINLOG MONITOR, SLAVE MONITOR',
      'performance_schema.*': 'SELECT',
    });
    assert.match(sql("SHOW GRANTS FOR 'mysqld_exporter'@'%'"), /MAX_USER_CONNECTIONS 3/);
  });

  test('the rendered my.cnf logs in as the metrics user, which cannot read an OpenStack database', () => {
    sql(
      "CREATE DATABASE IF NOT EXISTS keystone; CREATE TABLE IF NOT EXISTS keystone.credential (id INT PRIMARY KEY, encrypted_blob TEXT); REPLACE INTO keystone.credential VALUES (1, 'secret')",
    );
    const asExporter = (statement: string) =>
      spawnSync('mariadb', [`--defaults-file=${myCnf()}`, '-N', '-B', '-e', statement], { encoding: 'utf8' });
    const who = asExporter('SELECT CURRENT_USER()');
    assert.equal(who.status, 0, who.stderr);
    assert.equal(who.stdout.trim(), 'mysqld_exporter@%');
    const read = asExporter('SELECT * FROM keystone.credential');
    assert.notEqual(read.status, 0, read.stdout);
    assert.match(read.stderr, /ERROR 1142 .*SELECT command denied to user 'mysqld_exporter'/);
    // What the collectors need still works.
    assert.equal(asExporter("SHOW GLOBAL STATUS LIKE 'wsrep_local_state'").stdout.trim(), 'wsrep_local_state\t4');
    assert.ok(
      !asExporter('SHOW DATABASES').stdout.split('\n').includes('keystone'),
      'keystone is invisible to the metrics user',
    );
  });

  test('mysqld_exporter with the rendered my.cnf and flags reports mysql_up 1', async () => {
    const port = await freePort();
    start('exporter', EXPORTER, [
      `--config.my-cnf=${myCnf()}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...exporterFlags(),
    ]);
    exporterUrl = `127.0.0.1:${port}`;
    const text = await eventually('the exporter to read MariaDB', async () => {
      const t = await (await fetch(`http://${exporterUrl}/metrics`)).text();
      return /^mysql_up 1$/m.test(t) ? t : undefined;
    });
    assert.match(text, /^mysql_global_status_wsrep_local_state 4$/m, log('exporter'));
  });

  test('Prometheus loads the rendered rules and evaluates every one without error', async () => {
    const rules = find('PrometheusRule', `osk-${model.ctx.name}-alerts`);
    writeFileSync(join(work, 'rules.yaml'), stringify(rules.spec));
    const port = await freePort();
    // The labels the PodMonitor gives a scrape of mariadb-0: the pod's namespace, the relabelled
    // instance, and the operator's job name <namespace>/<PodMonitor>.
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [join(work, 'rules.yaml')],
      scrape_configs: [
        {
          job_name: `${ns}/mysqld-exporter`,
          static_configs: [
            { targets: [exporterUrl], labels: { namespace: ns, instance: 'mariadb-0', pod: 'mysqld-exporter' } },
          ],
        },
      ],
    };
    writeFileSync(join(work, 'prometheus.yml'), stringify(config));
    start('prometheus', 'prometheus', [
      `--config.file=${join(work, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(work, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    prom = `http://127.0.0.1:${port}`;
    await eventually('Prometheus /-/ready', async () => ((await fetch(`${prom}/-/ready`)).ok ? true : undefined));
    const names = rules.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert as string)) as string[];
    assert.deepEqual(
      names,
      alerts.map((a) => a.alert),
    );
    const loaded = await eventually('every rule evaluated', async () => {
      const got = ((await api('/api/v1/rules')).groups as any[]).flatMap(
        (g) => g.rules as { name: string; health: string; lastError?: string }[],
      );
      const pending = names.filter((n) => got.find((r) => r.name === n)?.health !== 'ok');
      if (pending.length)
        throw new Error(`not (yet) ok: ${pending.join(', ')} ${JSON.stringify(got.filter((r) => r.lastError))}`);
      return got;
    });
    assert.deepEqual(
      loaded.filter((r) => r.lastError).map((r) => `${r.name}: ${r.lastError}`),
      [],
    );
    assert.deepEqual(new Set(loaded.map((r) => r.name)), new Set(names));
  });

  test('every metric the MariaDB/Galera alerts read is one the real exporter emits', async () => {
    const mariadb = alerts.filter((a) => a.group === 'mariadb');
    assert.deepEqual(
      mariadb.map((a) => a.alert),
      ['MariaDBDown', 'GaleraClusterSizeLow', 'GaleraNodeNotSynced', 'GaleraNotPrimary'],
    );
    const metrics = [
      ...new Set(mariadb.flatMap((a) => [...metricNames(a.expr), ...metricNames(a.panel?.expr ?? a.expr)])),
    ];
    for (const m of metrics) {
      const r = await eventually(`${m} scraped`, async () =>
        (await query(`${m}{namespace="${ns}",instance="mariadb-0"}`)).length
          ? query(`${m}{namespace="${ns}"}`)
          : undefined,
      );
      assert.equal(r.length, 1, m);
    }
    // The scrape target itself, as MetricsTargetDown reads it.
    assert.deepEqual(
      (await query(`up{namespace="${ns}"}`)).map((s) => s.value[1]),
      ['1'],
    );
  });

  test('every panel query of every rendered dashboard is valid PromQL to the real Prometheus (what Grafana would send)', async () => {
    const exprs = dashboards(model.ctx.name, ns, alerts).flatMap((d) =>
      ((d.json as { panels?: { title?: string; targets?: { expr?: string }[] }[] }).panels ?? []).flatMap((p) =>
        (p.targets ?? []).map((t) => ({ dashboard: d.name, panel: p.title, expr: t.expr })),
      ),
    );
    assert.ok(exprs.length >= alerts.length, `${exprs.length} panel queries`);
    for (const e of exprs) {
      assert.ok(e.expr, `${e.dashboard} / ${e.panel}: a query`);
      await assert.doesNotReject(query(e.expr!), `${e.dashboard} / ${e.panel}: ${e.expr}`);
    }
  });

  test('healthy node: mysql_up 1, Synced and Primary are quiet, cluster size 1 < 3 is pending with its labels', async () => {
    assert.deepEqual(
      (await query(`mysql_up{namespace="${ns}"}`)).map((s) => s.value[1]),
      ['1'],
    );
    assert.deepEqual(
      (await query(`mysql_global_status_wsrep_cluster_status{namespace="${ns}"}`)).map((s) => s.value[1]),
      ['1'],
      'Primary is exported as 1',
    );
    assert.deepEqual(await untilActive('GaleraNodeNotSynced', false), []);
    assert.deepEqual(await untilActive('GaleraNotPrimary', false), []);
    assert.deepEqual(await untilActive('MariaDBDown', false), []);
    assert.deepEqual(await untilActive('MetricsTargetDown', false), []);
    const [size] = await untilActive('GaleraClusterSizeLow', true);
    assert.equal(size!.value[1], '1');
    const a = await untilAlert('GaleraClusterSizeLow');
    assert.equal(a.labels.instance, 'mariadb-0');
    assert.equal(a.labels.namespace, ns);
    assert.equal(a.labels.severity, 'critical');
    assert.equal(a.annotations.summary, 'Galera node mariadb-0 sees fewer than 3 members');
  });

  test('wsrep_desync=ON makes GaleraNodeNotSynced active (Donor/Desynced), OFF clears it', async () => {
    sql('SET GLOBAL wsrep_desync=ON');
    try {
      assert.equal(status('wsrep_local_state_comment'), 'Donor/Desynced');
      const [s] = await untilActive('GaleraNodeNotSynced', true);
      assert.equal(s!.value[1], '2', 'wsrep_local_state of a desynced node');
      const a = await untilAlert('GaleraNodeNotSynced');
      assert.equal(a.annotations.summary, 'Galera node mariadb-0 is not Synced');
    } finally {
      sql('SET GLOBAL wsrep_desync=OFF');
    }
    assert.deepEqual(await untilActive('GaleraNodeNotSynced', false), []);
  });

  test('a node that leaves the cluster (Disconnected) makes GaleraNotPrimary active; a new bootstrap clears it', async () => {
    // An empty cluster address disconnects the node from the group: wsrep_cluster_status
    // "Disconnected", which the exporter maps to 0 like "non-Primary".
    sql("SET GLOBAL wsrep_cluster_address=''");
    try {
      assert.equal(status('wsrep_cluster_status'), 'Disconnected');
      const [s] = await untilActive('GaleraNotPrimary', true);
      assert.equal(s!.value[1], '0');
      assert.equal(s!.metric.instance, 'mariadb-0');
      assert.equal(
        (await untilAlert('GaleraNotPrimary')).annotations.summary,
        'Galera node mariadb-0 is in a non-Primary component',
      );
      // A disconnected node is not Synced either (wsrep_local_state 0, Initialized).
      assert.equal((await untilActive('GaleraNodeNotSynced', true))[0]!.value[1], '0');
    } finally {
      sql("SET GLOBAL wsrep_cluster_address='gcomm://'");
    }
    assert.deepEqual(await untilActive('GaleraNotPrimary', false), []);
    assert.deepEqual(await untilActive('GaleraNodeNotSynced', false), []);
  });

  test('stopping mariadbd makes MariaDBDown active (mysql_up 0) while the exporter stays up', async () => {
    await stop(db.proc);
    const [s] = await untilActive('MariaDBDown', true);
    assert.equal(s!.value[1], '0');
    assert.equal(s!.metric.instance, 'mariadb-0');
    const a = await untilAlert('MariaDBDown');
    assert.equal(a.annotations.summary, 'MariaDB mariadb-0 does not answer the exporter');
    // The exporter itself still answers: this is MariaDBDown, not MetricsTargetDown.
    assert.deepEqual(await untilActive('MetricsTargetDown', false), []);
  });
});
