/**
 * The example cloud files (examples/*.yaml of kind Cloud: the others, e.g. a KubernetesCluster,
 * are not rendered to objects) as osk renders them, with fresh credentials: for tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseCloudFile } from '../../../spec/load.js';
import { SecretStore } from '../../../state/secret-store.js';
import { allObjects, type KubeObject } from '../objects.js';
import { render } from '../render.js';

export function renderedExamples(): { name: string; objects: KubeObject[] }[] {
  return readdirSync('examples')
    .filter((f) => f.endsWith('.yaml'))
    .map((name) => ({ name, text: readFileSync(`examples/${name}`, 'utf8') }))
    .filter(({ text }) => /^kind: Cloud$/m.test(text))
    .map(({ name, text }) => {
      const cloud = parseCloudFile(text, name);
      return { name, objects: allObjects(render(cloud, SecretStore.memory(cloud.metadata.name)).groups) };
    });
}
