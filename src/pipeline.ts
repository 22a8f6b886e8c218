/**
 * The pipeline, end to end: cloud file → CloudModel → Kubernetes objects. The CLI and the tests
 * call these; each step is pure except for reading the file and the secret store.
 */
import type { SecretStore } from './config/secrets.js';
import { buildModel, type CloudModel } from './plan/model.js';
import type { CloudFile } from './spec/schema.js';
import { renderKubernetes, type RenderedGroup } from './targets/kubernetes/render.js';

export function plan(file: CloudFile): CloudModel {
  return buildModel(file);
}

/** Render with the store's credentials, generating (in memory) any the store lacks. */
export function render(
  file: CloudFile,
  store: SecretStore,
): { model: CloudModel; groups: RenderedGroup[]; created: string[] } {
  // The set of credentials does not depend on their values: a first pass with placeholders
  // tells which ones must exist.
  const created = store.ensure(buildModel(file).secrets.values());
  const model = buildModel(file, { secrets: (name) => store.get(name) });
  const groups = renderKubernetes(model, (name) => store.get(name));
  validateObjects(groups);
  return { model, groups, created };
}

/** Every object against the Kubernetes OpenAPI schema; a failure here is an osk bug. */
function validateObjects(groups: RenderedGroup[]): void {
  const problems: string[] = [];
  for (const g of groups) {
    for (const o of g.objects) {
      try {
        o.validate();
      } catch (e) {
        problems.push(`${o.kind}/${o.metadata?.name}: ${(e as Error).message}`);
      }
    }
  }
  if (problems.length)
    throw new Error(`rendered objects fail the Kubernetes schema (an osk bug):\n  ${problems.join('\n  ')}`);
}
