/** Shared by the Kubernetes tests and bench:apply: what a kwok cluster lacks for a cloud. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { goCommand } from '../cluster/build.js';

/** The osk command as users run it (bin/osk.js → dist/: `npm run build` first). */
export const OSK = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin', 'osk.js');

export interface OskRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs osk with env, each stderr line handed to progress as it comes (a test's diagnostics). */
export function runOsk(args: string[], env: NodeJS.ProcessEnv, progress: (line: string) => void): Promise<OskRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [OSK, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      for (const l of String(d).split('\n')) if (l.trim()) progress(l);
    });
    p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 137 : 1), stdout, stderr }));
  });
}

/** Why the cluster tests cannot run here (no Go toolchain, or switched off), if so. */
export function clusterSkipReason(): string | undefined {
  if (process.env.OSK_SKIP_CLUSTER_TESTS) return 'OSK_SKIP_CLUSTER_TESTS is set';
  try {
    goCommand();
  } catch (e) {
    return String(e);
  }
  return undefined;
}

/**
 * kwok runs no storage driver: a no-provisioner StorageClass and pre-made volumes let the real
 * PersistentVolume controller bind the clouds' claims.
 */
export async function provisionVolumes(
  api: KubeApi,
  count: number,
  storageClass = 'standard',
  opts: { isDefault?: boolean } = {},
): Promise<void> {
  const annotations = opts.isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : undefined;
  await api.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
    ok: [409],
    body: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClass, ...(annotations ? { annotations } : {}) },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'Immediate',
    },
  });
  for (let i = 0; i < count; i++) {
    // The first class keeps the plain names older tests know; others get their own.
    const name = storageClass === 'standard' ? `pv-${i}` : `pv-${storageClass}-${i}`;
    await api.request('POST', '/api/v1/persistentvolumes', {
      ok: [409],
      body: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name },
        spec: {
          capacity: { storage: '100Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: storageClass,
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path: `/tmp/osk-${name}` },
        },
      },
    });
  }
}

export const cloudYaml = (name: string, extra = '') => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: ${name}
  namespace: ${name}
spec:
  profile: minimal
  storage:
    storageClass: standard
${extra}`;
