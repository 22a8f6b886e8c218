/**
 * The secret store: every credential of a cloud, generated once from a secure random source and
 * kept in a 0600 file (directory 0700) so that re-rendering never changes anything by accident.
 * Only an explicit key rotation replaces values: Keystone's fernet keys, by `osk rotate-keys`
 * or its schedule (`config/key-rotation.ts`), written here first so the store stays the truth.
 * Values are base62 or URL-safe base64, so they never need quoting or escaping in URLs, INI
 * files or shells.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { SecretDef } from '../catalog/types.js';
import { ExitCode, OskError } from '../errors.js';

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

function generate(kind: SecretDef['kind']): string {
  switch (kind) {
    case 'password':
      return randomToken(32);
    case 'fernet-key':
      return fernetKey();
    case 'token':
      return randomToken(48);
  }
}

export function defaultStorePath(cloud: string): string {
  const base =
    process.env.OSK_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'osk');
  return join(base, cloud, 'secrets.yaml');
}

interface StoreFile {
  apiVersion: 'osk.dev/v1alpha1';
  kind: 'SecretStore';
  cloud: string;
  secrets: Record<string, string>;
}

export class SecretStore {
  private constructor(
    readonly path: string,
    readonly cloud: string,
    private readonly values: Map<string, string>,
    private dirty: boolean,
  ) {}

  static async open(path: string, cloud: string): Promise<SecretStore> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new SecretStore(path, cloud, new Map(), false);
      throw new OskError(`cannot read the secret store ${path}: ${(e as Error).message}`);
    }
    let doc: Partial<StoreFile>;
    try {
      doc = parse(text) as Partial<StoreFile>;
    } catch (e) {
      throw new OskError(`the secret store ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, {
        exitCode: ExitCode.invalidInput,
        hint: 'restore it from a backup; osk never regenerates existing credentials by itself',
      });
    }
    if (doc?.kind !== 'SecretStore' || typeof doc.secrets !== 'object' || doc.secrets === null) {
      throw new OskError(`${path} is not an osk secret store (kind: SecretStore)`, { exitCode: ExitCode.invalidInput });
    }
    if (doc.cloud !== cloud) {
      throw new OskError(`the secret store ${path} belongs to cloud "${doc.cloud}", not "${cloud}"`, {
        exitCode: ExitCode.invalidInput,
        hint: 'pass the store of this cloud with --secrets-file',
      });
    }
    const values = new Map<string, string>();
    for (const [k, v] of Object.entries(doc.secrets)) {
      if (typeof v !== 'string' || v === '')
        throw new OskError(`the secret store ${path} has an empty or non-string value for ${k}`, {
          exitCode: ExitCode.invalidInput,
        });
      values.set(k, v);
    }
    return new SecretStore(path, cloud, values, false);
  }

  /** In memory only (tests, and `osk plan` which needs no values). */
  static memory(cloud: string, values: Record<string, string> = {}): SecretStore {
    return new SecretStore('', cloud, new Map(Object.entries(values)), false);
  }

  /** Make sure every declared secret has a value; generates only the missing ones. */
  ensure(defs: Iterable<SecretDef>): string[] {
    const created: string[] = [];
    for (const d of defs) {
      if (this.values.has(d.name)) continue;
      this.values.set(d.name, generate(d.kind));
      created.push(d.name);
      this.dirty = true;
    }
    return created;
  }

  /** Take a value from elsewhere (a running cloud's Secret) into the store. */
  adopt(name: string, value: string): void {
    if (!value) throw new Error(`empty value for ${name}`);
    if (this.values.get(name) === value) return;
    this.values.set(name, value);
    this.dirty = true;
  }

  /** A new value for an existing credential (a key rotation); saved by save(). */
  replace(name: string, value: string): void {
    if (!this.values.has(name)) throw new Error(`secret ${name} is not in the store`);
    this.adopt(name, value);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`secret ${name} is not in the store (ensure() was not called for it)`);
    return v;
  }

  entries(): Record<string, string> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Write when something was generated: to a temp file then rename, so a crash never truncates it. */
  async save(): Promise<void> {
    if (!this.dirty || !this.path) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await chmod(dirname(this.path), 0o700);
    const doc: StoreFile = {
      apiVersion: 'osk.dev/v1alpha1',
      kind: 'SecretStore',
      cloud: this.cloud,
      secrets: this.entries(),
    };
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(
      tmp,
      `# osk secret store: credentials of cloud ${this.cloud}. Keep it safe; back it up.\n${stringify(doc)}`,
      { mode: 0o600 },
    );
    await rename(tmp, this.path);
    this.dirty = false;
  }
}
