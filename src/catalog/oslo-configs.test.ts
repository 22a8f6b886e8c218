/**
 * Every generated oslo config file, for a spread of cloud files, checked against the REAL option
 * definitions of Debian 12's OpenStack Zed packages with oslo-config-validator (see
 * test/support/oslo-validator.ts and scripts/install-oslo-validator.sh). Catches misspelled
 * options, options in the wrong section and options newer than Zed that lack a `since:` gate.
 * Only option and section names are checked, not values.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { namespaces, osloValidatorAvailable, validateOsloFiles } from '../../test/support/oslo-validator.js';
import type { IniDoc } from '../config/ini.js';
import { buildModel, type CloudModel } from '../plan/model.js';
import { parseCloudFile } from '../spec/load.js';
import { DEFAULT_CLOUD_YAML } from '../targets/local/cloud.js';
import type { HostFacts } from '../targets/local/host-facts.js';
import { statePaths } from '../state/paths.js';
import { localModel } from '../targets/local/up.js';

const available = osloValidatorAvailable();
const SKIP_REASON = 'oslo-config-validator not installed (run scripts/install-oslo-validator.sh as root)';

/** Deterministic fake credentials: the same value for the same name in every run. */
const fakeSecrets = (n: string): string => `S${n.replace(/[^A-Za-z0-9]/g, '')}`;

type Kind = keyof typeof namespaces;
const ALL_KINDS = Object.keys(namespaces) as Kind[];

const example = (name: string): string => readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8');

function inline(name: string, spec: string): string {
  return `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: ${name}\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

/** Cloud files covering the axes that change the oslo configs. */
const CLOUDS: { name: string; yaml: string }[] = [
  { name: 'examples/minimal.yaml', yaml: example('minimal.yaml') },
  { name: 'examples/ha.yaml', yaml: example('ha.yaml') },
  {
    name: 'lvm, minimal, publicDomain without tls, provider networks',
    yaml: inline(
      'lvm',
      `profile: minimal
endpoints:
  publicDomain: cloud.example.org
network:
  providerNetworks:
    - { name: physnet1, interface: eth1 }
    - { name: physnet2, interface: eth2, bridge: br-ex2 }
storage:
  backend: lvm
  lvm: { volumeGroup: vg-cinder }`,
    ),
  },
  {
    name: 'ceph, minimal, glance cache, no publicDomain',
    yaml: inline(
      'cephmin',
      `profile: minimal
storage:
  backend: ceph
  ceph:
    monitors: ["10.0.0.11:6789"]
  glance:
    cache: { hostPath: /var/lib/glance-cache }`,
    ),
  },
  {
    name: 'local, ha, publicDomain + tls, glance cache',
    yaml: inline(
      'localha',
      `profile: ha
endpoints:
  publicDomain: ha.example.net
  tls: { enabled: true, secretName: wildcard-tls }
storage:
  backend: local
  glance:
    cache: { hostPath: /srv/glance-cache, maxSize: 20G }
infra:
  rabbitmq: { queueType: classic }`,
    ),
  },
  {
    name: 'lvm, ha, several cinder backends, provider network, horizon off, octavia on',
    yaml: inline(
      'lvmha',
      `profile: ha
network:
  mtu: 9000
  providerNetworks:
    - { name: external, interface: bond0 }
storage:
  backend: lvm
  cinderBackends:
    - { name: fast, volumeType: ssd }
    - { name: slow, qos: { readIopsSec: 500 } }
services:
  horizon: { enabled: false }
  octavia: { enabled: true }`,
    ),
  },
];

/** The all-in-one target writes the same configs with host paths, loopback and its drivers. */
const HOST: HostFacts = {
  distro: { id: 'debian', versionId: '12', pretty: 'Debian 12' },
  hostname: 'aio',
  root: true,
};
const HOST_CLOUDS: { name: string; yaml: string }[] = [
  { name: 'all-in-one: built-in minimal cloud', yaml: DEFAULT_CLOUD_YAML },
  { name: 'all-in-one: examples/minimal.yaml', yaml: example('minimal.yaml') },
];

interface Case {
  kind: Kind;
  /** "<bundle>/<file>" */
  file: string;
  main: string;
  secrets: string;
  /** Cloud files that produce exactly this content. */
  clouds: string[];
}

/** One case per distinct (kind, main, secrets): identical files are validated once. */
function collectCases(): { cases: Case[]; unknownKinds: string[] } {
  const byHash = new Map<string, Case>();
  const unknownKinds: string[] = [];
  const models: { name: string; model: CloudModel }[] = [
    ...CLOUDS.map((c) => ({
      name: c.name,
      model: buildModel(parseCloudFile(c.yaml, c.name), { release: 'zed', secrets: fakeSecrets }),
    })),
    ...HOST_CLOUDS.map((c) => {
      const file = parseCloudFile(c.yaml, c.name);
      return {
        name: c.name,
        model: localModel(
          file,
          statePaths(file.metadata.name, `/var/tmp/osk-validate/${file.metadata.name}`),
          HOST,
          fakeSecrets,
        ),
      };
    }),
  ];
  for (const { name: cloudName, model } of models) {
    const cloud = { name: cloudName };
    for (const bundle of model.bundles.values()) {
      for (const f of bundle.files) {
        if (!('ini' in f) || !f.validate) continue;
        if (!(ALL_KINDS as string[]).includes(f.validate)) {
          unknownKinds.push(`${bundle.name}/${f.name}: ${f.validate}`);
          continue;
        }
        const ini: IniDoc = f.ini;
        const main = ini.renderPublic(f.dialect);
        const secrets = ini.renderSecrets(f.dialect);
        const kind = f.validate as Kind;
        const key = createHash('sha256')
          .update(JSON.stringify([kind, f.name, main, secrets]))
          .digest('hex');
        const seen = byHash.get(key);
        if (seen) seen.clouds.push(cloud.name);
        else byHash.set(key, { kind, file: `${bundle.name}/${f.name}`, main, secrets, clouds: [cloud.name] });
      }
    }
  }
  return { cases: [...byHash.values()], unknownKinds };
}

const { cases, unknownKinds } = collectCases();
const validatedKinds = new Set<Kind>();
let dir = '';
let caseNo = 0;

/** Writes the main file and its credentials overlay the way the services read them. */
async function writeParts(root: string, name: string, main: string, secrets: string): Promise<[string, string]> {
  const base = join(root, String(++caseNo));
  const mainPath = join(base, name);
  const secretsPath = join(base, `${name}.d`, 'secrets.conf');
  await mkdir(dirname(secretsPath), { recursive: true });
  await writeFile(mainPath, main);
  await writeFile(secretsPath, secrets);
  return [mainPath, secretsPath];
}

const fileName = (c: Case): string => c.file.slice(c.file.indexOf('/') + 1);

// Each test runs two validator processes (main + secrets) and is CPU-bound (~0.7 s of Python each).
const CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));

describe('generated oslo configs pass oslo-config-validator (Debian 12 / Zed)', { concurrency: CONCURRENCY }, () => {
  let started = 0;
  before(async () => {
    started = Date.now();
    if (available) dir = await mkdtemp(join(tmpdir(), 'osk-oslo-configs-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (available)
      console.log(
        `# oslo-config-validator: ${cases.length} distinct files (main + secrets each) in ${Date.now() - started} ms`,
      );
  });

  test('every validate kind of the catalog is one the validator harness knows', () => {
    assert.deepEqual(
      unknownKinds,
      [],
      `unknown validate kinds (add them to test/support/oslo-namespaces.json):\n${unknownKinds.join('\n')}`,
    );
  });

  for (const c of cases) {
    test(`${c.file} [${c.kind}] (${c.clouds.join('; ')})`, async (t) => {
      if (!available) return t.skip(SKIP_REASON);
      const files = await writeParts(dir, fileName(c), c.main, c.secrets);
      const r = await validateOsloFiles(c.kind, files);
      validatedKinds.add(c.kind);
      // Valid in Zed, but deprecated for removal: worth knowing, not a failure.
      for (const w of r.warnings) t.diagnostic(`warning: ${w.slice(w.indexOf(': [') + 2)}`);
      assert.ok(
        r.ok,
        `${c.file} from ${c.clouds.join(', ')}:\n  ${r.errors.join('\n  ')}\n--- validator output ---\n${r.output}`,
      );
    });
  }
});

describe('oslo validation coverage and sensitivity', () => {
  test('at least one file of each kind was validated', (t) => {
    if (!available) return t.skip(SKIP_REASON);
    const missing = ALL_KINDS.filter((k) => !validatedKinds.has(k));
    assert.deepEqual(missing, [], `no generated file was validated for: ${missing.join(', ')}`);
  });

  test('a misspelled option injected into a generated nova.conf fails', async (t) => {
    if (!available) return t.skip(SKIP_REASON);
    const nova = cases.find((c) => c.kind === 'nova.conf' && c.file === 'nova/nova.conf');
    assert.ok(nova, 'no generated nova/nova.conf');
    // A real option of the file, misspelled in place, in its own section.
    const m = /^\[(?!DEFAULT\])([^\]]+)\]\n([a-z_]+) = /m.exec(nova.main);
    assert.ok(m?.[1] && m[2], 'nova.conf has no non-DEFAULT section with an option');
    const [, section, option] = m;
    const typo = option.replace(/^(.)(.)/, '$1$2$2'); // auth_strategy -> auuth_strategy
    const broken = nova.main.replace(`[${section}]\n`, `[${section}]\n${typo} = 1\n`);
    const own = await mkdtemp(join(tmpdir(), 'osk-oslo-configs-'));
    try {
      const r = await validateOsloFiles('nova.conf', await writeParts(own, 'nova.conf', broken, nova.secrets));
      assert.equal(r.ok, false, `the validator accepted [${section}] ${typo}:\n${r.output}`);
      assert.ok(
        r.errors.some((e) => e.includes(`[${section}] ${typo}: unknown option`)),
        `expected an error for [${section}] ${typo}, got:\n  ${r.errors.join('\n  ')}`,
      );
      assert.equal(r.errors.length, 1, `only the injected option should fail:\n  ${r.errors.join('\n  ')}`);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});
