/**
 * A cluster's credentials, kept in its secret store (state/secret-store.ts: 0600 in a 0700
 * directory, written once): kubeadm's bootstrap token and certificate key, the cluster CA (made
 * here, so joining nodes can pin its key before the first control plane exists), and the
 * application credential `create` makes for the in-cluster cloud controller.
 */
import { createHash, generateKeyPairSync, randomBytes, randomInt, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OskError } from '../../errors.js';
import type { JoinSecrets } from '../../plan/cluster-user-data.js';
import { runCommand } from '../../run-command.js';
import type { SecretStore } from '../../state/secret-store.js';

export const SECRET = {
  appCredentialId: 'application-credential-id',
  appCredentialSecret: 'application-credential-secret',
  bootstrapToken: 'bootstrap-token',
  certificateKey: 'certificate-key',
  caCert: 'ca-crt',
  caKey: 'ca-key',
} as const;

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const token = (n: number) => Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join('');

/**
 * A self-signed CA for ten years. Node signs no certificates, so `openssl req` does it from a key
 * made here (argv only; the key passes through a 0700 temporary directory that is removed).
 */
async function makeCa(): Promise<{ cert: string; key: string }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const dir = await mkdtemp(join(tmpdir(), 'osk-ca-'));
  try {
    await writeFile(join(dir, 'ca.key'), key, { mode: 0o600 });
    const r = await runCommand(
      [
        'openssl',
        'req',
        '-x509',
        '-new',
        '-key',
        join(dir, 'ca.key'),
        '-subj',
        '/CN=kubernetes',
        '-days',
        '3650',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment',
      ],
      { timeoutMs: 60_000 },
    );
    if (r.code !== 0 || !r.out.includes('BEGIN CERTIFICATE'))
      throw new OskError(`openssl could not make the cluster CA (exit ${r.code}): ${r.out.slice(-500)}`, {
        hint: 'osk needs the openssl command (Debian package openssl)',
      });
    const cert = r.out.slice(r.out.indexOf('-----BEGIN CERTIFICATE-----'));
    return { cert: cert.slice(0, cert.indexOf('-----END CERTIFICATE-----') + 25).concat('\n'), key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** kubeadm's pin of a CA: sha256 of its SubjectPublicKeyInfo. */
function caCertHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The join secrets, made the first time and read from the store after that. */
export async function ensureJoinSecrets(store: SecretStore): Promise<JoinSecrets> {
  if (!store.has(SECRET.bootstrapToken)) store.adopt(SECRET.bootstrapToken, `${token(6)}.${token(16)}`);
  if (!store.has(SECRET.certificateKey)) store.adopt(SECRET.certificateKey, randomBytes(32).toString('hex'));
  if (!store.has(SECRET.caCert) || !store.has(SECRET.caKey)) {
    const ca = await makeCa();
    store.adopt(SECRET.caKey, ca.key);
    store.adopt(SECRET.caCert, ca.cert);
  }
  await store.save();
  const caCert = store.get(SECRET.caCert);
  return {
    bootstrapToken: store.get(SECRET.bootstrapToken),
    certificateKey: store.get(SECRET.certificateKey),
    caCert,
    caKey: store.get(SECRET.caKey),
    caCertHash: caCertHash(caCert),
  };
}
