/**
 * Keystone credential key rotation on one host: `osk rotate-keys --credentials` and the
 * supervisor's schedule (credentialKeyRotation.every). The steps are config/credential-rotation.ts:
 * Keystone's own credential_migrate and credential_rotate run on a scratch copy of the
 * repository (a 0700 directory of the cloud's run/), the rotated set is saved in the secret store
 * (the one step that changes it), the key files are written from the store, and
 * credential_migrate re-encrypts the stored credentials with the new primary.
 *
 * A run that stops anywhere loses nothing: before the store is saved nothing changed; after it,
 * the saved set still holds the old primary. Each run first writes the key files from the store
 * (finishing a run that stopped between the save and the files) and migrates (finishing one that
 * stopped before its migration). The whole run holds the cloud's key lock, like a fernet
 * rotation, so `osk up` never writes back keys it read before.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentialRotationProblem, keysOfRepository, scratchKeystoneConf } from '../../config/credential-rotation.js';
import { fernetKey } from '../../config/secrets.js';
import { OskError } from '../../errors.js';
import { runCommand } from '../../run-command.js';
import type { StatePaths } from '../../state/paths.js';
import { SecretStore } from '../../state/secret-store.js';
import {
  type CredentialKeyRepository,
  credentialsLastFile,
  readKeyRotationConfig,
  type ScheduledRotation,
  withKeyLock,
  writeKeyRepository,
} from './key-rotation.js';

interface CredentialRotationResult {
  set: string;
  dir: string;
  keys: number;
  at: string;
}

/** Rotate the credential keys now and migrate the stored credentials. */
export async function rotateLocalCredentialKeys(
  paths: StatePaths,
  who: string,
  waitMs = 30_000,
): Promise<CredentialRotationResult> {
  const config = await readKeyRotationConfig(paths);
  const repo = config?.credentials;
  if (!config || !repo)
    throw new OskError(`cloud ${paths.root} has no credential key rotation settings`, {
      hint: 'run osk up (it writes them), then rotate',
    });
  return withKeyLock(paths, who, waitMs, async () => {
    const store = await SecretStore.open(paths.secrets, config.cloud);
    const keys = repo.names.map((n) => store.get(n));
    // The files Keystone reads are the store's (a run that stopped after saving is finished here).
    await writeKeyRepository(repo.dir, keys);
    await mkdir(paths.run, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(join(paths.run, 'osk-credential-rotation-'));
    try {
      const rotated = await rotateScratch(repo, keys, work);
      for (const [i, k] of rotated.entries()) store.replace(repo.names[i]!, k);
      // The one step: the rotated set, which still holds the old primary, becomes the truth.
      await store.save();
      await writeKeyRepository(repo.dir, rotated);
      await keystoneManage(
        repo,
        work,
        'credential_migrate',
        'the rotated keys are saved and decrypt every credential; rotating again finishes the migration',
      );
      const at = new Date().toISOString();
      await writeFile(credentialsLastFile(paths), `${at}\n`, { mode: 0o600 });
      return { set: repo.set, dir: repo.dir, keys: rotated.length, at };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

/** Steps 1-3 on a scratch copy: migrate, Keystone's checked rotation, the result checked. */
async function rotateScratch(repo: CredentialKeyRepository, keys: string[], work: string): Promise<string[]> {
  const scratch = join(work, 'credential-keys');
  const unused = join(work, 'unused-token-keys');
  await writeKeyRepository(scratch, keys);
  await writeKeyRepository(unused, [fernetKey()]);
  await writeFile(join(work, 'scratch.conf'), scratchKeystoneConf(scratch, unused), { mode: 0o600 });
  await keystoneManage(repo, work, 'credential_migrate', 'the saved keys are unchanged');
  await keystoneManage(repo, work, 'credential_rotate', 'the saved keys are unchanged');
  const files: Record<string, string> = {};
  for (const f of await readdir(scratch)) files[f] = await readFile(join(scratch, f), 'utf8');
  const rotated = keysOfRepository(files);
  const problem = credentialRotationProblem(keys, rotated);
  if (problem) throw new OskError(`${problem}; the saved keys are unchanged`);
  if (rotated.length !== repo.names.length)
    throw new Error(`catalog bug: ${repo.set} has ${repo.names.length} keys, a rotation gives ${rotated.length}`);
  return rotated;
}

/** keystone-manage with the cloud's keystone.conf and, last, the scratch overlay. */
async function keystoneManage(
  repo: CredentialKeyRepository,
  work: string,
  command: string,
  state: string,
): Promise<void> {
  // As root, keystone-manage insists on an owner for the key files it creates (the scratch copy).
  const owner = process.getuid?.() === 0 ? ['--keystone-user', 'root', '--keystone-group', 'root'] : [];
  const r = await runCommand([...repo.keystoneManage, '--config-file', join(work, 'scratch.conf'), command, ...owner], {
    timeoutMs: 600_000,
  });
  if (r.code !== 0)
    throw new OskError(
      `keystone-manage ${command} ${r.timedOut ? 'timed out' : `failed (exit ${r.code})`}; ${state}:\n${r.out.trim().split('\n').slice(-15).join('\n')}`,
      { hint: 'Keystone and its database must be up (osk status)' },
    );
}

/** The supervisor's schedule of credential key rotations. */
export function credentialRotation(paths: StatePaths): ScheduledRotation {
  return {
    stamp: credentialsLastFile(paths),
    everySeconds: (c) => c.credentials?.everySeconds,
    rotate: async () => {
      const r = await rotateLocalCredentialKeys(paths, 'the supervisor (scheduled credential key rotation)', 0);
      return `${r.at} rotated keystone credential keys: ${r.set} (${r.keys} keys), stored credentials re-encrypted`;
    },
    // A failed run costs several keystone-manage starts: not again every minute.
    retryAfterMs: 15 * 60_000,
    startsClock: true,
  };
}
