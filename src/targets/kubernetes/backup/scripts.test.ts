/**
 * The backup and restore scripts, run for real: retention and checksums on a temp directory of
 * fake sets; OVN against a real 3-member RAFT ovsdb-server cluster on 127.0.0.1 (backup, serve
 * the snapshot, restore into the cluster); MariaDB against a real mariadbd (mariadb-backup,
 * then --prepare/--copy-back into a new data directory that a second server starts from).
 * Server tests skip, saying why, when Debian's ovsdb-server / mariadbd + mariadb-backup are absent.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { backupScripts } from './scripts.js';
import { freePort } from '../../../../test/support/net.js';

const root = mkdtempSync(join(tmpdir(), 'osk-backup-test-'));
const scripts = join(root, 'scripts');
mkdirSync(scripts);
for (const [name, text] of Object.entries(backupScripts())) writeFileSync(join(scripts, name), text, { mode: 0o755 });
const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
});

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Run a script (or sh code with the library sourced) with env; returns status and output. */
function sh(code: string, env: Record<string, string>, opts: { lib?: boolean } = {}) {
  const full = opts.lib === false ? code : `. ${scripts}/lib.sh\n${code}`;
  const r = spawnSync('sh', ['-c', full], {
    env: { PATH: process.env.PATH!, OSK_BACKUP_LIB: `${scripts}/lib.sh`, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}
const run = (script: string, env: Record<string, string>) => sh(`sh ${scripts}/${script}`, env, { lib: false });

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('every script is valid POSIX sh (sh -n)', () => {
  for (const name of Object.keys(backupScripts())) {
    const r = spawnSync('sh', ['-n', join(scripts, name)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
  // sh -n can fail: a broken copy is refused.
  writeFileSync(join(root, 'broken.sh'), backupScripts()['lib.sh']!.replace('fi\n', '\n'));
  assert.notEqual(spawnSync('sh', ['-n', join(root, 'broken.sh')]).status, 0);
});

function fakeSet(bk: string, kind: string, stamp: string, partial = false): string {
  const dir = join(bk, kind, `${stamp}${partial ? '.partial' : ''}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${kind}.gz`), `data of ${stamp}\n`);
  writeFileSync(join(dir, 'info.txt'), `taken=${stamp}\n`);
  return dir;
}

test('retention keeps the newest COPIES sets, drops unfinished ones; LATEST names the newest', () => {
  const bk = join(root, 'retention');
  const stamps = ['20250101T020000Z', '20250102T020000Z', '20250103T020000Z', '20250104T020000Z'];
  for (const s of stamps)
    assert.equal(sh(`osk_seal "${fakeSet(bk, 'mariadb', s, true)}" >/dev/null`, { BACKUP_ROOT: bk }).status, 0);
  assert.equal(readFileSync(join(bk, 'mariadb', 'LATEST'), 'utf8').trim(), stamps[3]);
  fakeSet(bk, 'mariadb', '20250105T020000Z', true); // a run that died half way
  const r = sh('osk_prune mariadb 2 && osk_sets mariadb', { BACKUP_ROOT: bk });
  assert.equal(r.status, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n'), stamps.slice(2), 'the two newest remain');
  assert.deepEqual(
    readdirSync(join(bk, 'mariadb')).sort(),
    [...stamps.slice(2), 'LATEST'].sort(),
    'the oldest and the unfinished set are gone',
  );
  assert.match(r.err, /retention: removing mariadb\/20250101T020000Z/);
  // Fewer sets than COPIES: nothing goes.
  assert.equal(sh('osk_prune mariadb 5 && osk_sets mariadb | wc -l', { BACKUP_ROOT: bk }).out.trim(), '2');
  // Selection: latest, a prefix, and a bad selector.
  assert.equal(sh('osk_select mariadb latest', { BACKUP_ROOT: bk }).out.trim(), stamps[3]);
  assert.equal(sh('osk_select mariadb 20250103', { BACKUP_ROOT: bk }).out.trim(), stamps[2]);
  assert.notEqual(sh('osk_select mariadb 20240101', { BACKUP_ROOT: bk }).status, 0);
  assert.notEqual(sh("osk_select mariadb '.*'", { BACKUP_ROOT: bk }).status, 0);
});

test('checksums: every kept set verifies; a flipped byte, a missing or an unlisted file is detected and named', () => {
  const bk = join(root, 'checksums');
  const sets = ['20250201T020000Z', '20250202T020000Z', '20250203T020000Z'].map((s) => {
    assert.equal(sh(`osk_seal "${fakeSet(bk, 'ovn', s, true)}" >/dev/null`, { BACKUP_ROOT: bk }).status, 0);
    return join(bk, 'ovn', s);
  });
  const manifest = readFileSync(join(sets[0]!, 'SHA256SUMS'), 'utf8');
  assert.match(manifest, /^[0-9a-f]{64} {2}info\.txt\n[0-9a-f]{64} {2}ovn\.gz\n$/);
  const ok = sh('osk_verify ovn', { BACKUP_ROOT: bk });
  assert.equal(ok.status, 0, ok.err);
  assert.match(ok.err, /verified 3 ovn sets/);
  // One byte changed in the middle set.
  const f = join(sets[1]!, 'ovn.gz');
  const bytes = readFileSync(f);
  bytes[0] = bytes[0]! ^ 1;
  writeFileSync(f, bytes);
  const bad = sh('osk_verify ovn', { BACKUP_ROOT: bk });
  assert.notEqual(bad.status, 0);
  assert.match(bad.err, /CORRUPT: ovn\/20250202T020000Z/);
  assert.match(bad.err, /1 of 3 ovn sets are corrupt/);
  assert.doesNotMatch(bad.err, /CORRUPT: ovn\/2025020[13]/);
  // A missing file and an unlisted file also fail.
  rmSync(join(sets[2]!, 'info.txt'));
  writeFileSync(join(sets[0]!, 'extra'), 'x');
  const worse = sh('osk_verify ovn', { BACKUP_ROOT: bk });
  assert.match(worse.err, /3 of 3 ovn sets are corrupt/);
  // verify-sets.sh (the restore's first check) refuses a corrupt set.
  const v = run('verify-sets.sh', { BACKUP_ROOT: bk, KINDS: 'ovn', SELECTOR: '20250202' });
  assert.notEqual(v.status, 0);
  assert.match(v.err, /ovn\/20250202T020000Z does not match its SHA256SUMS/);
});

const OVN = ['ovsdb-server', 'ovsdb-tool', 'ovsdb-client'].every(has) && existsSync('/usr/share/ovn/ovn-nb.ovsschema');

async function ovnCluster(dir: string, schema: string, name: string, members: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const raft = await Promise.all(Array.from({ length: members }, () => freePort()));
  const client = await Promise.all(Array.from({ length: members }, () => freePort()));
  execFileSync('ovsdb-tool', ['create-cluster', join(dir, 'db0.db'), schema, `tcp:127.0.0.1:${raft[0]}`], {
    stdio: 'pipe',
  });
  for (let i = 1; i < members; i++)
    execFileSync(
      'ovsdb-tool',
      ['join-cluster', join(dir, `db${i}.db`), name, `tcp:127.0.0.1:${raft[i]}`, `tcp:127.0.0.1:${raft[0]}`],
      { stdio: 'pipe' },
    );
  for (let i = 0; i < members; i++) {
    const p = spawn(
      'ovsdb-server',
      [
        '--no-chdir',
        `--unixctl=${join(dir, `s${i}.ctl`)}`,
        `--remote=ptcp:${client[i]}:127.0.0.1`,
        `--log-file=${join(dir, `s${i}.log`)}`,
        '-vconsole:off',
        join(dir, `db${i}.db`),
      ],
      { stdio: 'ignore' },
    );
    procs.push(p);
  }
  const remotes = client.map((p) => `tcp:127.0.0.1:${p}`).join(',');
  // Ready when the cluster has a leader that answers a transaction.
  await until(`${name} cluster`, () => spawnSync('ovsdb-client', ['--timeout=2', 'list-dbs', remotes]).status === 0);
  return remotes;
}
function ovsdb(args: string[], input?: string): string {
  return execFileSync('ovsdb-client', ['--timeout=20', ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
}
const switches = (remotes: string) =>
  JSON.parse(
    ovsdb([
      'transact',
      remotes,
      JSON.stringify(['OVN_Northbound', { op: 'select', table: 'Logical_Switch', where: [], columns: ['name'] }]),
    ]),
  )[0]
    .rows.map((r: { name: string }) => r.name)
    .sort();

test('OVN: backup of a 3-member RAFT cluster finds the leader, restores into the cluster and serves standalone', {
  skip: OVN
    ? false
    : 'ovsdb-server/ovsdb-tool/ovsdb-client or /usr/share/ovn schemas missing (apt-get install ovn-central)',
  timeout: 120_000,
}, async () => {
  const dir = join(root, 'ovn');
  const nb = await ovnCluster(join(dir, 'nb'), '/usr/share/ovn/ovn-nb.ovsschema', 'OVN_Northbound', 3);
  const sb = await ovnCluster(join(dir, 'sb'), '/usr/share/ovn/ovn-sb.ovsschema', 'OVN_Southbound', 1);
  for (const n of ['net-a', 'net-b'])
    ovsdb([
      'transact',
      nb,
      JSON.stringify(['OVN_Northbound', { op: 'insert', table: 'Logical_Switch', row: { name: n } }]),
    ]);
  await until('the followers to have the rows', () => switches(nb).length === 2);
  const bk = join(dir, 'backups');
  const r = run('ovn-backup.sh', { BACKUP_ROOT: bk, OVN_NB_REMOTES: nb, OVN_SB_REMOTES: sb, COPIES: '2' });
  assert.equal(r.status, 0, r.err);
  const [stamp] = readdirSync(join(bk, 'ovn')).filter((s) => /Z$/.test(s));
  const set = join(bk, 'ovn', stamp!);
  assert.deepEqual(readdirSync(set).sort(), ['SHA256SUMS', 'info.txt', 'ovnnb_db.db.gz', 'ovnsb_db.db.gz']);
  assert.match(
    readFileSync(join(set, 'info.txt'), 'utf8'),
    /^OVN_Northbound schema \d+\.\d+\.\d+\nOVN_Southbound schema/,
  );
  // The snapshot is a standalone database: ovsdb-tool reads it and ovsdb-server serves it.
  execFileSync('sh', ['-c', `gzip -dc ${set}/ovnnb_db.db.gz > ${dir}/nb-snapshot.db`]);
  assert.equal(
    execFileSync('ovsdb-tool', ['db-name', `${dir}/nb-snapshot.db`], { encoding: 'utf8' }).trim(),
    'OVN_Northbound',
  );
  const q = execFileSync(
    'ovsdb-tool',
    [
      'query',
      `${dir}/nb-snapshot.db`,
      JSON.stringify(['OVN_Northbound', { op: 'select', table: 'Logical_Switch', where: [], columns: ['name'] }]),
    ],
    { encoding: 'utf8' },
  );
  assert.deepEqual(
    JSON.parse(q)[0]
      .rows.map((x: { name: string }) => x.name)
      .sort(),
    ['net-a', 'net-b'],
  );
  const port = await freePort();
  procs.push(
    spawn(
      'ovsdb-server',
      [
        '--no-chdir',
        `--unixctl=${dir}/snap.ctl`,
        `--remote=ptcp:${port}:127.0.0.1`,
        '-vconsole:off',
        `${dir}/nb-snapshot.db`,
      ],
      { stdio: 'ignore' },
    ),
  );
  await until(
    'the snapshot server',
    () => spawnSync('ovsdb-client', ['--timeout=2', 'list-dbs', `tcp:127.0.0.1:${port}`]).status === 0,
  );
  assert.deepEqual(switches(`tcp:127.0.0.1:${port}`), ['net-a', 'net-b']);
  // Damage the cluster, then restore the set into it.
  ovsdb([
    'transact',
    nb,
    JSON.stringify([
      'OVN_Northbound',
      { op: 'delete', table: 'Logical_Switch', where: [['name', '==', 'net-a']] },
      { op: 'insert', table: 'Logical_Switch', row: { name: 'net-x' } },
    ]),
  ]);
  assert.deepEqual(switches(nb), ['net-b', 'net-x']);
  const rr = run('ovn-restore.sh', { BACKUP_ROOT: bk, SELECTOR: 'latest', OVN_NB_REMOTES: nb, OVN_SB_REMOTES: sb });
  assert.equal(rr.status, 0, rr.err);
  assert.deepEqual(switches(nb), ['net-a', 'net-b']);
  // A server that does not answer fails the backup and leaves no set behind.
  const dead = await freePort();
  const f = run('ovn-backup.sh', {
    BACKUP_ROOT: bk,
    OVN_NB_REMOTES: `tcp:127.0.0.1:${dead}`,
    OVN_SB_REMOTES: sb,
    COPIES: '2',
    OVSDB_TIMEOUT: '3',
  });
  assert.notEqual(f.status, 0);
  assert.deepEqual(
    readdirSync(join(bk, 'ovn')).filter((s) => /Z$/.test(s)),
    [stamp],
    'only the sealed set; the failed one stays .partial until pruned',
  );
});

const MARIADB = ['mariadbd', 'mariadb', 'mariadb-install-db', 'mariadb-backup', 'mbstream'].every(has);

async function mariadbd(dir: string, datadir: string): Promise<{ port: number; sock: string; proc: ChildProcess }> {
  const port = await freePort();
  const sock = join(dir, `mysqld-${port}.sock`);
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const proc = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      ...asRoot,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${sock}`,
      `--pid-file=${join(dir, `${port}.pid`)}`,
      '--innodb-buffer-pool-size=32M',
      `--log-error=${join(dir, `${port}.err`)}`,
    ],
    { stdio: 'ignore' },
  );
  procs.push(proc);
  await until(
    'mariadbd',
    () =>
      spawnSync('mariadb-admin', ['--no-defaults', `--socket=${sock}`, '-uroot', '--connect-timeout=1', 'ping'], {
        env: { ...process.env, MYSQL_PWD: 'Pw-0rd7' },
      }).status === 0 ||
      spawnSync('mariadb-admin', ['--no-defaults', `--socket=${sock}`, '-uroot', '--connect-timeout=1', 'ping'])
        .status === 0,
  );
  return { port, sock, proc };
}
const mysql = (sock: string, sql: string, password?: string) =>
  execFileSync('mariadb', ['--no-defaults', `--socket=${sock}`, '-uroot', '-N', '-B', '-e', sql], {
    encoding: 'utf8',
    env: { ...process.env, ...(password ? { MYSQL_PWD: password } : {}) },
  });
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await done;
}

test('MariaDB: mariadb-backup over TCP with the password from env, then --prepare/--copy-back restores the data', {
  skip: MARIADB ? false : 'mariadbd/mariadb-backup missing (apt-get install mariadb-server mariadb-backup)',
  timeout: 240_000,
}, async () => {
  const dir = join(root, 'mariadb');
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { stdio: 'pipe' },
  );
  const a = await mariadbd(dir, data);
  const pw = 'Pw-0rd7';
  mysql(
    a.sock,
    `SET PASSWORD FOR root@localhost = PASSWORD('${pw}'); SET PASSWORD FOR root@'127.0.0.1' = PASSWORD('${pw}'); FLUSH PRIVILEGES;`,
  );
  mysql(
    a.sock,
    "CREATE DATABASE keystone; CREATE TABLE keystone.project (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB; INSERT INTO keystone.project VALUES (1, 'admin'), (2, 'demo');",
    pw,
  );
  const bk = join(dir, 'backups');
  const env = {
    BACKUP_ROOT: bk,
    MARIADB_HOST: '127.0.0.1',
    MARIADB_PORT: String(a.port),
    MARIADB_ROOT_PASSWORD: pw,
    COPIES: '2',
    DATADIR: data,
  };
  // A wrong password fails, and no set is made.
  const wrong = run('mariadb-backup.sh', { ...env, MARIADB_ROOT_PASSWORD: 'nope' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.err, /cannot connect to 127\.0\.0\.1/);
  const r = run('mariadb-backup.sh', env);
  assert.equal(r.status, 0, r.err);
  assert.match(r.err, /verified 1 mariadb sets/);
  const stamp = readFileSync(join(bk, 'mariadb', 'LATEST'), 'utf8').trim();
  assert.deepEqual(readdirSync(join(bk, 'mariadb', stamp)).sort(), ['SHA256SUMS', 'info.txt', 'mariadb.xbstream.gz']);
  mysql(a.sock, "INSERT INTO keystone.project VALUES (3, 'after the backup');", pw);
  await stop(a.proc);
  // Restore into a data directory that has other content (it is emptied first).
  const restored = join(dir, 'restored');
  mkdirSync(restored);
  writeFileSync(join(restored, 'grastate.dat'), 'safe_to_bootstrap: 0\n');
  const rr = run('mariadb-restore.sh', {
    BACKUP_ROOT: bk,
    SELECTOR: 'latest',
    DATADIR: restored,
    WORK: join(dir, 'work'),
  });
  assert.equal(rr.status, 0, rr.err);
  assert.ok(!existsSync(join(restored, 'grastate.dat')), 'the Galera state is removed: the node bootstraps');
  const b = await mariadbd(dir, restored);
  assert.equal(mysql(b.sock, 'SELECT id, name FROM keystone.project ORDER BY id', pw), '1\tadmin\n2\tdemo\n');
  await stop(b.proc);
  // A corrupted set is refused before the data directory is touched.
  const gz = join(bk, 'mariadb', stamp, 'mariadb.xbstream.gz');
  const bytes = readFileSync(gz);
  bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
  writeFileSync(gz, bytes);
  const before = readdirSync(restored).sort();
  const bad = run('mariadb-restore.sh', {
    BACKUP_ROOT: bk,
    SELECTOR: 'latest',
    DATADIR: restored,
    WORK: join(dir, 'work'),
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.err, /does not match its SHA256SUMS; refusing to restore it/);
  assert.deepEqual(readdirSync(restored).sort(), before);
});

const S3 = ['moto_server', 'aws'].every(has);

test('offsite: upload the newest set to an S3 API, check it landed, download it back verified', {
  skip: S3 ? false : 'moto_server (pip install moto[server]) and the aws CLI are needed for a local S3 API',
  timeout: 120_000,
}, async () => {
  const dir = join(root, 's3');
  const bk = join(dir, 'local');
  assert.equal(
    sh(
      `osk_seal "${fakeSet(bk, 'mariadb', '20250301T020000Z', true)}" >/dev/null && osk_seal "${fakeSet(bk, 'mariadb', '20250302T020000Z', true)}" >/dev/null`,
      { BACKUP_ROOT: bk },
    ).status,
    0,
  );
  const port = await freePort();
  procs.push(spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }));
  const endpoint = `http://127.0.0.1:${port}`;
  const creds = {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    HOME: dir,
  };
  await until(
    'moto_server',
    () =>
      spawnSync('aws', ['--endpoint-url', endpoint, 's3', 'mb', 's3://osk'], { env: { ...process.env, ...creds } })
        .status === 0,
  );
  const env = { ...creds, KIND: 'mariadb', OFFSITE_URL: 's3://osk/prod/demo', S3_ENDPOINT: endpoint, BACKUP_ROOT: bk };
  const up = run('offsite-upload.sh', env);
  assert.equal(up.status, 0, up.err);
  assert.match(up.err, /offsite copy of mariadb\/20250302T020000Z complete \(3 files\)/);
  const ls = execFileSync('aws', ['--endpoint-url', endpoint, 's3', 'ls', '--recursive', 's3://osk/prod/demo/'], {
    encoding: 'utf8',
    env: { ...process.env, ...creds },
  });
  assert.deepEqual(
    ls
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).at(-1))
      .sort(),
    [
      'prod/demo/mariadb/20250302T020000Z/SHA256SUMS',
      'prod/demo/mariadb/20250302T020000Z/info.txt',
      'prod/demo/mariadb/20250302T020000Z/mariadb.gz',
    ],
  );
  // Without credentials the upload refuses to start.
  assert.notEqual(run('offsite-upload.sh', { ...env, AWS_ACCESS_KEY_ID: '' }).status, 0);
  // Fetch into an empty claim: the set comes back and verifies.
  const restored = join(dir, 'restored');
  const down = run('offsite-fetch.sh', {
    ...creds,
    KINDS: 'mariadb',
    SELECTOR: 'latest',
    OFFSITE_URL: 's3://osk/prod/demo',
    S3_ENDPOINT: endpoint,
    BACKUP_ROOT: restored,
  });
  assert.equal(down.status, 0, down.err);
  assert.equal(
    readFileSync(join(restored, 'mariadb', '20250302T020000Z', 'mariadb.gz'), 'utf8'),
    'data of 20250302T020000Z\n',
  );
  assert.equal(sh('osk_verify mariadb', { BACKUP_ROOT: restored }).status, 0);
  // A corrupted offsite object is caught by the fetch.
  writeFileSync(join(dir, 'evil'), 'tampered\n');
  execFileSync(
    'aws',
    [
      '--endpoint-url',
      endpoint,
      's3',
      'cp',
      join(dir, 'evil'),
      's3://osk/prod/demo/mariadb/20250302T020000Z/mariadb.gz',
    ],
    { env: { ...process.env, ...creds }, stdio: 'pipe' },
  );
  const again = run('offsite-fetch.sh', {
    ...creds,
    KINDS: 'mariadb',
    SELECTOR: '20250302',
    OFFSITE_URL: 's3://osk/prod/demo',
    S3_ENDPOINT: endpoint,
    BACKUP_ROOT: join(dir, 'again'),
  });
  assert.notEqual(again.status, 0);
  assert.match(again.err, /does not match its manifest/);
  // A selector that is not a stamp never reaches grep as a pattern: refused before any download.
  for (const selector of ['.*', '2025|x', '[0-9]']) {
    const root = join(dir, 'refused');
    const bad = run('offsite-fetch.sh', {
      ...creds,
      KINDS: 'mariadb',
      SELECTOR: selector,
      OFFSITE_URL: 's3://osk/prod/demo',
      S3_ENDPOINT: endpoint,
      BACKUP_ROOT: root,
    });
    assert.notEqual(bad.status, 0, selector);
    assert.match(bad.err, /a backup selector is 'latest' or a set stamp/, selector);
    assert.ok(!existsSync(root), `${selector}: nothing was written`);
  }
});
