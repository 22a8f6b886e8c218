/** metadata.labels of the cloud file end up on every rendered object and pod, beside osk's own. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SecretStore } from '../../state/secret-store.js';
import { render } from './render.js';
import { parseCloudFile } from '../../spec/load.js';
import { allObjects } from './objects.js';

test('metadata.labels are on every rendered object and pod template, and osk keeps its own labels', () => {
  const text = readFileSync('examples/ha.yaml', 'utf8').replace(
    '  namespace: openstack\n',
    '  namespace: openstack\n  labels:\n    example.com/team: cloud-platform\n    cost-center: "4711"\n',
  );
  const file = parseCloudFile(text, 'ha.yaml');
  const { groups } = render(file, SecretStore.memory(file.metadata.name));
  const objects = allObjects(groups).map(
    (o) =>
      o as {
        kind: string;
        metadata: { name: string; labels?: Record<string, string> };
        spec?: {
          template?: { metadata?: { labels?: Record<string, string> } };
          jobTemplate?: { spec: { template: { metadata?: { labels?: Record<string, string> } } } };
        };
      },
  );
  assert.ok(objects.length > 50);
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata.name}`;
    assert.equal(o.metadata.labels?.['example.com/team'], 'cloud-platform', where);
    assert.equal(o.metadata.labels?.['cost-center'], '4711', where);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'osk', where);
    const template = o.spec?.template ?? o.spec?.jobTemplate?.spec.template;
    if (template?.metadata?.labels)
      assert.equal(template.metadata.labels['example.com/team'], 'cloud-platform', `${where} pod template`);
  }
});
