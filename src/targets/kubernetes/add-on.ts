/**
 * A feature that adds Kubernetes objects of its own to a cloud's render (key rotation,
 * monitoring, backups). Each returns its objects for a model, or none when it is off; the
 * render puts them in one group per add-on after the components, in the order of the list in
 * render.ts. Add-ons whose kinds may be missing from a cluster (Prometheus Operator, Velero) go
 * last, so apply can skip them with one line.
 */
import type { CloudModel } from '../../plan/model.js';
import type { KubeObject } from './objects.js';

export interface KubernetesAddOn {
  /** Group name in the render and file stem with --output-dir, e.g. "monitoring". */
  group: string;
  objects(model: CloudModel): KubeObject[];
}
