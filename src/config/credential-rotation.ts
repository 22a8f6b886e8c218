/**
 * Keystone credential key rotation, the pure part both targets follow (the supervisor and
 * `osk rotate-keys --credentials` on one host, a CronJob on Kubernetes).
 *
 * Credential keys encrypt secrets stored in Keystone's database (EC2 and application secrets,
 * TOTP seeds). Each stored credential records the SHA-1 of the key that encrypted it. Keystone's
 * procedure (keystone/cmd/cli.py, CredentialRotate and CredentialMigrate):
 *   - `keystone-manage credential_rotate` refuses unless every stored credential is encrypted
 *     with the primary key; then the staged key 0 becomes the primary, a new staged key is made,
 *     and only the old primary is kept beside them (3 keys, Keystone's fixed MAX_ACTIVE_KEYS for
 *     credentials). Older keys are dropped: the check said nothing needs them.
 *   - `keystone-manage credential_migrate` re-encrypts every credential not encrypted with the
 *     primary. It must run after each rotation, before the next one.
 *
 * osk runs both on a scratch copy of the repository and then saves the rotated set in one step
 * (the secret store on a host, the Secret on Kubernetes), so a run that stops anywhere leaves a
 * saved set that decrypts every stored credential:
 *   1. migrate with the saved set (finishes what an interrupted run left);
 *   2. credential_rotate on the copy (Keystone's check; nothing is saved if it refuses);
 *   3. check that the copy is exactly Keystone's rotation of the saved set (this module);
 *   4. save the rotated set: it still holds the old primary, so every credential decrypts;
 *   5. migrate with the rotated set: every credential onto the new primary.
 * The new primary was the staged key, which every Keystone already had, so a Keystone that has
 * not yet seen the rotated set can still decrypt what step 5 wrote.
 *
 * Keys are kept dense like the fernet keys (config/key-rotation.ts): 0 staged, n-1 primary.
 */
import { rotateKeySet } from './key-rotation.js';
import { oneLine } from './one-line.js';

/** Keystone's fixed size of a credential key repository (keystone/credential/providers/fernet). */
export const CREDENTIAL_KEYS = 3;

/**
 * A key repository's files (name → content) as keys in index order, the way Keystone reads it:
 * numeric names only, empty files ignored, ordered by number. Renumbered densely (0 … n-1):
 * Keystone only cares about the order.
 */
export function keysOfRepository(files: Record<string, string>): string[] {
  return Object.entries(files)
    .filter(([name, key]) => /^[0-9]+$/.test(name) && key.length > 0)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, key]) => key);
}

/** Keystone's credential rotation of `keys` (index order) with `newKey` as the new staged key. */
export function rotateCredentialKeys(keys: readonly string[], newKey: string): string[] {
  return rotateKeySet(keys, CREDENTIAL_KEYS, () => newKey);
}

/**
 * Why `after` is not Keystone's rotation of `before`, or undefined. A rotation that did nothing
 * (keystone-manage skips a repository it cannot write, with exit 0), reused a key, or dropped
 * the old primary must never be saved: the old primary may still encrypt credentials.
 */
export function credentialRotationProblem(before: readonly string[], after: readonly string[]): string | undefined {
  if (before.length < 2) return `the saved repository holds ${before.length} keys, a repository holds at least 2`;
  const fresh = after[0];
  if (fresh === undefined || before.includes(fresh))
    return 'keystone-manage credential_rotate made no new staged key (the repository is unchanged)';
  const expected = rotateCredentialKeys(before, fresh);
  if (after.length !== expected.length || after.some((k, i) => k !== expected[i]))
    return `keystone-manage credential_rotate left ${after.length} keys that are not the staged key as primary, the old primary kept and a new staged key (expected ${expected.length} keys)`;
  return undefined;
}

/**
 * The keystone.conf overlay of a rotation's scratch run: the credential repository is the copy,
 * and the token providers, which keystone-manage loads and which refuse an empty key
 * repository, get a throwaway key. The rotation signs no token, so it is never given the
 * cloud's token keys.
 */
export function scratchKeystoneConf(credentialDir: string, throwawayFernetDir: string): string {
  oneLine('the scratch credential key repository', credentialDir);
  oneLine('the scratch token key repository', throwawayFernetDir);
  return [
    '[token]',
    'provider = fernet',
    '[fernet_tokens]',
    `key_repository = ${throwawayFernetDir}`,
    '[fernet_receipts]',
    `key_repository = ${throwawayFernetDir}`,
    '[credential]',
    `key_repository = ${credentialDir}`,
    '',
  ].join('\n');
}
