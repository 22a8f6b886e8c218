/**
 * Property-based tests of the loader and the renderer (fast-check):
 *  (a) any bytes or text → a CloudFile or a SpecError/OskError of bad input, nothing else;
 *  (b) a complete cloud file with adversarial strings in its string fields → refused with
 *      problems, or accepted and then rendered, with no accepted value in a script or a
 *      ConfigMap outside single quotes;
 *  (c) the built CLI on some of those inputs: exit 0 or 2, never a stack trace.
 * The seed is fixed so a failure reproduces; FUZZ_SEED and FUZZ_RUNS explore further.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify } from 'yaml';
import { SecretStore } from '../state/secret-store.js';
import { ExitCode, OskError, SpecError } from '../errors.js';
import { render } from '../targets/kubernetes/render.js';
import { allObjects } from '../targets/kubernetes/objects.js';
import { toMultiDocYaml } from '../targets/kubernetes/yaml.js';
import { decodeCloudText, parseCloudFile } from './load.js';
import { quantityValue } from './rules.js';
import type { CloudFile } from './schema.js';
import { schemaProblems } from '../targets/kubernetes/testing/schema.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * RUNS));

/** Load; the only acceptable failure is bad input (exit 2). */
function load(text: string): { file?: CloudFile; error?: OskError } {
  try {
    return { file: parseCloudFile(text, 'fuzz.yaml') };
  } catch (e) {
    assert.ok(e instanceof OskError, `not an OskError: ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.exitCode, ExitCode.invalidInput, e.message);
    if (e instanceof SpecError) {
      assert.ok(e.problems.length > 0 && e.problems.length <= 50);
      for (const p of e.problems) assert.ok(p.message.length > 0 && p.line >= 0 && p.col >= 0);
    }
    return { error: e };
  }
}

// ---- (a) arbitrary input ------------------------------------------------------------------

const EXAMPLES = ['examples/minimal.yaml', 'examples/ha.yaml'].map((f) => readFileSync(f, 'utf8'));

/** An example with random edits: text near the grammar reaches deeper than random bytes do. */
const mutatedExample = fc
  .record({
    base: fc.constantFrom(...EXAMPLES),
    edits: fc.array(
      fc.record({
        at: fc.nat(),
        cut: fc.nat({ max: 8 }),
        insert: fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom(
            '*a',
            '&a ',
            '- ',
            ': ',
            '{',
            '[',
            '"',
            "'",
            '\n  ',
            '\t',
            '!!binary ',
            '<<: ',
            '---\n',
            '? ',
            '\0',
            '\u2028',
          ),
        ),
      }),
      { maxLength: 6 },
    ),
  })
  .map(({ base, edits }) =>
    edits.reduce(
      (t, e) => t.slice(0, e.at % (t.length + 1)) + e.insert + t.slice((e.at % (t.length + 1)) + e.cut),
      base,
    ),
  );

test('(a) any text or bytes: a CloudFile or bad input (exit 2), never another error', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 400 }), mutatedExample),
      (text) => {
        load(text);
      },
    ),
    { seed: SEED, numRuns: runs(300) },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        load(decodeCloudText(bytes, 'fuzz.yaml'));
      } catch (e) {
        assert.ok(e instanceof SpecError, `decode: ${(e as Error)?.stack ?? String(e)}`);
      }
    }),
    { seed: SEED, numRuns: runs(100) },
  );
});

// ---- (b) adversarial values in every string field -----------------------------------------

/** A cloud file with every string field of the schema set (so each can be replaced). */
const FULL = (() => {
  const c = parseYaml(EXAMPLES[1]!) as Record<string, any>;
  c.metadata.labels = { 'example.com/team': 'platform' };
  c.spec.images = {
    registry: 'mirror.example.com/osk',
    pullPolicy: 'IfNotPresent',
    pullSecrets: ['pull-secret'],
    overrides: { keystone: 'registry.example.com/keystone:patched' },
  };
  c.spec.endpoints.tls = { enabled: true, issuer: 'letsencrypt-prod', secretName: 'wildcard-tls' };
  c.spec.nodes.compute.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'compute', effect: 'NoSchedule' }];
  c.spec.network.providerNetworks = [{ name: 'physnet1', interface: 'bond1', bridge: 'br-ex' }];
  c.spec.network.multus = { networks: [{ name: 'storage', namespace: 'openstack', interface: 'net1' }] };
  c.spec.storage.ceph.keyringSecret = 'ceph-client-keyring';
  c.spec.storage.lvm = { volumeGroup: 'cinder-volumes' };
  c.spec.storage.storageClass = 'fast-ssd';
  c.spec.storage.cinderBackends[0].storageClass = 'tenant-ssd';
  c.spec.services.nova.api.nodeSelector = { 'example.com/pool': 'api' };
  c.spec.backup.offsite = {
    url: 's3://osk-backups/prod',
    endpoint: 'https://s3.example.com',
    credentialsSecret: 'osk-backup-s3',
  };
  return c;
})();

type Path = (string | number)[];

/** Where the strings are: every string value, and the keys of the label maps. */
function stringPaths(node: unknown, path: Path = []): { path: Path; key: boolean }[] {
  if (typeof node === 'string') return [{ path, key: false }];
  if (Array.isArray(node)) return node.flatMap((v, i) => stringPaths(v, [...path, i]));
  if (node && typeof node === 'object') {
    const labelMap = ['labels', 'selector', 'nodeSelector', 'overrides'].includes(String(path[path.length - 1]));
    return Object.entries(node).flatMap(([k, v]) => [
      ...(labelMap ? [{ path: [...path, k], key: true }] : []),
      ...stringPaths(v, [...path, k]),
    ]);
  }
  return [];
}
const PATHS = stringPaths(FULL).filter((p) => !['apiVersion', 'kind'].includes(String(p.path[0])));

const SHELL = /[;|&$`"'\\<>(){}\n\r\t ]/;
const adversarial: fc.Arbitrary<string | { suffix: string }> = fc.oneof(
  // The field's own value, changed a little: accepted by most fields, so the renderer sees new values.
  { weight: 4, arbitrary: fc.constantFrom('2', '-b', '.c', 'x9').map((suffix) => ({ suffix })) },
  fc.constantFrom(
    'x; rm -rf /',
    '$(id)',
    '`id`',
    'a\nb',
    'a"b',
    "a'b",
    'a\\b',
    'a|b',
    'a&&b',
    'bond1; nsenter -t 1 -m sh',
    'br" -- set x',
    '\u2028',
    '\0',
    '',
    ' ',
    '..',
    '.',
    '/',
    '-x',
    'br-int',
    'kube-system',
    'default',
    '0',
    '61 25 * * *',
    'é✓😀',
    'x'.repeat(300),
    'y'.repeat(5000),
    's3://k:s@b/p',
    'https://u:p@h',
    '/etc',
    '/',
    '%(foo)s',
    '${HOME}',
    '[DEFAULT]',
    'a\r\nb',
  ),
  // Plausible values: some adversarial files must be accepted, to reach the renderer.
  fc.constantFrom(
    'a',
    'abc-1',
    'x.example.com',
    'vg0',
    'eth1',
    'br-two',
    'team',
    'v1',
    'registry.example.com/x:1',
    's3://other-bucket/p',
    'https://minio.example.com:9000',
    '/srv/cache',
    '*/15 * * * *',
    '@hourly',
  ),
  fc.string({ maxLength: 20 }),
  fc
    .tuple(
      fc.constantFrom('a', 'vg', 'eth0'),
      fc.constantFrom(';', '|', '&', '$', '`', '"', "'", '\\', '\n', ' ', '#', '=', ':', '/', '.'),
      fc.constantFrom('', 'id', 'x'),
    )
    .map((t) => t.join('')),
);

function setAt(obj: any, path: Path, given: string | { suffix: string }, key: boolean): string {
  const parent = path.slice(0, -1).reduce((o, k) => o[k], obj);
  const last = path[path.length - 1]!;
  const value = typeof given === 'string' ? given : (key ? String(last) : String(parent[last])) + given.suffix;
  if (key) {
    const v = parent[last];
    delete parent[last];
    parent[value] = v;
  } else parent[last] = value;
  return value;
}

/** Text of what runs or is read as configuration: container commands and args, ConfigMap and Secret data. */
function scriptTexts(objects: Record<string, any>[]): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  for (const o of objects) {
    const name = `${o.kind}/${o.metadata?.name}`;
    for (const [k, v] of Object.entries({ ...(o.data ?? {}), ...(o.stringData ?? {}) }))
      if (typeof v === 'string') out.push({ where: `${name} ${k}`, text: v });
    const pod = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])])
      out.push({ where: `${name} container ${c.name}`, text: [...(c.command ?? []), ...(c.args ?? [])].join('\n') });
  }
  return out;
}

/** Every occurrence of `v` sits inside single quotes on its line (a value with a quote never does). */
function onlyQuoted(text: string, v: string): boolean {
  if (v.includes("'")) return !text.includes(v);
  for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + 1)) {
    const lineStart = text.lastIndexOf('\n', i) + 1;
    const quotesBefore = (text.slice(lineStart, i).match(/'/g) ?? []).length;
    if (quotesBefore % 2 === 0 || text[i + v.length] !== "'") return false;
  }
  return true;
}

const adversarialFile = fc.record({
  picks: fc.uniqueArray(fc.nat({ max: PATHS.length - 1 }), { minLength: 1, maxLength: 3 }),
  values: fc.array(adversarial, { minLength: 3, maxLength: 3 }),
});

function buildAdversarial({ picks, values }: { picks: number[]; values: (string | { suffix: string })[] }): {
  text: string;
  changed: string[];
} {
  const c = structuredClone(FULL);
  const changed: string[] = [];
  picks.forEach((p, i) => {
    const { path, key } = PATHS[p]!;
    changed.push(setAt(c, path, values[i]!, key));
  });
  return { text: stringify(c), changed };
}

test('(b) adversarial strings in every string field: refused, or rendered with no value unquoted in a script', () => {
  assert.ok(PATHS.length > 40, `string fields found: ${PATHS.length}`);
  assert.ok(load(stringify(FULL)).file, 'the full cloud file itself is valid');
  let accepted = 0;
  fc.assert(
    fc.property(adversarialFile, (input) => {
      const { text, changed } = buildAdversarial(input);
      const { file } = load(text);
      if (!file) return;
      accepted++;
      const { groups } = render(file, SecretStore.memory(file.metadata.name));
      assert.ok(toMultiDocYaml(allObjects(groups)).length < 4 * 1024 * 1024, 'the rendered YAML stays small');
      assert.deepEqual(schemaProblems(allObjects(groups)), [], 'every rendered object passes its schema');
      const objects = allObjects(groups).map((o) => o as Record<string, any>);
      for (const o of objects) {
        const pod = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
        for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
          for (const r of ['cpu', 'memory']) {
            const [req, lim] = [c.resources?.requests?.[r], c.resources?.limits?.[r]];
            if (req !== undefined && lim !== undefined)
              assert.ok(
                quantityValue(String(lim))! >= quantityValue(String(req))!,
                `${o.kind}/${o.metadata.name} ${c.name}: ${r} limit ${lim} < request ${req}`,
              );
          }
        }
      }
      const texts = scriptTexts(objects);
      for (const v of changed.filter((x) => SHELL.test(x))) {
        for (const t of texts)
          assert.ok(onlyQuoted(t.text, v), `accepted value ${JSON.stringify(v)} appears unquoted in ${t.where}`);
      }
    }),
    { seed: SEED, numRuns: runs(100) },
  );
  assert.ok(accepted > 0, 'some adversarial files are accepted and rendered');
  if (process.env.FUZZ_VERBOSE) console.log(`(b) accepted and rendered: ${accepted}`);
});

// ---- (c) the CLI itself -------------------------------------------------------------------

const OSK = join(process.cwd(), 'bin', 'osk.js');
const BUNDLED_NODE = join(process.cwd(), 'node_modules', 'node', 'bin', 'node');

function osk(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    // The Node 22 the project installs, when there: bin/osk.js would otherwise start it itself (a second process).
    const node =
      existsSync(BUNDLED_NODE) && Number(process.versions.node.split('.')[0]) < 22 ? BUNDLED_NODE : process.execPath;
    const p = spawn(node, [OSK, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

test('(c) the CLI on generated inputs: exit 0 or 2, and no stack trace', {
  skip: existsSync('dist/cli/main.js') ? false : 'dist/ is not built (npm run build)',
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'osk-fuzz-'));
  try {
    const inputs: { name: string; text: string | Uint8Array }[] = [
      ...fc.sample(mutatedExample, { seed: SEED, numRuns: 1 }).map((text, i) => ({ name: `mutated-${i}.yaml`, text })),
      ...fc
        .sample(adversarialFile, { seed: SEED, numRuns: 3 })
        .map((a, i) => ({ name: `adversarial-${i}.yaml`, text: buildAdversarial(a).text })),
      {
        name: 'bytes.yaml',
        text: fc.sample(fc.uint8Array({ minLength: 64, maxLength: 256 }), { seed: SEED, numRuns: 1 })[0]!,
      },
    ];
    const env = { ...process.env, OSK_STATE_DIR: join(dir, 'state') };
    const codes: (number | null)[] = [];
    for (const input of inputs) {
      const path = join(dir, input.name);
      await writeFile(path, input.text);
      // render only where validate passed: on bad input both stop in the same loader.
      for (const verb of [['validate'], ['render', '--secrets-file', join(dir, 'secrets.yaml')]]) {
        if (verb[0] === 'render' && codes[codes.length - 1] !== 0) continue;
        const r = await osk([...verb, '-f', path], env);
        codes.push(r.code);
        assert.ok(r.code === 0 || r.code === 2, `osk ${verb[0]} ${input.name}: exit ${r.code}\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /, `osk ${verb[0]} ${input.name} printed a stack trace`);
        if (r.code === 2) assert.match(r.stderr, /error: /);
      }
    }
    assert.ok(codes.includes(2), 'some inputs are refused');
    assert.ok(codes.includes(0), 'some inputs are accepted and rendered');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('(b) every string field with shell and INI metacharacters: refused, or never unquoted in a script', () => {
  const nasty = ['a;b $(id) `id` | & > x', 'a\'b"c\\d\ne=[x]'];
  let accepted = 0;
  for (let p = 0; p < PATHS.length; p++) {
    for (const v of nasty) {
      const { text, changed } = buildAdversarial({ picks: [p], values: [v] });
      const { file } = load(text);
      if (!file) continue;
      accepted++;
      const { groups } = render(file, SecretStore.memory(file.metadata.name));
      for (const t of scriptTexts(allObjects(groups).map((o) => o as Record<string, any>))) {
        assert.ok(
          onlyQuoted(t.text, changed[0]!),
          `accepted value ${JSON.stringify(changed[0])} at ${PATHS[p]!.path.join('.')} appears unquoted in ${t.where}`,
        );
      }
    }
  }
  if (process.env.FUZZ_VERBOSE) console.log(`(b) metacharacter values accepted: ${accepted}`);
});

/** Every path of the full cloud file, leaves and mappings alike. */
function allPaths(node: unknown, path: Path = []): Path[] {
  if (Array.isArray(node)) return [path, ...node.flatMap((v, i) => allPaths(v, [...path, i]))];
  if (node && typeof node === 'object')
    return [path, ...Object.entries(node).flatMap(([k, v]) => allPaths(v, [...path, k]))];
  return [path];
}
const ALL_PATHS = allPaths(FULL).filter((p) => p.length > 1);

test('(b) any JSON value at any place of a complete cloud file: refused, or accepted and rendered', () => {
  let accepted = 0;
  fc.assert(
    fc.property(
      fc.nat({ max: ALL_PATHS.length - 1 }),
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constantFrom(0, -1, 1e308, 0.5, 2 ** 53, null),
      ),
      (p, value) => {
        const c = structuredClone(FULL);
        const path = ALL_PATHS[p]!;
        path.slice(0, -1).reduce((o: any, k) => o[k], c)[path[path.length - 1]!] = value;
        const { file } = load(stringify(c));
        if (!file) return;
        accepted++;
        render(file, SecretStore.memory(file.metadata.name));
      },
    ),
    { seed: SEED, numRuns: runs(100) },
  );
  assert.ok(accepted > 0);
});
