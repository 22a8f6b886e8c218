/** Labels every object gets (the cloud file's metadata.labels and app.kubernetes.io/*), and the narrower set pods are selected by. */
import type { CatalogContext } from '../../catalog/context.js';
import type { ComponentDef } from '../../catalog/types.js';

export const COMPONENT_LABEL = 'osk.dev/component';
export const CLOUD_LABEL = 'osk.dev/cloud';

export function baseLabels(ctx: CatalogContext): Record<string, string> {
  return {
    // metadata.labels of the cloud file, on every object and pod; the loader refuses keys under
    // app.kubernetes.io/ and osk.dev/, so they never replace osk's own labels below.
    ...(ctx.file.metadata.labels ?? {}),
    'app.kubernetes.io/instance': ctx.name,
    'app.kubernetes.io/part-of': 'openstack',
    'app.kubernetes.io/managed-by': 'osk',
    [CLOUD_LABEL]: ctx.name,
  };
}

export function labelsFor(
  ctx: CatalogContext,
  c: { service: string; part: string; id: string },
): Record<string, string> {
  return {
    ...baseLabels(ctx),
    'app.kubernetes.io/name': c.service,
    'app.kubernetes.io/component': c.part,
    'app.kubernetes.io/version': ctx.spec.release,
    [COMPONENT_LABEL]: c.id,
  };
}

export function selectorFor(ctx: CatalogContext, c: ComponentDef): Record<string, string> {
  return { 'app.kubernetes.io/instance': ctx.name, [COMPONENT_LABEL]: c.id };
}
