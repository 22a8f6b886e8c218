/** The shapes the Kubernetes target renders into and every add-on returns. */
/** A Kubernetes object as plain data (built by k8s.ts): what JSON.parse could have made. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
}

export interface RenderedGroup {
  /** File stem, e.g. "012-keystone-api"; the number is the apply order. */
  name: string;
  component?: string;
  wave?: number;
  objects: KubeObject[];
}

export const CREDENTIAL_ANNOTATION = 'osk.dev/credential';

export function allObjects(groups: readonly RenderedGroup[]): KubeObject[] {
  return groups.flatMap((g) => g.objects);
}
