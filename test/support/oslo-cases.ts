/**
 * The generated oslo config files the config tests check: every file of a spread of cloud files
 * (the examples and clouds covering the axes that change the configs), one case per distinct
 * content, rendered for a release (Zed: the Kubernetes clouds and the all-in-one's own; 2025.1:
 * the Kubernetes clouds, which the all-in-one never runs).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IniDoc } from '../../src/config/ini.js';
import type { HostHypervisor } from '../../src/catalog/context.js';
import { buildModel, type CloudModel } from '../../src/plan/model.js';
import { parseCloudFile } from '../../src/spec/load.js';
import { statePaths } from '../../src/state/paths.js';
import { DEFAULT_CLOUD_YAML } from '../../src/targets/local/cloud.js';
import type { HostFacts } from '../../src/targets/local/host-facts.js';
import { localModel } from '../../src/targets/local/up.js';
import { namespaces } from './oslo-validator.js';

/** Deterministic fake credentials: the same value for the same name in every run. */
const fakeSecrets = (n: string): string => `S${n.replace(/[^A-Za-z0-9]/g, '')}`;

export type Kind = keyof typeof namespaces;
export const ALL_KINDS = Object.keys(namespaces) as Kind[];

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
const HOST_CLOUDS: { name: string; yaml: string; hypervisor?: HostHypervisor }[] = [
  { name: 'all-in-one: built-in minimal cloud', yaml: DEFAULT_CLOUD_YAML },
  { name: 'all-in-one: examples/minimal.yaml', yaml: example('minimal.yaml') },
  {
    name: 'all-in-one: Nova libvirt driver, virt_type qemu',
    yaml: DEFAULT_CLOUD_YAML.replace('  services:\n', '  services:\n    nova:\n      hypervisor: qemu\n'),
    hypervisor: 'qemu',
  },
  {
    name: "all-in-one: libvirt driver and the cloud's own Ceph (RBD volumes, images, disks; Ceph backups)",
    yaml: DEFAULT_CLOUD_YAML.replace(
      '  services:\n',
      '  storage:\n    backend: ceph\n  services:\n    nova:\n      hypervisor: qemu\n',
    ),
    hypervisor: 'qemu',
  },
];

export interface Case {
  kind: Kind;
  /** "<bundle>/<file>" */
  file: string;
  main: string;
  secrets: string;
  /** Cloud files that produce exactly this content. */
  clouds: string[];
}

/** One case per distinct (kind, main, secrets): identical files are validated once. */
export function collectCases(release: 'zed' | '2025.1'): { cases: Case[]; unknownKinds: string[] } {
  const byHash = new Map<string, Case>();
  const unknownKinds: string[] = [];
  const models: { name: string; model: CloudModel }[] = [
    ...CLOUDS.map((c) => ({
      name: c.name,
      model: buildModel(parseCloudFile(c.yaml, c.name), { release, secrets: fakeSecrets }),
    })),
    ...(release === 'zed' ? HOST_CLOUDS : []).map((c) => {
      const file = parseCloudFile(c.yaml, c.name);
      return {
        name: c.name,
        model: localModel(
          file,
          statePaths(file.metadata.name, `/var/tmp/osk-validate/${file.metadata.name}`),
          HOST,
          fakeSecrets,
          c.hypervisor,
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

let caseNo = 0;

/** Writes the main file and its credentials overlay the way the services read them. */
export async function writeParts(root: string, name: string, main: string, secrets: string): Promise<[string, string]> {
  const base = join(root, String(++caseNo));
  const mainPath = join(base, name);
  const secretsPath = join(base, `${name}.d`, 'secrets.conf');
  await mkdir(dirname(secretsPath), { recursive: true });
  await writeFile(mainPath, main);
  await writeFile(secretsPath, secrets);
  return [mainPath, secretsPath];
}

export const fileName = (c: Case): string => c.file.slice(c.file.indexOf('/') + 1);
