/**
 * The cloud's objects as they were when the apply began, one LIST per kind (metadata only, by
 * the cloud's label), for `osk apply` to say whether it created, changed or left each object
 * without a GET of its own.
 *
 * Why (issue 13): a GET before every object's apply was half of apply's requests, and one more
 * round trip in every step: a second apply with nothing to change waits on a chain of steps,
 * each as long as its slowest object's GET then PATCH. Listed, each object costs its PATCH.
 *
 * What a LIST says is the state at the start of the apply, which is what the report means: an
 * object someone else changes meanwhile reads as changed by this apply, as it would have with a
 * GET an instant earlier. An object the list cannot speak for (not carrying the cloud's label,
 * or its kind could not be listed) is asked for with a GET, as before.
 */
import type { KubeApi } from './kube-api.js';
import type { KubeObject } from './objects.js';

const INSTANCE_LABEL = 'app.kubernetes.io/instance';

/**
 * Kinds nobody but their appliers writes: of these, a resourceVersion that moved between the LIST
 * and osk's apply means osk's apply moved it. A controller writes the status of others (a claim
 * when it is bound, a disruption budget as pods come and go, a CronJob when it runs): listed at
 * the start, such an object would read as changed by an apply that changed nothing (bench:apply
 * saw the backup claim, bound after the first apply's end, "changed" by the second), so they
 * are read just before their apply, as before.
 */
const LISTED_KINDS = new Set([
  'v1/ConfigMap',
  'v1/Secret',
  'v1/ServiceAccount',
  'v1/Service',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
  'networking.k8s.io/v1/NetworkPolicy',
  'storage.k8s.io/v1/StorageClass',
]);

/** An object's state before the apply: absent, or its resourceVersion then. */
export type Before = { absent: true } | { absent: false; resourceVersion: string | undefined };

type MetadataList = { items?: { metadata?: { name?: string; resourceVersion?: string } }[] };

export class ListedBefore {
  private readonly lists = new Map<string, Promise<Map<string, string | undefined> | undefined>>();

  constructor(
    private readonly api: KubeApi,
    private readonly cloud: string,
  ) {}

  /** Starts listing the kinds of these objects now, so the first apply of each need not wait. */
  prime(objects: KubeObject[]): void {
    for (const o of objects) if (this.covers(o)) void this.list(o);
  }

  /** The object as listed at the start, or undefined when the list cannot say (ask the apiserver). */
  async before(obj: KubeObject): Promise<Before | undefined> {
    if (!this.covers(obj)) return undefined;
    const names = await this.list(obj);
    if (!names) return undefined;
    const name = obj.metadata!.name!;
    return names.has(name) ? { absent: false, resourceVersion: names.get(name) } : { absent: true };
  }

  /** Of the kinds above, and only an object carrying the cloud's label is found by the labelled LIST. */
  private covers(o: KubeObject): boolean {
    return (
      LISTED_KINDS.has(`${o.apiVersion}/${o.kind}`) &&
      !!o.metadata?.name &&
      o.metadata.labels?.[INSTANCE_LABEL] === this.cloud
    );
  }

  private list(o: KubeObject): Promise<Map<string, string | undefined> | undefined> {
    const key = `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}`;
    let got = this.lists.get(key);
    if (!got) {
      got = this.api
        .path(o.apiVersion, o.kind, o.metadata?.namespace)
        .then((path) =>
          this.api.request<MetadataList>('GET', path, {
            query: { labelSelector: `${INSTANCE_LABEL}=${this.cloud}` },
            accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
            what: `list ${o.kind}`,
          }),
        )
        .then((r) => new Map((r.body.items ?? []).map((i) => [i.metadata?.name ?? '', i.metadata?.resourceVersion])))
        // A kind that cannot be listed (RBAC may allow get but not list): its objects are asked for one by one.
        .catch(() => undefined);
      this.lists.set(key, got);
    }
    return got;
  }
}
