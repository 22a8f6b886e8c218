/**
 * Runs a rendered bootstrap Job the way its pod would, on this machine: the Job's exact command
 * (`osk bootstrap <task>`, here `node bin/osk.js bootstrap <task>`: the built CLI, dist/) with
 * the Job's env, secretKeyRefs read from the rendered Secrets. Callers map cluster hostnames to
 * the local servers with `overrides`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

type Obj = {
  kind: string;
  metadata: { name: string };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const OSK = join(process.cwd(), 'bin', 'osk.js');
const BUNDLED_NODE = join(process.cwd(), 'node_modules', 'node', 'bin', 'node');
/** The Node 22 the project installs, when there: bin/osk.js would otherwise start it itself (a second process). */
const NODE =
  existsSync(BUNDLED_NODE) && Number(process.versions.node.split('.')[0]) < 22 ? BUNDLED_NODE : process.execPath;

/** The Job whose name is `component` plus its hash suffix. */
export function renderedJob(objects: Obj[], component: string): Obj {
  const job = objects.find((o) => o.kind === 'Job' && new RegExp(`^${component}-[0-9a-f]{8}$`).test(o.metadata.name));
  assert.ok(job, `rendered Job ${component}`);
  return job;
}

function container(job: Obj): { command: string[]; env: any[] } {
  return job.spec.template.spec.containers[0];
}

/** The Job's env as its pod gets it: plain values, and secretKeyRefs read from the rendered Secrets. */
export function jobEnv(objects: Obj[], job: Obj): Record<string, string> {
  const secret = (name: string, key: string) => {
    const s = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
    assert.ok(s, `rendered Secret ${name} (render with --show-secrets)`);
    return s.stringData?.[key] ?? Buffer.from(s.data![key]!, 'base64').toString();
  };
  const env: Record<string, string> = {};
  for (const e of container(job).env ?? []) {
    env[e.name] = e.valueFrom ? secret(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key) : (e.value ?? '');
  }
  return env;
}

/**
 * Runs the Job's command as a process; `overrides` replaces env values (hostnames → 127.0.0.1).
 * With `stopAfterMs` the process gets SIGTERM then (code null): for a task that waits.
 */
export function runJob(
  objects: Obj[],
  job: Obj,
  overrides: Record<string, string> = {},
  stopAfterMs?: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...args] = container(job).command;
  assert.equal(cmd, 'osk', `${job.metadata.name} runs osk`);
  const env = { PATH: process.env.PATH!, ...jobEnv(objects, job), ...overrides };
  return new Promise((resolve) => {
    const p = spawn(NODE, [OSK, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = stopAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGTERM'), stopAfterMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Gives a scratch server's root the password a db-init Job logs in with over TCP
 * (MARIADB_ROOT_PASSWORD, as the mariadb image's root), through its socket.
 */
export function rootOverTcp(sock: string, rootPassword: string): void {
  execFileSync('mariadb', [
    '--no-defaults',
    `--socket=${sock}`,
    '-uroot',
    '-e',
    [
      // mariadb-install-db may or may not have made root@127.0.0.1: make sure, then set both.
      "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
      "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
      `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${rootPassword}'`,
      // The server names 127.0.0.1 localhost (reverse lookup): that account must match too.
      `ALTER USER 'root'@'localhost' IDENTIFIED BY '${rootPassword}'`,
    ].join('; '),
  ]);
}
