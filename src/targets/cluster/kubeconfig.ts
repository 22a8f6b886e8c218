/**
 * `osk cluster kubeconfig`: a kubeconfig for a cluster osk created, from what osk keeps and what
 * the cloud has. The API server's address is the API load balancer's floating IP, else its VIP,
 * else the first control-plane node's port (the address create gave kubeadm as the control-plane
 * endpoint, and its certificate's SANs). The user is a client certificate osk signs with the
 * cluster's CA, which create made and keeps in the cluster's secret store (kubeadm init uses that
 * CA), in the group kubeadm binds to cluster-admin: `kubeadm:cluster-admins` since Kubernetes
 * 1.29, `system:masters` before.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterNodes } from '../../plan/cluster.js';
import { runCommand } from '../../run-command.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { SecretStore } from '../../state/secret-store.js';
import { SECRET } from './secrets.js';

/** The group kubeadm makes a cluster admin for a cluster of this version. */
export function adminGroup(kubernetesVersion: string): string {
  const minor = Number(/^v1\.(\d+)\./.exec(kubernetesVersion)?.[1]);
  return minor >= 29 ? 'kubeadm:cluster-admins' : 'system:masters';
}

/**
 * A user name for a certificate's CN: letters, digits and `._@-`. Anything else is refused, as
 * `/` or `,` in a subject could add an organisation (a group) the user did not ask for.
 */
const USER = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Constant extensions of a client certificate (openssl x509 -extfile). */
const CLIENT_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = clientAuth',
  '',
].join('\n');

export interface ClientCertificate {
  cert: string;
  key: string;
  notAfter: string;
}

/**
 * A client certificate for CN=user, O=group signed by the CA. Node signs no certificates, so
 * `openssl x509 -req` does, from a CSR of a key made here; key and CA key pass through a 0700
 * temporary directory that is removed (argv only: the subject is built from checked values).
 */
export async function signClientCertificate(
  ca: { cert: string; key: string },
  user: string,
  group: string,
  days: number,
): Promise<ClientCertificate> {
  if (!USER.test(user))
    throw new OskError(`--user ${JSON.stringify(user)}: a user name is letters, digits and . _ @ - (at most 64)`, {
      exitCode: ExitCode.invalidInput,
      hint: 'for example --user alice@example.com',
    });
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new OskError(`--days ${days}: a whole number of days from 1 to 3650`, { exitCode: ExitCode.invalidInput });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const dir = await mkdtemp(join(tmpdir(), 'osk-kubeconfig-'));
  const file = (name: string) => join(dir, name);
  try {
    await writeFile(file('client.key'), key, { mode: 0o600 });
    await writeFile(file('ca.key'), ca.key, { mode: 0o600 });
    await writeFile(file('ca.crt'), ca.cert);
    await writeFile(file('client.ext'), CLIENT_EXTENSIONS);
    const openssl = async (args: string[]) => {
      const r = await runCommand(['openssl', ...args], { timeoutMs: 60_000 });
      if (r.code !== 0)
        throw new OskError(`openssl ${args[0]} failed (exit ${r.code}): ${r.out.slice(-500)}`, {
          hint: 'osk needs the openssl command (Debian package openssl)',
        });
    };
    await openssl(['req', '-new', '-key', file('client.key'), '-subj', `/O=${group}/CN=${user}`, '-out', file('csr')]);
    await openssl([
      ...['x509', '-req', '-in', file('csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key')],
      ...['-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', String(days)],
      ...['-extfile', file('client.ext'), '-out', file('client.crt')],
    ]);
    const cert = await readFile(file('client.crt'), 'utf8');
    return { cert, key, notAfter: new Date(new X509Certificate(cert).validTo).toISOString() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where clients reach the cluster's API server: https://<address>:6443, and what the address is. */
async function apiServerUrl(os: OpenStackClient, file: ClusterFile): Promise<{ url: string; via: string }> {
  const n = clusterNames(file.metadata.name);
  const at = (address: string, via: string) => ({ url: `https://${address}:6443`, via });
  if (file.spec.apiLoadBalancer.enabled) {
    const lb = await os.loadBalancer.loadBalancers.find(n.loadBalancer);
    if (lb) {
      const fip = (await os.network.floatingIps.list({ port_id: lb.vip_port_id }))[0];
      return fip
        ? at(fip.floating_ip_address, `the floating IP of load balancer ${n.loadBalancer}`)
        : at(lb.vip_address, `the VIP of load balancer ${n.loadBalancer}`);
    }
  } else {
    const first = clusterNodes(file)[0]!;
    const net = await os.network.networks.find(n.network);
    const port = net ? await os.network.ports.find(first.name, { network_id: net.id }) : undefined;
    const ip = port?.fixed_ips[0]?.ip_address;
    if (ip) return at(ip, `the port of ${first.name}`);
  }
  throw new OskError(`cluster ${file.metadata.name} has no API address in the cloud yet`, {
    exitCode: ExitCode.invalidInput,
    hint: `osk cluster create -f <file> first (osk cluster status -f <file> shows what exists)`,
  });
}

export interface KubeconfigOptions {
  user: string;
  days: number;
}

/** The kubeconfig (apiVersion v1, kind Config) of one cluster, one user and one context. */
export async function clusterKubeconfig(
  os: OpenStackClient,
  file: ClusterFile,
  store: SecretStore,
  opts: KubeconfigOptions,
): Promise<{ kubeconfig: Record<string, unknown>; via: string; notAfter: string }> {
  const name = file.metadata.name;
  if (!store.has(SECRET.caCert) || !store.has(SECRET.caKey))
    throw new OskError(`cluster ${name} has no CA in osk's state (${store.path})`, {
      exitCode: ExitCode.invalidInput,
      hint: 'osk cluster create -f <file> makes it; a kubeconfig can only be made where the cluster was created',
    });
  const ca = { cert: store.get(SECRET.caCert), key: store.get(SECRET.caKey) };
  const { url, via } = await apiServerUrl(os, file);
  const client = await signClientCertificate(ca, opts.user, adminGroup(file.spec.kubernetesVersion), opts.days);
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const context = `${opts.user}@${name}`;
  return {
    kubeconfig: {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server: url, 'certificate-authority-data': b64(ca.cert) } }],
      users: [
        { name: context, user: { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) } },
      ],
      contexts: [{ name: context, context: { cluster: name, user: context } }],
      'current-context': context,
      preferences: {},
    },
    via,
    notAfter: client.notAfter,
  };
}
