/**
 * The secret store: every credential of a cloud, generated once (config/secrets.ts) and kept in
 * a 0600 file (directory 0700) so that re-rendering never changes anything by accident. Only an
 * explicit key rotation replaces values: Keystone's fernet and credential keys, by
 * `osk rotate-keys [--credentials]` or their schedules (`config/key-rotation.ts`,
 * `config/credential-rotation.ts`), written here first so the store stays the truth.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import { toPlainYaml } from '../plain-yaml.js';
import { generate, type SecretDef } from '../config/secrets.js';
import { ExitCode, OskError } from '../errors.js';

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
      `# osk secret store: credentials of cloud ${this.cloud}. Keep it safe; back it up.\n${toPlainYaml(doc)}`,
      { mode: 0o600 },
    );
    await rename(tmp, this.path);
    this.dirty = false;
  }
}
