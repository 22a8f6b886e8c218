/** Plain YAML for kubectl and GitOps. */
import { stringify } from 'yaml';
import type { KubeObject } from './objects.js';

/**
 * YAML 1.1 output so that strings such as "yes" or "on" are quoted (Kubernetes' decoder reads
 * them as booleans otherwise); no line folding, so long values stay on one line.
 */
function toYaml(obj: unknown): string {
  return stringify(obj, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

export function toMultiDocYaml(objects: KubeObject[]): string {
  return objects.map((o) => `---\n${toYaml(o.toJSON())}`).join('');
}
