/**
 * The cluster verbs: the OpenStack side of a user's Kubernetes cluster from a cluster file
 * (kind: KubernetesCluster): cluster create, render, addons, kubeconfig, delete, status, list. What they do is in
 * cluster-actions.ts, imported when one runs.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Io } from './io.js';
import { outputOption } from './options.js';

const actions = () => import('./cluster-actions.js');

const clusterFile = () =>
  new Option(
    '-f, --filename <file>',
    'cluster file, kind: KubernetesCluster ("-" reads standard input)',
  ).makeOptionMandatory();
const osCloud = () =>
  new Option(
    '--os-cloud <name>',
    "the cloud of clouds.yaml to use (default: the file's spec.cloud, else $OS_CLOUD, else osk's own all-in-one cloud as osk env gives it)",
  );
const timeout = () => new Option('--timeout <seconds>', 'how long one server or load balancer may take').default('600');

export function registerClusterCommands(program: Command, io: Io): void {
  const cluster = program
    .command('cluster')
    .description(
      "the OpenStack side of users' Kubernetes clusters (create, render, addons, kubeconfig, delete, status, list)",
    );

  cluster
    .command('create')
    .description(
      'create the cluster in the cloud: application credential, network (explicit MTU), subnet, router, security groups, server group, ports, API load balancer, servers with kubeadm cloud-init; again: changes nothing, or continues an interrupted create',
    )
    .addOption(clusterFile())
    .addOption(osCloud())
    .addOption(timeout())
    .addOption(outputOption())
    .action(async (opts) => (await actions()).create(opts, io));

  cluster
    .command('render')
    .description(
      'print the cluster as Cluster API objects for CAPO v0.14 (Cluster, OpenStackCluster, KubeadmControlPlane, MachineDeployment, OpenStackMachineTemplates, KubeadmConfigTemplate, identity Secret); first makes in the cloud what CAPO cannot: the server group and the application credential (again: reuses them)',
    )
    .addOption(clusterFile())
    .addOption(osCloud())
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['yaml', 'json'] as const).default('yaml' as const),
    )
    .option(
      '--show-secrets',
      "include the identity Secret with the application credential's secret (left out otherwise)",
    )
    .action(async (opts) => (await actions()).render(opts, io));

  cluster
    .command('delete')
    .description(
      "delete everything of the cluster in dependency order: servers, load balancers on its subnet (the cloud controller's too), floating IPs, ports, router, network, security groups, server group, application credential, osk's state of it",
    )
    .addOption(clusterFile())
    .addOption(osCloud())
    .addOption(timeout())
    .option('-y, --yes', 'do not ask')
    .addOption(outputOption())
    .action(async (opts) => (await actions()).remove(opts, io));

  cluster
    .command('status')
    .description(
      'per object of the cluster: there, missing, in error or different from the file; exit 1 unless all are there',
    )
    .addOption(clusterFile())
    .addOption(osCloud())
    .addOption(outputOption())
    .action(async (opts) => (await actions()).status(opts, io));

  registerInsideCommands(cluster, io);

  cluster
    .command('list')
    .description("the clusters osk made in the cloud's project (networks tagged osk-cluster=<name>) and their servers")
    .addOption(osCloud())
    .addOption(outputOption())
    .action(async (opts) => (await actions()).list(opts, io));
}

/** The verbs that give what a user needs to work inside the cluster: its add-ons and a kubeconfig. */
function registerInsideCommands(cluster: Command, io: Io): void {
  cluster
    .command('kubeconfig')
    .description(
      "a kubeconfig for the cluster on stdout: its API server's address from the cloud (the API load balancer's floating IP, else its VIP, else the first control-plane node) and a client certificate osk signs with the cluster's CA, in kubeadm's group of cluster admins; it holds a key: keep it 0600",
    )
    .addOption(clusterFile())
    .addOption(osCloud())
    .option('--user <name>', "the certificate's user name (CN): letters, digits and . _ @ -", 'osk-admin')
    .option('--days <n>', 'how long the certificate is valid, 1 to 3650', '365')
    .addOption(
      new Option('-o, --output <format>', 'yaml or json (a kubeconfig either way)')
        .choices(['yaml', 'json'] as const)
        .default('yaml' as const),
    )
    .action(async (opts) => (await actions()).kubeconfig(opts, io));

  cluster
    .command('addons')
    .description(
      "what runs inside the cluster so it works on OpenStack, as plain Kubernetes objects for kubectl apply: the cloud-config Secret (the cluster's application credential, [LoadBalancer] with the OVN provider, its network and subnet), the OpenStack cloud controller manager, the Cinder CSI driver and a StorageClass per volume type (the first control-plane node applies the same objects), and with secondary networks a Multus NetworkAttachmentDefinition per secondary network and node (host-device by the port's MAC, the port's address, the MTU; Multus must be installed)",
    )
    .addOption(clusterFile())
    .addOption(osCloud())
    .addOption(
      new Option('-o, --output <format>', 'yaml: one document per object; json: a v1 List')
        .choices(['yaml', 'json'] as const)
        .default('yaml' as const),
    )
    .action(async (opts) => (await actions()).addons(opts, io));
}
