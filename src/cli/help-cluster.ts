/** The help entries of `osk cluster` and its verbs (help.ts adds them to the others). */
import { badInput, type VerbHelp } from './verb-help.js';

export const CLUSTER_HELP: Record<string, VerbHelp> = {
  cluster: {
    examples: [
      ['osk cluster create -f cluster.yaml', "a Kubernetes cluster's OpenStack side in osk's own cloud"],
      ['osk cluster delete -f cluster.yaml --yes', 'everything of it, in dependency order'],
    ],
    exit: [{ code: 0, meaning: 'done' }, { code: 1, meaning: 'a call to the cloud failed' }, badInput],
  },
  'cluster create': {
    examples: [
      ['osk cluster create -f examples/cluster.yaml', "in osk's own cloud (what osk env points at)"],
      [
        'osk cluster create -f cluster.yaml --os-cloud mycloud -o json',
        'in a cloud of clouds.yaml; the summary for machines',
      ],
      [
        'osk cluster create -f cluster.yaml',
        'again: changes nothing, or continues where an interrupted create stopped',
      ],
    ],
    exit: [
      { code: 0, meaning: 'every object is there and every server ACTIVE' },
      { code: 1, meaning: 'a call failed or a server/load balancer went to ERROR (run create again to continue)' },
      {
        ...badInput,
        meaning: `${badInput.meaning}; also what the cloud lacks (a flavor, image, provider, hosts for anti-affinity): nothing is created then`,
      },
    ],
  },
  'cluster render': {
    examples: [
      ['osk cluster render -f cluster.yaml > capi.yaml', 'the Cluster API objects for CAPO, without the credential'],
      [
        'osk cluster render -f cluster.yaml --show-secrets | kubectl apply -f -',
        'with the identity Secret, into the management cluster',
      ],
      [
        'kubectl delete cluster <name>; osk cluster delete -f cluster.yaml --yes',
        'then the server group and credential',
      ],
    ],
    exit: [
      { code: 0, meaning: 'rendered (the server group and application credential are in the cloud)' },
      { code: 1, meaning: 'a call to the cloud failed' },
      {
        ...badInput,
        meaning: `${badInput.meaning}; also what the cloud lacks, or neither an API load balancer nor an external network (CAPO needs one)`,
      },
    ],
  },
  'cluster delete': {
    examples: [
      [
        'osk cluster delete -f cluster.yaml --yes',
        "servers, load balancers on the cluster's subnet, floating IPs, ports, router, network, groups, credential",
      ],
      ['osk cluster delete -f cluster.yaml --yes -o json', 'what was removed, per step'],
    ],
    exit: [
      { code: 0, meaning: 'nothing of the cluster is left (also when nothing was there)' },
      { code: 1, meaning: 'a deletion failed (run delete again: it continues)' },
      badInput,
    ],
  },
  'cluster kubeconfig': {
    examples: [
      [
        'osk cluster kubeconfig -f cluster.yaml > ~/.kube/demo && chmod 600 ~/.kube/demo',
        "a cluster admin's kubeconfig (certificate for a year, signed by the cluster's CA)",
      ],
      ['osk cluster kubeconfig -f cluster.yaml --user alice --days 30', 'another name, a shorter life'],
    ],
    exit: [
      { code: 0, meaning: 'printed' },
      { code: 1, meaning: 'a call to the cloud failed' },
      { ...badInput, meaning: `${badInput.meaning}; also a cluster osk has not created (no CA, no API address)` },
    ],
  },
  'cluster addons': {
    examples: [
      [
        'osk cluster addons -f cluster.yaml | kubectl apply -f -',
        'the cloud controller, Cinder CSI and StorageClasses',
      ],
      ['osk cluster addons -f cluster.yaml -o json', 'the same objects as a v1 List'],
    ],
    exit: [
      { code: 0, meaning: 'printed' },
      { code: 1, meaning: 'a call to the cloud failed' },
      { ...badInput, meaning: `${badInput.meaning}; also a cluster osk has not created (no network or credential)` },
    ],
  },
  'cluster status': {
    examples: [
      ['osk cluster status -f cluster.yaml', 'per object: ok, missing, error, differs (from the file) or extra'],
      ['osk cluster status -f cluster.yaml -o json', 'the same for machines'],
    ],
    exit: [
      { code: 0, meaning: 'every object of the cluster is there and well' },
      { code: 1, meaning: 'something is missing, in error or different from the file' },
      badInput,
    ],
  },
  'cluster list': {
    examples: [
      ['osk cluster list', "the clusters in osk's own cloud"],
      ['osk cluster list --os-cloud mycloud -o json', 'in a cloud of clouds.yaml, for machines'],
    ],
    exit: [{ code: 0, meaning: 'listed' }, { code: 1, meaning: 'a call to the cloud failed' }, badInput],
  },
};
