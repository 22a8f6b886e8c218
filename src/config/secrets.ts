/**
 * What a credential is and how one is made: generated once from a secure random source, as
 * base62, URL-safe base64 or a UUID, so a value never needs quoting or escaping in URLs, INI
 * files or shells. The store that keeps them is state/secret-store.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface SecretDef {
  /** Key in the secret store, e.g. "nova-db-password". */
  name: string;
  /**
   * `uuid`: an identifier other programs must agree on (libvirt's Ceph secret), stable like a
   * credential. `cephx-key`: a Ceph entity's secret key (the one-host Ceph, catalog/ceph-host.ts).
   */
  kind: 'password' | 'fernet-key' | 'token' | 'uuid' | 'cephx-key';
  /** The Kubernetes Secret and key it is rendered into. */
  k8sSecret: string;
  key: string;
  /** Component that creates the credential in its backing system (DB user, Keystone user, …). */
  createdBy?: string;
  description: string;
  /**
   * Rotated by the cloud itself on a schedule, and how: Keystone's token keys (`fernet`,
   * config/key-rotation.ts) or its credential encryption keys (`credential`, with a migration
   * of the stored credentials, config/credential-rotation.ts). On Kubernetes the cluster's
   * Secret is the live truth after creation and apply takes it back into the store.
   */
  rotates?: 'fernet' | 'credential';
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform base62 string (rejection sampling, no modulo bias). */
export function randomToken(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A Fernet key: 32 random bytes, URL-safe base64 (what keystone-manage fernet_setup writes). */
export function fernetKey(): string {
  return `${randomBytes(32).toString('base64url')}=`;
}

/**
 * A cephx secret as Ceph encodes it (CryptoKey: type u16 = 1 for AES, creation time as u32
 * seconds and u32 nanoseconds, length u16 = 16, then 16 random bytes; little-endian), in base64:
 * what `ceph-authtool --gen-print-key` prints. Made here so the key is in osk's store from the
 * start, like every other credential, rather than read back from a Ceph tool.
 */
export function cephxKey(now = Date.now()): string {
  const key = Buffer.alloc(28);
  key.writeUInt16LE(1, 0);
  key.writeUInt32LE(Math.floor(now / 1000), 2);
  key.writeUInt32LE(0, 6);
  key.writeUInt16LE(16, 10);
  randomBytes(16).copy(key, 12);
  return key.toString('base64');
}

export function generate(kind: SecretDef['kind']): string {
  switch (kind) {
    case 'password':
      return randomToken(32);
    case 'fernet-key':
      return fernetKey();
    case 'token':
      return randomToken(48);
    case 'uuid':
      return randomUUID();
    case 'cephx-key':
      return cephxKey();
  }
}
