/**
 * The entry of osk's V8 startup snapshot (issue 13): validate, plan and render start from a heap
 * in which the CLI, the schemas, the catalog and the YAML writer are already evaluated, and the
 * functions these verbs run already compiled, instead of loading and compiling ~2 MB of modules
 * per command. scripts/snapshot.ts bundles this file into one script (a V8 snapshot holds no
 * module loader, so every other verb's dynamic import is left out) and runs
 * `node --build-snapshot` on it; bin/osk.js starts these verbs from the snapshot when the running
 * node is the one that built it.
 *
 * What the snapshot keeps must not depend on where or when it was built: the warm-up's results
 * are dropped, nothing here keeps the environment, the working directory or the clock, and the
 * warm-up's credentials are fixed placeholders, so no random value is drawn (Node batches
 * randomUUID's bytes in the heap: drawn here, every run would hand out the same ones).
 * process.argv, env, cwd and the streams are the running process's: Node sets them up again
 * after deserialising.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import type { SecretDef } from '../config/secrets.js';
import { buildModel } from '../plan/model.js';
import { loadCloudFile } from '../state/cloud-file.js';
import { SecretStore } from '../state/secret-store.js';
// Evaluated now, kept in the snapshot: the verbs' actions and what processIo.stdin imports.
import '../spec/load.js';
import './file-actions.js';
import type { Io } from './io.js';
import { main } from './main.js';

/** The shape of each kind of credential, none of them secret: the warm-up draws no random value. */
const PLACEHOLDER: Record<SecretDef['kind'], string> = {
  password: 'p'.repeat(32),
  'fernet-key': `${'f'.repeat(43)}=`,
  token: 't'.repeat(48),
  uuid: '00000000-0000-4000-8000-000000000000',
  'cephx-key': `AQ${'A'.repeat(36)}==`,
};

/** A secret store at `path` holding a placeholder for every credential the cloud file needs. */
export async function placeholderStore(cloudFile: string, path: string): Promise<void> {
  const file = await loadCloudFile(cloudFile);
  const store = await SecretStore.open(path, file.metadata.name);
  for (const d of buildModel(file).secrets.values()) store.adopt(d.name, PLACEHOLDER[d.kind]);
  await store.save();
}

/**
 * Runs validate, plan and render on a cloud file as a user would, output dropped, so that V8
 * compiles every function they run before the snapshot is taken (it keeps their bytecode, not
 * their optimised code); render reads a store of placeholders and so generates nothing. Throws
 * when a verb fails: the build stops rather than snapshot a half-warmed CLI.
 */
async function warmUp(cloudFile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'osk-snapshot-'));
  try {
    const store = join(dir, 'secrets.yaml');
    await placeholderStore(cloudFile, store);
    const nowhere: Io = { stdout: () => undefined, stderr: () => undefined, stdin: async () => '' };
    const verbs = [
      ['validate', '-f', cloudFile],
      ['validate', '-f', cloudFile, '-o', 'json'],
      ['plan', '-f', cloudFile],
      ['render', '-f', cloudFile, '--secrets-file', store, '--show-secrets'],
      ['render', '-f', cloudFile, '--secrets-file', store, '-o', 'json'],
    ];
    for (const argv of verbs) {
      const code = await main(argv, nowhere);
      if (code !== 0) throw new Error(`the snapshot's warm-up: osk ${argv.join(' ')} exited ${code}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Ends the process with `code` once the verb is done. When nothing is left to write, it exits at
 * once: a natural exit first tears V8's heap down piece by piece (the snapshot's and the
 * render's), which the kernel does anyway when the process ends; that was about 5 ms of a
 * render's 110 (issue 13). The file verbs await all their work, so after main nothing else
 * runs. Output still queued (a pipe whose reader is slow) is left to the natural exit, which
 * writes it all.
 */
function exitWhenWritten(code: number): void {
  process.exitCode = code;
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
}

if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(async () => {
    // Started as `node --snapshot-blob BLOB verb args…`: argv[1] is the verb.
    exitWhenWritten(await main(process.argv.slice(1)));
  });
  // scripts/snapshot.ts passes the cloud files to warm up with (the examples) after the script;
  // Node takes the snapshot once this is done.
  void (async () => {
    for (const f of process.argv.slice(2)) await warmUp(f);
  })().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
