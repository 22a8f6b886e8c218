/** The example cloud files (examples/*.yaml) as osk renders them, with fresh credentials: for tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { parseCloudFile } from '../../../spec/load.js';
import { SecretStore } from '../../../state/secret-store.js';
import { allObjects, type KubeObject } from '../objects.js';
import { render } from '../render.js';

export function renderedExamples(): { name: string; objects: KubeObject[] }[] {
  return readdirSync('examples')
    .filter((f) => f.endsWith('.yaml'))
    .map((name) => {
      const cloud = parseCloudFile(readFileSync(`examples/${name}`, 'utf8'), name);
      return { name, objects: allObjects(render(cloud, SecretStore.memory(cloud.metadata.name)).groups) };
    });
}
