/** What the cluster verbs do (cluster-commands.ts declares them). */
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import { capiNames, clusterApiObjects } from '../plan/cluster-capi.js';
import { toPlainYaml } from '../plain-yaml.js';
import { loadCloud, OpenStackClient } from '../openstack/index.js';
import type { ClusterFile } from '../spec/schema-cluster.js';
import { clusterSecretStorePath, statePaths } from '../state/paths.js';
import { SecretStore } from '../state/secret-store.js';
import { prepareClusterApi } from '../targets/cluster/capi.js';
import { addonsYaml, clusterAddons } from '../plan/cluster-addons.js';
import { networkAttachments } from '../plan/cluster-multus.js';
import { addonInputs, findClusterIds, secondaryAttachments } from '../targets/cluster/addons.js';
import { createCluster } from '../targets/cluster/create.js';
import { clusterKubeconfig } from '../targets/cluster/kubeconfig.js';
import { deleteCluster } from '../targets/cluster/delete.js';
import { clusterStatus, listClusters } from '../targets/cluster/inspect.js';
import { resolveCloudName } from '../targets/local/cloud.js';
import { ask, wholeNumber } from './input.js';
import type { Io } from './io.js';
import { machine } from './output.js';
import { createReporter } from './progress.js';
import { readClusterFile } from './read-cloud.js';

type Output = 'text' | 'json' | 'yaml';

/** The cluster file of -f, its cloud and its secret store: what create and render start from. */
async function openCluster(opts: { filename: string; osCloud?: string }, io: Io) {
  const file = await readClusterFile(opts.filename, io);
  const name = file.metadata.name;
  const os = await openCloud(opts.osCloud, file);
  const store = await SecretStore.open(clusterSecretStorePath(name), `cluster/${name}`);
  return { file, name, os, store };
}

/** --os-cloud, else the file's spec.cloud, else $OS_CLOUD, else osk's own cloud (what osk env points at). */
async function openCloud(osCloud: string | undefined, file: ClusterFile | undefined): Promise<OpenStackClient> {
  const named = osCloud ?? file?.spec.cloud ?? process.env.OS_CLOUD;
  if (named) return OpenStackClient.fromCloudsYaml({ cloud: loadCloud({ cloud: named }).name });
  const own = await resolveCloudName(undefined).catch((e: unknown) => {
    throw new OskError(`no cloud to make the cluster in: ${(e as Error).message}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'name a cloud of clouds.yaml with spec.cloud or --os-cloud, or start osk’s own with osk up',
    });
  });
  return OpenStackClient.fromCloudsYaml({ cloud: own, env: { OS_CLIENT_CONFIG_FILE: statePaths(own).cloudsYaml } });
}

const seconds = (v: string) => wholeNumber('--timeout', v, 1, 86_400) * 1000;

export async function create(
  opts: { filename: string; osCloud?: string; timeout: string; output: Output },
  io: Io,
): Promise<void> {
  const timeoutMs = seconds(opts.timeout);
  const { file, name, os, store } = await openCluster(opts, io);
  const reporter = createReporter(process.stderr);
  try {
    const s = await createCluster(os, file, store, { timeoutMs, reporter });
    reporter.close();
    if (opts.output !== 'text') return io.stdout(machine(s, opts.output));
    io.stdout(
      [
        `cluster ${name}: ${s.created} created, ${s.changed} changed, ${s.unchanged} unchanged in ${s.seconds.toFixed(1)} s`,
        `  API:      https://${s.apiFloatingIp ?? s.apiEndpoint}:6443`,
        ...s.servers.map((v) => `  ${v.role.padEnd(13)} ${v.name} ${v.address} ${v.status}`),
        `  secrets:  ${store.path} (application credential, kubeadm join secrets, CA; 0600)`,
        '',
      ].join('\n'),
    );
  } finally {
    reporter.close();
    await os.close();
  }
}

/**
 * The Cluster API objects of the cluster on stdout (multi-document YAML or a JSON List); what was
 * made in the cloud for them, and the Secret left out without --show-secrets, on stderr.
 */
export async function render(
  opts: { filename: string; osCloud?: string; output: 'yaml' | 'json'; showSecrets?: true },
  io: Io,
): Promise<void> {
  const { file, name, os, store } = await openCluster(opts, io);
  const reporter = createReporter(process.stderr);
  try {
    const p = await prepareClusterApi(os, file, store, { reporter, showSecrets: opts.showSecrets === true });
    reporter.close();
    for (const line of [...p.notes, ...p.made]) io.stderr(`${line}\n`);
    const objects = clusterApiObjects(file, p.inputs);
    io.stdout(
      opts.output === 'json'
        ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`
        : objects.map((o) => `---\n${toPlainYaml(o)}`).join(''),
    );
    if (!opts.showSecrets)
      io.stderr(
        `left out Secret ${capiNames(name).identitySecret} (application credential ${p.inputs.identity.applicationCredentialId}, its secret in ${store.path}); add --show-secrets to include it\n`,
      );
  } finally {
    reporter.close();
    await os.close();
  }
}

export async function remove(
  opts: { filename: string; osCloud?: string; timeout: string; yes?: true; output: Output },
  io: Io,
): Promise<void> {
  const timeoutMs = seconds(opts.timeout);
  const file = await readClusterFile(opts.filename, io);
  const name = file.metadata.name;
  if (!opts.yes) {
    if (!process.stdin.isTTY)
      throw new OskError(
        `cluster delete removes every server and volume-less object of cluster ${name}; add --yes to confirm`,
        {
          exitCode: ExitCode.invalidInput,
        },
      );
    const answer = await ask(`Delete cluster ${name} and everything of it in the cloud? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new OskError('nothing deleted', { exitCode: ExitCode.invalidInput });
  }
  const os = await openCloud(opts.osCloud, file);
  const reporter = createReporter(process.stderr);
  try {
    const s = await deleteCluster(os, name, clusterSecretStorePath(name), { timeoutMs, reporter });
    reporter.close();
    const count = Object.values(s.removed).reduce((n, l) => n + l.length, 0);
    io.stdout(
      opts.output === 'text'
        ? `cluster ${name}: ${count ? `removed ${count} objects` : 'nothing of it was there'} in ${s.seconds.toFixed(1)} s\n`
        : machine(s, opts.output),
    );
  } finally {
    reporter.close();
    await os.close();
  }
}

export async function status(opts: { filename: string; osCloud?: string; output: Output }, io: Io): Promise<void> {
  const file = await readClusterFile(opts.filename, io);
  const os = await openCloud(opts.osCloud, file);
  try {
    const name = file.metadata.name;
    const store = await SecretStore.open(clusterSecretStorePath(name), `cluster/${name}`);
    const s = await clusterStatus(os, file, store);
    if (opts.output !== 'text') io.stdout(machine(s, opts.output));
    else {
      const rows = [['KIND', 'NAME', 'STATE', 'DETAIL'], ...s.objects.map((o) => [o.kind, o.name, o.state, o.detail])];
      const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
      io.stdout(
        `${rows
          .map((r) =>
            r
              .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
              .join('  ')
              .trimEnd(),
          )
          .join('\n')}\n`,
      );
    }
    if (!s.ready) throw new ExitStatus(ExitCode.failed);
  } finally {
    await os.close();
  }
}

export async function addons(
  opts: { filename: string; osCloud?: string; output: 'yaml' | 'json' },
  io: Io,
): Promise<void> {
  const file = await readClusterFile(opts.filename, io);
  const os = await openCloud(opts.osCloud, file);
  try {
    const name = file.metadata.name;
    const store = await SecretStore.open(clusterSecretStorePath(name), `cluster/${name}`);
    const attachments = networkAttachments(file, await secondaryAttachments(os, file));
    const objects = [
      ...clusterAddons(file, await addonInputs(os, file, store, await findClusterIds(os, file))),
      ...attachments,
    ];
    // Not in what the first control plane applies at kubeadm init: Multus (the CRD) is not there then.
    if (attachments.length)
      io.stderr(
        `${attachments.length} NetworkAttachmentDefinitions (one per secondary network and node): they need Multus in the cluster (CRD network-attachment-definitions.k8s.cni.cncf.io), which osk does not install\n`,
      );
    io.stdout(
      opts.output === 'yaml'
        ? addonsYaml(objects)
        : machine({ apiVersion: 'v1', kind: 'List', metadata: {}, items: objects }, 'json'),
    );
  } finally {
    await os.close();
  }
}

/**
 * A kubeconfig of the cluster on stdout (YAML, or the same as JSON); where the address comes from
 * and until when the certificate is valid on stderr.
 */
export async function kubeconfig(
  opts: { filename: string; osCloud?: string; user: string; days: string; output: 'yaml' | 'json' },
  io: Io,
): Promise<void> {
  const days = wholeNumber('--days', opts.days, 1, 3650);
  const { file, store, os } = await openCluster(opts, io);
  try {
    const k = await clusterKubeconfig(os, file, store, { user: opts.user, days });
    io.stderr(
      `API server: ${k.via}; certificate valid until ${k.notAfter}; the kubeconfig holds its key: keep it 0600\n`,
    );
    io.stdout(opts.output === 'yaml' ? toPlainYaml(k.kubeconfig) : machine(k.kubeconfig, 'json'));
  } finally {
    await os.close();
  }
}

export async function list(opts: { osCloud?: string; output: Output }, io: Io): Promise<void> {
  const os = await openCloud(opts.osCloud, undefined);
  try {
    const all = await listClusters(os);
    if (opts.output !== 'text') return io.stdout(machine({ clusters: all }, opts.output));
    const rows = [
      ['NAME', 'SERVERS', 'ACTIVE', 'NETWORK'],
      ...all.map((c) => [c.name, String(c.servers), String(c.active), c.network]),
    ];
    io.stdout(`${rows.map((r) => r.join('\t')).join('\n')}\n`);
  } finally {
    await os.close();
  }
}
