import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Command } from '@commander-js/extra-typings';
import { parse, parseAllDocuments } from 'yaml';
import type { Io } from './io.js';
import { buildCli, main } from './main.js';
import { scratchDir } from '../../test/support/scratch.js';

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin: async () => stdin };
  const code = await main(args, io);
  return { code, out, err };
}

async function stateDir(): Promise<string> {
  const d = await scratchDir('osk-cli-');
  process.env.OSK_STATE_DIR = d;
  return d;
}

test('validate: exit 0 for the examples, 2 with every problem and no stack trace for a bad file', async () => {
  assert.equal((await run(['validate', '-f', 'examples/ha.yaml'])).code, 0);
  const bad = await run(
    ['validate', '-f', '-'],
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: x}\nspec: {profile: big, regoin: R}\n',
  );
  assert.equal(bad.code, 2);
  assert.match(bad.err, /<stdin>:4:17: spec.profile: expected one of "minimal", "ha", found "big"/);
  assert.match(bad.err, /unknown field "regoin"; did you mean "region"\?/);
  assert.doesNotMatch(bad.err, /at .*\.ts:\d+/);
});

test('validate reads a KubernetesCluster by its kind, with its own schema and located problems', async () => {
  const ok = await run(['validate', '-f', 'examples/cluster.yaml', '-o', 'json']);
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(JSON.parse(ok.out), {
    valid: true,
    kind: 'KubernetesCluster',
    cluster: 'demo',
    nodes: '1 control-plane + 2 worker nodes',
    problems: [],
  });
  const text = readFileSync('examples/cluster.yaml', 'utf8').replace('mtu: 1442', 'mtu: 1442\n    cidr2: x');
  const bad = await run(['validate', '-f', '-'], text);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /<stdin>:\d+:5: spec\.network\.cidr2: unknown field "cidr2"/);
});

test('a missing file or flag is bad input (exit 2)', async () => {
  const missing = await run(['plan', '-f', 'nope.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /-f nope.yaml does not exist; expected a file/);
  assert.equal((await run(['plan'])).code, 2);
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.equal((await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'xml'])).code, 2);
});

test('plan: waves with reasons as text, and the same as JSON', async () => {
  const text = await run(['plan', '-f', 'examples/minimal.yaml']);
  assert.equal(text.code, 0);
  assert.match(text.out, /Wave 1:\n/);
  assert.match(
    text.out,
    /keystone-api \(Deployment ×1\)\n(.*\n)*? {4}waits for mariadb: keystone.conf \[database\] connection/,
  );
  const json = JSON.parse((await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'json'])).out);
  assert.equal(json.cloud, 'demo');
  const ids = json.waves.flatMap((w: any) => w.components.map((c: any) => c.id));
  assert.ok(ids.includes('nova-compute') && ids.includes('horizon'));
});

test('render: multi-document YAML without Secrets unless asked, credentials stable across runs', async () => {
  await stateDir();
  const a = await run(['render', '-f', 'examples/minimal.yaml']);
  assert.equal(a.code, 0, a.err);
  const docs = parseAllDocuments(a.out).map((d) => d.toJS());
  assert.ok(docs.length > 100);
  assert.ok(!docs.some((d) => d.kind === 'Secret'));
  assert.match(a.err, /left out \d+ Secrets/);
  assert.equal(docs[0].kind, 'Namespace');
  const b = await run(['render', '-f', 'examples/minimal.yaml']);
  assert.equal(a.out, b.out, 're-render is byte-identical');
  const withSecrets = await run(['render', '-f', 'examples/minimal.yaml', '--show-secrets']);
  const secrets = parseAllDocuments(withSecrets.out)
    .map((d) => d.toJS())
    .filter((d) => d.kind === 'Secret');
  assert.ok(secrets.some((s) => s.metadata.name === 'mariadb-root' && s.stringData.password.length === 32));
  const again = parseAllDocuments((await run(['render', '-f', 'examples/minimal.yaml', '--show-secrets'])).out)
    .map((d) => d.toJS())
    .filter((d) => d.kind === 'Secret');
  assert.deepEqual(again, secrets, 'credentials are not rotated by re-rendering');
});

test('render --output-dir DIR: one file per component in apply order', async () => {
  await stateDir();
  const dir = await scratchDir('osk-render-');
  const r = await run(['render', '-f', 'examples/ha.yaml', '--output-dir', dir]);
  assert.equal(r.code, 0, r.err);
  const files = (await readdir(dir)).filter((f) => f !== '.osk-render').sort();
  assert.equal(files[0], '000-namespace.yaml');
  assert.ok(!files.some((f) => f.includes('secrets')), 'no Secret file without --show-secrets');
  const order = files.map((f) => f.replace(/^\d+-|\.yaml$/g, ''));
  assert.ok(order.indexOf('mariadb') < order.indexOf('keystone-api'));
  assert.ok(order.indexOf('keystone-api') < order.indexOf('nova-api'));
  assert.ok(order.indexOf('nova-api') < order.indexOf('horizon'));
  const keystone = parseAllDocuments(
    await readFile(join(dir, files.find((f) => f.endsWith('-keystone-api.yaml'))!), 'utf8'),
  ).map((d) => d.toJS());
  assert.deepEqual(keystone.map((d) => d.kind).sort(), [
    'Deployment',
    'Ingress',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Service',
  ]);
});

test('schema: a JSON Schema editors can use', async () => {
  const r = await run(['schema']);
  const s = JSON.parse(r.out);
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.ok(s.properties.spec.properties.infra.properties.mariadb.properties.innodbBufferPoolSize);
  assert.equal(s.properties.spec.additionalProperties, false);
});

// The tests below run the built CLI (bin/osk.js → dist/) where the process matters: a closed
// stdout, another user's permissions. Build first: npm run build.
const BIN = join(process.cwd(), 'bin', 'osk.js');

interface Spawned {
  code: number | null;
  out: string;
  err: string;
}

function osk(
  args: string[],
  opts: { env?: Record<string, string>; uid?: number; closeStdoutAfterFirstChunk?: boolean } = {},
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Like `| head -1`: the reader goes away after its first chunk, with osk still writing.
      if (opts.closeStdoutAfterFirstChunk) p.stdout.destroy();
    });
    p.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A stack trace line ("    at fn (file:1:2)"): never shown to a user. */
const STACK = /^\s+at .*[:(]/m;

test('render -o is a format: yaml (default) or a JSON List; -o DIR points at --output-dir', async () => {
  await stateDir();
  const yaml = await run(['render', '-f', 'examples/minimal.yaml', '-o', 'yaml']);
  assert.equal(yaml.code, 0, yaml.err);
  const docs = parseAllDocuments(yaml.out).map((d) => d.toJS());
  const json = await run(['render', '-f', 'examples/minimal.yaml', '-o', 'json']);
  assert.equal(json.code, 0, json.err);
  const list = JSON.parse(json.out);
  assert.equal(list.kind, 'List');
  assert.deepEqual(list.items, docs, 'the same objects in the same order');

  const dir = await run(['render', '-f', 'examples/minimal.yaml', '-o', 'out/']);
  assert.equal(dir.code, 2);
  assert.match(dir.err, /use --output-dir out\//);
  assert.equal(dir.out, '');
  const xml = await run(['render', '-f', 'examples/minimal.yaml', '-o', 'xml']);
  assert.equal(xml.code, 2);
  assert.match(xml.err, /yaml and json/);
  const planXml = await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'xml']);
  assert.equal(planXml.code, 2);
  assert.match(planXml.err, /text, json, yaml/);
});

test('render --output-dir never deletes or overwrites a file osk did not write', async () => {
  await stateDir();
  // A directory of the user's: refused, naming what is there; the file survives untouched.
  const users = await scratchDir('osk-users-');
  await writeFile(join(users, 'kustomization.yaml'), 'resources: []\n');
  const refused = await run(['render', '-f', 'examples/minimal.yaml', '--output-dir', users]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /not empty .*kustomization\.yaml/);
  assert.doesNotMatch(refused.err, STACK);
  assert.deepEqual(await readdir(users), ['kustomization.yaml']);
  assert.equal(await readFile(join(users, 'kustomization.yaml'), 'utf8'), 'resources: []\n');

  // An osk-written directory: the next render replaces exactly the files osk listed, and a file
  // the user added beside them survives.
  const dir = join(await scratchDir('osk-out-'), 'deploy');
  assert.equal((await run(['render', '-f', 'examples/ha.yaml', '--output-dir', dir])).code, 0);
  const first = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  await writeFile(join(dir, 'kustomization.yaml'), 'mine\n');
  await writeFile(join(dir, 'README'), 'notes\n');
  const second = await run(['render', '-f', 'examples/minimal.yaml', '--output-dir', dir, '--show-secrets']);
  assert.equal(second.code, 0, second.err);
  const secretsFile = (await readdir(dir)).find((f) => f.endsWith('-secrets.yaml'))!;
  assert.equal(
    (await stat(join(dir, secretsFile))).mode & 0o777,
    0o600,
    'credentials are readable by their owner only',
  );
  const after = await readdir(dir);
  assert.equal(await readFile(join(dir, 'kustomization.yaml'), 'utf8'), 'mine\n');
  assert.equal(await readFile(join(dir, 'README'), 'utf8'), 'notes\n');
  const marker = (await readFile(join(dir, '.osk-render'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  const rendered = after.filter((f) => /^\d+-.*\.yaml$/.test(f)).sort();
  assert.deepEqual(marker, rendered, 'the marker lists exactly the files of the last render');
  assert.ok(
    first.some((f) => !rendered.includes(f)),
    'the ha render had files the minimal one does not write',
  );
  assert.match(second.err, /removed \d+ files of the earlier render/);
  const ns = parseAllDocuments(await readFile(join(dir, '000-namespace.yaml'), 'utf8')).map((d) => d.toJS());
  assert.equal(ns[0].kind, 'Namespace');

  // A file of the user's with the name of a file osk is about to write is in the way, not replaced.
  const clash = await scratchDir('osk-clash-');
  await writeFile(join(clash, '.osk-render'), '# Written by osk render.\n');
  await writeFile(join(clash, '000-namespace.yaml'), 'my own namespace\n');
  const inTheWay = await run(['render', '-f', 'examples/minimal.yaml', '--output-dir', clash]);
  assert.equal(inTheWay.code, 2);
  assert.match(inTheWay.err, /000-namespace\.yaml is in the way/);
  assert.equal(await readFile(join(clash, '000-namespace.yaml'), 'utf8'), 'my own namespace\n');

  // A marker edited to point outside the directory deletes nothing.
  await writeFile(join(dir, '.osk-render'), '../kustomization.yaml\n');
  const edited = await run(['render', '-f', 'examples/minimal.yaml', '--output-dir', dir]);
  assert.equal(edited.code, 2);
  assert.match(edited.err, /never writes/);

  // --output-dir naming a file, or a path below a file.
  const file = join(clash, '000-namespace.yaml');
  const onFile = await run(['render', '-f', 'examples/minimal.yaml', '--output-dir', file]);
  assert.equal(onFile.code, 2);
  assert.match(onFile.err, /--output-dir .*000-namespace\.yaml is a file; expected a directory/);
  assert.doesNotMatch(onFile.err, STACK);
  const below = await run(['render', '-f', 'examples/minimal.yaml', '--output-dir', join(file, 'x')]);
  assert.equal(below.code, 2);
  assert.match(below.err, /000-namespace\.yaml is a file, not a directory/);
});

test('osk render | head -1: a reader that leaves early ends osk quietly with exit 0', async () => {
  const state = await scratchDir('osk-pipe-');
  const r = await osk(['render', '-f', 'examples/ha.yaml', '--show-secrets'], {
    env: { OSK_STATE_DIR: state },
    closeStdoutAfterFirstChunk: true,
  });
  assert.ok(r.out.startsWith('---\n'), 'osk wrote before the reader left');
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.err, /EPIPE/);
  assert.doesNotMatch(r.err, STACK);
});

test('a path of the wrong kind (file for directory, directory for file, below a file) is exit 2 naming the flag', async () => {
  const base = await scratchDir('osk-paths-');
  const aFile = join(base, 'a-file');
  await writeFile(aFile, 'x');
  await mkdir(join(base, 'local', 'demo', 'cloud.yaml'), { recursive: true });
  await mkdir(join(base, 'cloud-is-file'));
  await writeFile(join(base, 'cloud-is-file', 'demo'), 'x');
  await mkdir(join(base, 'store-is-dir', 'demo', 'secrets.yaml'), { recursive: true });
  const cases: { args: string[]; env?: string; expect: RegExp }[] = [
    {
      args: ['render', '-f', 'examples/minimal.yaml'],
      env: aFile,
      expect: /OSK_STATE_DIR .*a-file is a file; expected a directory/,
    },
    {
      args: ['render', '-f', 'examples/minimal.yaml'],
      env: join(aFile, 'state'),
      expect: /OSK_STATE_DIR .*a-file is a file, not a directory/,
    },
    { args: ['status'], env: aFile, expect: /OSK_STATE_DIR .*a-file is a file; expected a directory/ },
    {
      args: ['status'],
      env: join(base, 'local'),
      expect: /the cloud file of cloud demo .*local\/demo\/cloud\.yaml is a directory; expected a file/,
    },
    {
      args: ['backup', '--cloud', 'demo'],
      env: join(base, 'local'),
      expect: /the cloud file of cloud demo .* is a directory; expected a file/,
    },
    // The cloud's own directory in the state dir, known only once the cloud file is read.
    {
      args: ['render', '-f', 'examples/minimal.yaml'],
      env: join(base, 'cloud-is-file'),
      expect: /the secret store .*cloud-is-file\/demo is a file, not a directory/,
    },
    {
      args: ['diff', '-f', 'examples/minimal.yaml'],
      env: join(base, 'store-is-dir'),
      expect: /the secret store .*store-is-dir\/demo\/secrets\.yaml is a directory; expected a file/,
    },
    {
      args: ['render', '-f', 'examples/minimal.yaml', '--secrets-file', base],
      expect: /--secrets-file .* is a directory; expected a file/,
    },
    {
      args: ['render', '-f', 'examples/minimal.yaml', '--secrets-file', join(aFile, 'secrets.yaml')],
      expect: /--secrets-file .*a-file is a file, not a directory/,
    },
    {
      args: ['diff', '-f', 'examples/minimal.yaml', '--kubeconfig', base],
      expect: /--kubeconfig .* is a directory; expected a file/,
    },
    {
      args: ['status', '-f', 'examples/minimal.yaml', '--kubeconfig', join(base, 'nope')],
      expect: /--kubeconfig .*nope does not exist; expected a file/,
    },
    { args: ['validate', '-f', base], expect: /-f .* is a directory; expected a file/ },
    { args: ['plan', '-f', join(aFile, 'cloud.yaml')], expect: /-f .*a-file is a file, not a directory/ },
  ];
  for (const c of cases) {
    process.env.OSK_STATE_DIR = c.env ?? join(base, 'state');
    const r = await run(c.args);
    assert.equal(r.code, 2, `${c.args.join(' ')}: ${r.err}`);
    assert.match(r.err, c.expect, c.args.join(' '));
    assert.doesNotMatch(r.err, STACK);
    assert.doesNotMatch(r.err, /E(NOTDIR|ISDIR|NOENT):/, 'no raw Node error');
  }
  const kubeconfig = process.env.KUBECONFIG;
  process.env.KUBECONFIG = `${join(base, 'missing')}:${base}`;
  try {
    const r = await run(['diff', '-f', 'examples/minimal.yaml']);
    assert.equal(r.code, 2);
    assert.match(r.err, /KUBECONFIG .* is a directory; expected a file/);
  } finally {
    if (kubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfig;
  }
});

test('permission denied on -f, --secrets-file, the state dir and --output-dir is exit 2 naming the path', async (t) => {
  // root reads any file: run the CLI as nobody then (uid 65534), else as ourselves.
  const asRoot = process.getuid?.() === 0;
  const base = await scratchDir('osk-eacces-');
  await chmod(base, 0o755);
  const secret = join(base, 'secrets.yaml');
  await writeFile(secret, 'kind: SecretStore\n', { mode: 0o600 });
  await chmod(secret, 0o000);
  const cloud = join(base, 'cloud.yaml');
  await writeFile(cloud, await readFile('examples/minimal.yaml'));
  await chmod(cloud, 0o000);
  const closed = join(base, 'closed');
  await mkdir(closed, { mode: 0o755 });
  const writable = join(base, 'state');
  await mkdir(writable, { mode: 0o777 });
  await chmod(writable, 0o777);
  const env = { OSK_STATE_DIR: writable, HOME: writable };
  const as = asRoot ? { uid: 65534 } : {};
  if (!asRoot) t.diagnostic('not root: permissions checked as the current user');
  const cases: { args: string[]; env?: Record<string, string>; expect: RegExp }[] = [
    {
      args: ['render', '-f', 'examples/minimal.yaml', '--secrets-file', secret],
      expect: /--secrets-file .*secrets\.yaml: permission denied/,
    },
    { args: ['validate', '-f', cloud], expect: /-f .*cloud\.yaml: permission denied/ },
    {
      args: ['render', '-f', 'examples/minimal.yaml'],
      env: { OSK_STATE_DIR: join(closed, 'state') },
      expect: /OSK_STATE_DIR .*closed\/state: permission denied/,
    },
    {
      args: ['render', '-f', 'examples/minimal.yaml', '--output-dir', join(closed, 'out')],
      expect: /--output-dir .*closed\/out: permission denied/,
    },
  ];
  for (const c of cases) {
    const r = await osk(c.args, { env: { ...env, ...c.env }, ...as });
    assert.equal(r.code, 2, `${c.args.join(' ')}: ${r.err}`);
    assert.match(r.err, c.expect, c.args.join(' '));
    assert.doesNotMatch(r.err, STACK);
    assert.doesNotMatch(r.err, /EACCES/, 'no raw Node error');
  }
});

test('an option given twice is an error, not the last one silently', async () => {
  await stateDir();
  const twice = await run(['plan', '-f', 'examples/minimal.yaml', '-f', 'examples/ha.yaml']);
  assert.equal(twice.code, 2);
  assert.match(twice.err, /--filename.*already given \(examples\/minimal\.yaml\); give -f once/);
  assert.equal(twice.out, '');
  const secrets = await run([
    'render',
    '-f',
    'examples/minimal.yaml',
    '--secrets-file',
    'a.yaml',
    '--secrets-file',
    'b.yaml',
  ]);
  assert.equal(secrets.code, 2);
  assert.match(secrets.err, /already given/);
  const format = await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'json', '-o', 'yaml']);
  assert.equal(format.code, 2, 'a default is not a first value: -o given once is fine, twice is not');
  assert.equal((await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'yaml'])).code, 0);
});

test('validate and plan -o json|yaml: the problems of a bad file on stdout, for machines', async () => {
  const bad = 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: x}\nspec: {profile: big, regoin: R}\n';
  for (const [verb, output, read] of [
    ['validate', 'json', (t: string) => JSON.parse(t)],
    ['validate', 'yaml', (t: string) => parse(t)],
    ['plan', 'json', (t: string) => JSON.parse(t)],
  ] as const) {
    const r = await run([verb, '-f', '-', '-o', output], bad);
    assert.equal(r.code, 2, `${verb} -o ${output}`);
    const doc = read(r.out);
    assert.equal(doc.valid, false);
    assert.ok(doc.problems.length >= 2);
    const profile = doc.problems.find((p: any) => p.path === 'spec.profile');
    assert.equal(profile.file, '<stdin>');
    assert.equal(profile.line, 4);
    assert.equal(profile.col, 17);
    assert.match(profile.message, /expected one of "minimal", "ha", found "big"/);
    assert.ok(doc.problems.some((p: any) => /did you mean "region"/.test(p.message)));
    assert.match(r.err, /spec\.profile/, 'the human message still goes to stderr');
  }
  const good = await run(['validate', '-f', 'examples/minimal.yaml', '-o', 'json']);
  assert.equal(good.code, 0);
  assert.deepEqual(
    { ...JSON.parse(good.out), components: 0 },
    { valid: true, cloud: 'demo', profile: 'minimal', components: 0, problems: [] },
  );
  const missing = await run(['validate', '-f', 'nope.yaml', '-o', 'json']);
  assert.equal(missing.code, 2);
  assert.equal(JSON.parse(missing.out).problems[0].file, 'nope.yaml');
});

test('--help of every verb has examples and its exit codes', async () => {
  const verbs: string[][] = [];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands as Command[]) {
      if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
      verbs.push([...path, sub.name()]);
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(buildCli({ stdout: () => undefined, stderr: () => undefined, stdin: async () => '' }), []);
  assert.ok(verbs.length >= 15, verbs.join(', '));
  for (const v of verbs) {
    const r = await run([...v, '--help']);
    assert.equal(r.code, 0, v.join(' '));
    assert.match(r.out, /\nExamples:\n {2}# .+\n {2}.*\bosk /, `osk ${v.join(' ')} --help`);
    assert.match(r.out, /\nExit codes:\n {4}0 {2}\S/, `osk ${v.join(' ')} --help`);
  }
  assert.match((await run(['diff', '--help'])).out, / {4}1 {2}osk apply would change something/);
});

test('-o is the same everywhere: text, json and yaml on every verb with output (what renders objects: yaml or json)', () => {
  const io: Io = { stdout: () => undefined, stderr: () => undefined, stdin: async () => '' };
  const formats: Record<string, readonly string[] | undefined> = {};
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands as Command[]) {
      const o = sub.options.find((x) => x.long === '--output');
      if (o) formats[[...path, sub.name()].join(' ')] = o.argChoices;
      assert.ok(
        !sub.options.some((x) => x.long === '--output-dir' && x.short),
        'no short flag for --output-dir: -o is a format',
      );
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(buildCli(io), []);
  // The renders print objects, and a kubeconfig is a document: no text form.
  for (const render of ['render', 'cluster render', 'cluster addons', 'cluster kubeconfig']) {
    assert.deepEqual(formats[render], ['yaml', 'json'], render);
    delete formats[render];
  }
  assert.ok(Object.keys(formats).length >= 8, Object.keys(formats).join(', '));
  for (const [verb, f] of Object.entries(formats)) assert.deepEqual(f, ['text', 'json', 'yaml'], verb);
});

test('started by an older Node, osk answers help and usage errors itself and hands each verb to Node 22', async () => {
  let handedOff = 0;
  const handOff = () => {
    handedOff++;
    return 7;
  };
  const quiet: Io = { stdout: () => undefined, stderr: () => undefined, stdin: async () => '' };
  assert.equal(await main(['render', '--help'], quiet, handOff), 0);
  assert.equal(await main(['--version'], quiet, handOff), 0);
  assert.equal(await main(['render'], quiet, handOff), 2, 'a usage error: -f is missing');
  assert.equal(await main(['nosuch'], quiet, handOff), 2);
  assert.equal(handedOff, 0);
  assert.equal(await main(['render', '-f', 'examples/minimal.yaml'], quiet, handOff), 7, "the verb's exit code");
  assert.equal(await main(['backup', 'verify', '--from', '/nonexistent'], quiet, handOff), 7);
  assert.equal(handedOff, 2);
});

test("help, usage errors and --version load commander and the verbs' declarations, none of their work", async () => {
  // Every module the CLI loads, by a loader hook that names it on stderr (issue 13: fast help).
  const dir = await scratchDir('osk-loads-');
  await writeFile(
    join(dir, 'hooks.mjs'),
    "import { writeSync } from 'node:fs';\nexport async function load(url, context, next) {\n  writeSync(2, `loaded ${url}\\n`);\n  return next(url, context);\n}\n",
  );
  await writeFile(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`,
  );
  // dist/ is a bundle (scripts/build.ts): what a loaded file holds is in dist/meta.json.
  const meta = JSON.parse(await readFile('dist/meta.json', 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  const sourcesOf = (url: string) => Object.keys(meta.outputs[url.slice(url.indexOf('dist/'))]?.inputs ?? {});
  const work =
    /^node_modules\/(?!commander\/|@commander-js\/)|-actions\.ts$|^src\/(targets|spec|plan|observe|openstack|bootstrap)\//;
  for (const args of [['--help'], ['help', 'restore'], ['apply', '--help'], ['render'], ['--version']]) {
    const r = await osk(args, { env: { NODE_OPTIONS: `--import ${join(dir, 'register.mjs')}` } });
    const loaded = r.err
      .split('\n')
      .filter((l) => l.startsWith('loaded file:') && l.includes('/dist/'))
      .map((l) => l.slice('loaded '.length));
    const sources = loaded.flatMap(sourcesOf);
    assert.ok(sources.includes('src/version.ts'), `the hook sees what osk ${args.join(' ')} loads:\n${r.err}`);
    assert.deepEqual(
      sources.filter((s) => work.test(s)),
      [],
      `osk ${args.join(' ')}`,
    );
  }
});

test('a usage error with -o json or yaml: the text on stderr, the problems document on stdout, exit 2', async () => {
  const unknown = await run(['status', '-o', 'json', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown option '--bogus'/);
  assert.deepEqual(JSON.parse(unknown.out), {
    valid: false,
    problems: [
      {
        file: '<command line>',
        line: 0,
        col: 0,
        path: '',
        message: "unknown option '--bogus'",
        hint: 'osk help <verb> lists its options and arguments',
      },
    ],
  });
  const missing = await run(['validate', '--output=yaml']);
  assert.equal(missing.code, 2);
  const doc = parse(missing.out) as { valid: boolean; problems: { message: string }[] };
  assert.equal(doc.valid, false);
  assert.match(doc.problems[0]!.message, /required option '-f, --filename <file>' not specified/);
  assert.equal(JSON.parse((await run(['plan', '-ojson', '-f'])).out).problems.length, 1);
  // Without a machine format, or with one commander refused, stdout stays empty.
  for (const args of [
    ['status', '--bogus'],
    ['status', '-o', 'xml'],
    ['nosuch', '--', '-o', 'json'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '', args.join(' '));
  }
});
