/**
 * A real Keystone database for the credential key rotation tests: Debian's python3-keystone
 * (keystone-manage) on a SQLite file, with credentials created and read back through Keystone's
 * own credential API and Fernet provider. Nothing here is a stand-in for Keystone: what the tests
 * see is what keystone-manage credential_rotate / credential_migrate did to real rows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the real Keystone cannot run here, or undefined. */
export function keystoneSkipReason(): string | undefined {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import keystone.cmd.manage'], { stdio: 'ignore' });
  if (r.status !== 0) return 'python3-keystone is not installed (scripts/install-oslo-validator.sh installs it)';
  if (spawnSync('keystone-manage', ['--version'], { stdio: 'ignore' }).status !== 0)
    return 'keystone-manage is not on PATH';
  return undefined;
}

const PY = `
import json, sys, uuid
import keystone.conf
from keystone.common import driver_hints, sql
from keystone.server import backends
keystone.conf.configure()
sql.initialize()
keystone.conf.CONF(args=[], project="keystone", default_config_files=[sys.argv[1]])
d = backends.load_backends()
api, provider = d["credential_api"], d["credential_provider_api"]
if sys.argv[2] == "create":
    for blob in sys.argv[3:]:
        i = uuid.uuid4().hex
        api.create_credential(i, {"id": i, "user_id": "u", "project_id": "p", "type": "ec2", "blob": blob})
else:
    out = []
    for c in api.driver.list_credentials(driver_hints.Hints()):
        try:
            blob = provider.decrypt(c["encrypted_blob"])
        except Exception:
            blob = None
        out.append({"keyHash": c["key_hash"], "blob": blob})
    print(json.dumps(out))
`;

export interface StoredCredential {
  /** SHA-1 of the key that encrypted it (Keystone's key_hash). */
  keyHash: string;
  /** The decrypted blob, or null when the given keys cannot decrypt it. */
  blob: string | null;
}

/** SHA-1 of a key, as Keystone records it. */
export const keyHash = (key: string) => createHash('sha1').update(key).digest('hex');

/** A Keystone database with its schema, and a keystone.conf pointing at it (and nothing else). */
export class KeystoneDb {
  readonly dir: string;
  readonly conf: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'osk-keystone-db-'));
    this.conf = join(this.dir, 'keystone.conf');
    writeFileSync(
      this.conf,
      `[DEFAULT]\nuse_stderr = true\n[database]\nconnection = sqlite:///${join(this.dir, 'keystone.db')}\n`,
    );
    execFileSync('keystone-manage', ['--config-file', this.conf, 'db_sync'], { stdio: 'ignore' });
  }

  /** A keystone.conf overlay whose credential repository holds `keys` (index order). */
  private withKeys(keys: readonly string[]): string {
    const dir = mkdtempSync(join(this.dir, 'keys-'));
    const cred = join(dir, 'credential');
    const token = join(dir, 'token');
    mkdirSync(cred, { mode: 0o700 });
    mkdirSync(token, { mode: 0o700 });
    for (const [i, k] of keys.entries()) writeFileSync(join(cred, String(i)), k, { mode: 0o600 });
    // The token provider refuses an empty repository; a credential key serves as a token key here.
    writeFileSync(join(token, '0'), keys[0]!, { mode: 0o600 });
    const conf = join(dir, 'keys.conf');
    writeFileSync(
      conf,
      `[DEFAULT]\nuse_stderr = true\n[database]\nconnection = sqlite:///${join(this.dir, 'keystone.db')}\n[fernet_tokens]\nkey_repository = ${token}\n[fernet_receipts]\nkey_repository = ${token}\n[credential]\nkey_repository = ${cred}\n`,
    );
    return conf;
  }

  private python(keys: readonly string[], args: string[]): string {
    return execFileSync('/usr/bin/python3', ['-c', PY, this.withKeys(keys), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  }

  /** Create credentials with these blobs, encrypted by Keystone with the primary of `keys`. */
  create(keys: readonly string[], ...blobs: string[]): void {
    this.python(keys, ['create', ...blobs]);
  }

  /** Every stored credential, decrypted with `keys` where they can. */
  list(keys: readonly string[]): StoredCredential[] {
    return (JSON.parse(this.python(keys, ['list'])) as StoredCredential[]).map((c) => ({
      ...c,
      // Keystone stores the blob JSON-encoded.
      blob: c.blob === null ? null : (JSON.parse(c.blob) as string),
    }));
  }
}
