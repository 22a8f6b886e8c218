/**
 * What `osk <verb> --help` adds after the options: real examples and the exit codes the verb
 * really returns (a script branches on them: `osk diff` exits 1 when apply would change something).
 * Every verb needs an entry: main.test.ts checks the help of each verb the CLI has.
 */
import type { Command } from '@commander-js/extra-typings';
import { CLUSTER_HELP } from './help-cluster.js';
import { badInput, type VerbHelp } from './verb-help.js';

const HELP: Record<string, VerbHelp> = {
  validate: {
    examples: [
      [
        'osk validate -f cloud.yaml',
        'every problem with file:line:column, the field, what was expected and what was found',
      ],
      [
        'osk validate -f cloud.yaml -o json',
        '{"valid": false, "problems": [...]} on stdout for machines (exit 2), {"valid": true, ...} (exit 0)',
      ],
      ['cat cloud.yaml | osk validate -f -', 'read the cloud file from standard input'],
    ],
    exit: [
      { code: 0, meaning: 'the cloud file is valid' },
      { code: 2, meaning: 'the cloud file has problems (or cannot be read)' },
    ],
  },
  plan: {
    examples: [
      ['osk plan -f examples/minimal.yaml', 'waves, and what each component waits for and why'],
      ['osk plan -f cloud.yaml -v', 'every reference behind each dependency'],
      [
        'osk plan -f cloud.yaml -o json',
        'the same for machines (a bad file gives {"valid": false, "problems": [...]})',
      ],
    ],
    exit: [{ code: 0, meaning: 'planned' }, badInput],
  },
  render: {
    examples: [
      ['osk render -f cloud.yaml | kubectl apply -f -', 'multi-document YAML on stdout, in apply order'],
      ['osk render -f cloud.yaml -o json', 'one JSON List of every object'],
      [
        'osk render -f cloud.yaml --output-dir deploy/',
        'NNN-<component>.yaml files; a later render replaces only the files osk wrote (listed in deploy/.osk-render)',
      ],
      [
        'osk render -f cloud.yaml --show-secrets --secrets-file ./secrets.yaml',
        'include the Secrets, with the credentials of that store',
      ],
    ],
    exit: [
      { code: 0, meaning: 'rendered' },
      { code: 1, meaning: 'writing the output failed (e.g. the disk is full)' },
      { ...badInput, meaning: `${badInput.meaning}; also an --output-dir holding files osk did not write` },
    ],
  },
  schema: {
    examples: [
      ['osk schema > cloud.schema.json', 'the JSON Schema of the cloud file'],
      ['osk schema --kind KubernetesCluster > cluster.schema.json', 'the JSON Schema of the cluster file'],
      ["osk schema | jq '.properties.spec.properties | keys'", 'the top-level sections of spec'],
    ],
    exit: [{ code: 0, meaning: 'printed' }],
  },
  up: {
    examples: [
      ['sudo osk up --yes', 'the built-in minimal cloud on this host, installing the Debian packages it needs'],
      ['osk up -f cloud.yaml', 'a cloud file of your own (profile minimal: one of each component)'],
      ['osk up', 'run again after a failure, Ctrl-C or osk down: the same cloud continues where it stopped'],
      [
        'osk up --cloud lab',
        'start again the cloud lab, one of several on this host, from the copy of its file osk up kept',
      ],
    ],
    exit: [
      { code: 0, meaning: 'the cloud is up and every component is ready' },
      { code: 1, meaning: 'a component did not get ready or a step failed (the message names it and its log)' },
      {
        ...badInput,
        meaning: `${badInput.meaning}; also a host osk cannot use (not Debian 12, packages missing without --yes)`,
      },
      { code: 130, meaning: 'interrupted (Ctrl-C); what runs keeps running' },
    ],
  },
  down: {
    examples: [
      ['osk down', 'stop every program of the cloud; its data stays and osk up starts it again'],
      ['osk down --cloud lab --purge --yes', 'stop cloud lab and delete all its data'],
    ],
    exit: [
      { code: 0, meaning: 'stopped (and purged with --purge)' },
      { code: 1, meaning: 'a program could not be stopped' },
      { ...badInput, meaning: `${badInput.meaning}; also no such cloud, or --purge not confirmed` },
    ],
  },
  status: {
    examples: [
      ['osk status', 'the all-in-one cloud on this host: state, readiness, PID, uptime, restarts'],
      ['osk status -f cloud.yaml --context prod', 'a cloud on Kubernetes: ready/desired, image, age, what blocks it'],
      ['osk status -o json', 'the same for machines'],
    ],
    exit: [
      { code: 0, meaning: 'every component is ready' },
      { code: 1, meaning: 'something is not ready or not running (listed), or the cluster could not be asked' },
      badInput,
    ],
  },
  logs: {
    examples: [
      ['osk logs nova-api', 'the last 100 lines of nova-api'],
      ['osk logs keystone-db-sync -n 500', 'more lines'],
      ['osk logs mariadb -f', 'keep printing new lines'],
    ],
    exit: [
      { code: 0, meaning: 'printed' },
      { ...badInput, meaning: `${badInput.meaning}; also a component with no log (the message lists those with one)` },
    ],
  },
  env: {
    examples: [
      ['eval "$(osk env)" && openstack server list', 'use the cloud as admin'],
      ['eval "$(osk env --demo --cloud lab)"', 'as the demo user of cloud lab'],
    ],
    exit: [
      { code: 0, meaning: 'printed' },
      { ...badInput, meaning: `${badInput.meaning}; also no such cloud on this host` },
    ],
  },
  health: {
    examples: [
      ['osk health', 'probe every API of the all-in-one cloud against its thresholds'],
      [
        'osk health --os-cloud mycloud --write -o json',
        'any OpenStack from clouds.yaml; --write also creates and deletes volumes',
      ],
      ['osk health -f cloud.yaml --context prod', 'a cloud on Kubernetes: pod restarts and CPU/memory against limits'],
      ['osk health --nova-api-p99 300ms', 'a stricter threshold than the cloud file'],
    ],
    exit: [
      { code: 0, meaning: 'every threshold holds' },
      { code: 1, meaning: 'a threshold is breached (the table shows which), or the cloud could not be reached' },
      badInput,
    ],
  },
  backup: {
    examples: [
      ['osk backup', 'back up the all-in-one cloud into its backup directory, keeping spec.backup.copies'],
      ['osk backup --to /srv/backups/2025-06-01', 'into a new directory of your choice'],
      ['osk backup verify --from /srv/backups/2025-06-01', 'prove it restorable'],
    ],
    exit: [
      { code: 0, meaning: 'backed up' },
      { code: 1, meaning: 'a dump or copy failed' },
      { ...badInput, meaning: `${badInput.meaning}; also a --to directory that is not empty` },
    ],
  },
  'backup verify': {
    examples: [
      [
        'osk backup verify --from /srv/backups/2025-06-01',
        'checksums, then every database loaded into a scratch MariaDB and compared',
      ],
      ['osk backup verify --from DIR -o json', 'the result for machines'],
    ],
    exit: [
      { code: 0, meaning: 'the backup is restorable' },
      { code: 1, meaning: 'a checksum, row count or table checksum differs (listed)' },
      badInput,
    ],
  },
  restore: {
    examples: [
      ['osk restore --from /srv/backups/2025-06-01 --yes', 'restore the all-in-one cloud the backup is of'],
      [
        'osk restore -f cloud.yaml --from latest --dry-run',
        'on Kubernetes: print every step, why, and its commands; change nothing',
      ],
      ['osk restore -f cloud.yaml --from velero:nightly-2025-06-01 --yes', 'on Kubernetes, from a Velero backup'],
      ['osk restore -f cloud.yaml --from latest --start-at 4 --yes', 'continue an interrupted restore at step 4'],
    ],
    exit: [
      { code: 0, meaning: 'restored' },
      { code: 1, meaning: 'a step failed (the message says which and how to continue)' },
      {
        ...badInput,
        meaning: `${badInput.meaning}; also not confirmed, or a secret store lacking the cloud's credentials`,
      },
    ],
  },
  apply: {
    examples: [
      [
        'osk apply -f cloud.yaml',
        'deploy to the current kubeconfig context, in dependency order, waiting for readiness',
      ],
      ['osk apply -f cloud.yaml --context prod --timeout 1200', 'another context; more time per component'],
      ['osk apply -f cloud.yaml --import-secrets', 'rebuild a lost secret store from the credentials in the cluster'],
    ],
    exit: [
      { code: 0, meaning: 'applied, every component ready' },
      {
        code: 1,
        meaning: 'the cluster refused something or a component did not get ready (run it again: it converges)',
      },
      badInput,
    ],
  },
  diff: {
    examples: [
      ['osk diff -f cloud.yaml', 'what osk apply would change, by server-side dry-run'],
      ['osk diff -f cloud.yaml -o json', 'the same for machines'],
      ['osk diff -f cloud.yaml && echo "in sync"', 'exit 0 only when nothing would change'],
    ],
    exit: [
      { code: 0, meaning: 'nothing would change' },
      { code: 1, meaning: 'osk apply would change something (listed), or the cluster could not be asked' },
      badInput,
    ],
  },
  'rotate-keys': {
    examples: [
      [
        'osk rotate-keys',
        "rotate the all-in-one cloud's fernet keys now: the staged key becomes primary; live tokens stay valid",
      ],
      ['osk rotate-keys --cloud lab', 'the cloud named lab'],
      [
        'osk rotate-keys --credentials',
        'rotate the credential encryption keys and re-encrypt the stored credentials (Keystone and MariaDB must be up)',
      ],
    ],
    exit: [
      { code: 0, meaning: 'rotated' },
      {
        code: 1,
        meaning:
          'the rotation failed (e.g. osk up holds the key lock, keystone-manage failed); the saved keys still decrypt everything',
      },
      { ...badInput, meaning: 'no such cloud, or a path in its state is wrong' },
    ],
  },
  destroy: {
    examples: [
      ['osk destroy -f cloud.yaml', 'delete the cloud (asks for its name); volumes and the namespace stay'],
      ['osk destroy -f cloud.yaml --yes --purge', 'also delete every volume and the namespace: all data'],
    ],
    exit: [
      { code: 0, meaning: 'deleted' },
      { code: 1, meaning: 'the cluster refused a deletion' },
      { ...badInput, meaning: `${badInput.meaning}; also not confirmed` },
    ],
  },
  ...CLUSTER_HELP,
  images: {
    examples: [
      ['osk images list -f cloud.yaml', "the images the cloud's pods run and the reference each built image gets"],
      ['sudo osk images build -f cloud.yaml --output-dir images/', 'build them from Debian packages into OCI archives'],
    ],
    exit: [{ code: 0, meaning: 'done' }, badInput],
  },
  'images list': {
    examples: [
      ['osk images list -f cloud.yaml', 'each image: its reference, Debian packages, uid, commands and links'],
      ['osk images list -f cloud.yaml -o json', 'the same for machines'],
    ],
    exit: [{ code: 0, meaning: 'listed' }, badInput],
  },
  'images build': {
    examples: [
      [
        'sudo osk images build -f cloud.yaml --output-dir images/',
        'every image that can be built, as images/<image>.tar (OCI archives); a rebuild with nothing changed takes seconds',
      ],
      [
        'sudo osk images build -f cloud.yaml --only keystone,memcached --import-containerd /run/containerd/containerd.sock',
        'two images, imported into containerd for the kubelet',
      ],
      [
        'sudo osk images build -f cloud.yaml --push registry.example.com/osk --authfile ~/.config/containers/auth.json',
        "every image pushed where the cloud's spec.images.registry (registry.example.com/osk) makes its pods pull it",
      ],
    ],
    exit: [
      { code: 0, meaning: 'built (or found in the cache) and written out' },
      {
        code: 1,
        meaning:
          'a step of the build failed (debootstrap, apt-get, umoci, skopeo, ctr), or a push (registry unreachable, plain HTTP without --push-insecure, certificate, credentials): the message has its output',
      },
      {
        ...badInput,
        meaning: `${badInput.meaning}; also: not root, a tool missing (the message names its Debian package), an image that cannot be built, --push to another registry than the cloud's images.registry`,
      },
    ],
  },
};

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent as Command | null) names.unshift(c.name());
  return names.join(' ');
}

function format(h: VerbHelp): string {
  const lines = ['', 'Examples:'];
  for (const [c, what] of h.examples) lines.push(`  # ${what}`, `  ${c}`, '');
  lines.push('Exit codes:');
  for (const e of h.exit) lines.push(`  ${String(e.code).padStart(3)}  ${e.meaning}`);
  return `${lines.join('\n')}\n`;
}

/** Add examples and exit codes to the help of every visible verb below `program`. */
export function addVerbHelp(program: Command): void {
  program.addHelpText(
    'after',
    "\nExit codes: 0 ok; 1 a failure, or a finding (diff: changes; status, health: not ready or breached); 2 bad input.\nEvery verb's --help ends with examples and its own exit codes: osk render --help\n",
  );
  const walk = (cmd: Command): void => {
    for (const sub of cmd.commands as Command[]) {
      if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
      const path = commandPath(sub);
      const h = HELP[path];
      if (h) sub.addHelpText('after', format(h));
      walk(sub);
    }
  };
  walk(program);
}
