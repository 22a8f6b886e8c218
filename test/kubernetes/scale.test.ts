/**
 * A 200-node cluster (3 control plane, 200 compute; kwok nodes): osk apply gets the compute
 * DaemonSets onto every compute node and gates on all of them being ready.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createReporter } from '../../src/cli/progress.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { render } from '../../src/targets/kubernetes/render.js';
import { parseCloudFile } from '../../src/spec/load.js';
import { applyCloud } from '../../src/targets/kubernetes/apply.js';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { startCluster, type Cluster } from '../cluster/control-plane.js';
import { cloudYaml, clusterSkipReason, provisionVolumes } from './support.js';

describe('osk apply on 200 compute nodes', { skip: clusterSkipReason(), concurrency: false }, () => {
  let cluster: Cluster;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-scale-'));
    cluster = await startCluster({
      nodes: 203,
      dir: join(dir, 'cluster'),
      stopOnExit: true,
      log: () => undefined,
      timeoutMs: 600_000,
    });
  });
  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every compute DaemonSet has one ready pod on each of the 200 compute nodes', {
    timeout: 1_200_000,
  }, async () => {
    const api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    await provisionVolumes(api, 8);
    const file = parseCloudFile(cloudYaml('big'), 'big.yaml');
    const { model, groups } = render(file, SecretStore.memory('big'));
    const lines: string[] = [];
    const r = await applyCloud(model, groups, api, {
      reporter: createReporter({ write: (s: string) => (lines.push(s), true), isTTY: false }, { plain: true }),
      timeoutSeconds: 900,
      prune: true,
      pruneVolumes: false,
    });
    assert.equal(r.failed.size, 0, lines.join(''));
    for (const ds of ['nova-compute', 'libvirt', 'openvswitch', 'ovn-controller', 'neutron-ovn-metadata-agent']) {
      const st = (
        await api.request<{ status: { desiredNumberScheduled: number; numberReady: number } }>(
          'GET',
          `/apis/apps/v1/namespaces/big/daemonsets/${ds}`,
        )
      ).body.status;
      assert.equal(st.desiredNumberScheduled, 200, `${ds} desired`);
      assert.equal(st.numberReady, 200, `${ds} ready`);
    }
    // Nothing of the compute agents landed on a control-plane node.
    const pods = (
      await api.request<{ items: { spec: { nodeName?: string } }[] }>('GET', '/api/v1/namespaces/big/pods', {
        query: { labelSelector: 'osk.dev/component=nova-compute' },
      })
    ).body.items;
    assert.equal(pods.length, 200);
    assert.ok(pods.every((p) => p.spec.nodeName?.startsWith('compute-')));
  });
});
