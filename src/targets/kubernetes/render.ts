/**
 * Cloud file → Kubernetes objects, grouped in apply order: the core (namespace, credentials,
 * components in wave order; components.ts), then each add-on's group. Pure apart from the
 * secret store, whose missing credentials are generated in memory.
 */
import type { SecretStore } from '../../state/secret-store.js';
import { buildModel, type CloudModel } from '../../plan/model.js';
import { placeholderSecrets } from '../../catalog/context.js';
import type { CloudFile } from '../../spec/schema.js';
import type { KubernetesAddOn } from './add-on.js';
import { backupAddOn } from './backup/render.js';
import { coreGroups } from './components.js';
import { credentialRotationAddOn } from './credential-rotation.js';
import { keyRotationAddOn } from './key-rotation.js';
import { monitoringAddOn } from './monitoring/render.js';
import type { RenderedGroup } from './objects.js';

/** In apply order. Monitoring and backups last: their CRDs may be missing from the cluster. */
const ADD_ONS: readonly KubernetesAddOn[] = [keyRotationAddOn, credentialRotationAddOn, monitoringAddOn, backupAddOn];

/** CloudModel → every group, numbered: "000-namespace", "001-secrets", … */
function renderKubernetes(model: CloudModel, secretValue: (name: string) => string): RenderedGroup[] {
  const groups = coreGroups(model, secretValue);
  for (const a of ADD_ONS) {
    const objects = a.objects(model);
    if (objects.length) groups.push({ name: a.group, objects });
  }
  const width = Math.max(3, String(groups.length).length);
  return groups.map((g, i) => ({ ...g, name: `${String(i).padStart(width, '0')}-${g.name}` }));
}

/**
 * The model built with the store's credentials, generating (in memory) any it lacks. The set of
 * credentials does not depend on their values, so a model built while some are missing (with
 * placeholders for them) tells which ones to generate, and a second build uses them. When the
 * store has them all, as on every render after the first, that first build is the model: one
 * build instead of two (issue 13).
 */
function modelWithCredentials(file: CloudFile, store: SecretStore): { model: CloudModel; created: string[] } {
  let missing = false;
  const first = buildModel(file, {
    secrets: (name) => {
      if (store.has(name)) return store.get(name);
      missing = true;
      return placeholderSecrets(name);
    },
  });
  const created = store.ensure(first.secrets.values());
  if (!missing && created.length === 0) return { model: first, created };
  return { model: buildModel(file, { secrets: (name) => store.get(name) }), created };
}

/** Render with the store's credentials, generating (in memory) any the store lacks. */
export function render(
  file: CloudFile,
  store: SecretStore,
): { model: CloudModel; groups: RenderedGroup[]; created: string[] } {
  const { model, created } = modelWithCredentials(file, store);
  const groups = renderKubernetes(model, (name) => store.get(name));
  return { model, groups, created };
}
