/** Plain YAML for kubectl and GitOps: one document per object (src/plain-yaml.ts says how). */
import { toPlainYaml } from '../../plain-yaml.js';
import type { KubeObject } from './objects.js';

export function toMultiDocYaml(objects: KubeObject[]): string {
  return objects.map((o) => `---\n${toPlainYaml(o)}`).join('');
}
