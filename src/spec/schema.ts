/**
 * The cloud file, v1alpha1: the single source of its TypeScript types, its defaults, its
 * validation and the JSON Schema that editors use (`osk schema`).
 *
 * Every object is strict: an unknown key is an error (with a did-you-mean), because a typo in a
 * cloud file that is silently ignored is how a production cloud ends up with one replica.
 * Fields whose default depends on the profile (replicas, anti-affinity, …) are optional here and
 * filled in by the catalog (`CatalogContext.settings` and each service module); the description
 * of each says what the profiles give it.
 *
 * Every string is one of the value types of `rules.ts`, checked with the rules of the place it
 * lands (docs/security.md lists them).
 */
import { z } from 'zod';
import { IMAGE_KEYS } from './image-keys.js';
import { DEBIAN_SUITES, debianReleases, RELEASES } from './releases.js';
import { imageRef, k8sName, labelKey, labelValue, namespaceRefusal, pattern, registryRef, rule } from './rules.js';
import { infraSchema, quorumProblems } from './schema-infra.js';
import {
  endpointsSchema,
  multusProblems,
  networkSchema,
  providerNetworkProblems,
  tlsProblems,
} from './schema-network.js';
import { gpuProblems, nodesSchema } from './schema-nodes.js';
import { backupSchema, monitoringSchema } from './schema-operations.js';
import { type Problem, type componentSchema, dnsLabel, ownLabelRefusal, resourceProblems } from './schema-parts.js';
import { horizonProblems, keyRotationProblems, octaviaProblems, servicesSchema } from './schema-services.js';
import { cinderBackendProblems, storageSchema } from './schema-storage.js';

export const API_VERSION = 'osk.dev/v1alpha1';
export const KIND = 'Cloud';

/** spec: each section is defined in the schema-<subject>.ts module beside this one. */
export const cloudSpecSchema = z.strictObject({
  profile: z
    .enum(['minimal', 'ha'])
    .default('minimal')
    .describe(
      'minimal: one replica of everything; ha: 3 API replicas, 3-node Galera and RabbitMQ with quorum queues, anti-affinity, PodDisruptionBudgets',
    ),
  release: z.enum(RELEASES).default('2025.1').describe('OpenStack release; picks the pinned image tags'),
  region: pattern(
    /^[A-Za-z0-9][-A-Za-z0-9_.]{0,63}$/,
    'a region name such as RegionOne (letters, digits, "-", "_" and ".", at most 64 characters)',
    64,
  ).default('RegionOne'),
  images: z
    .strictObject({
      source: z
        .enum(['published', 'debian'])
        .default('published')
        .describe(
          'published: the pinned upstream images (LOCI, Docker Hub, quay.io); debian: the images `osk images build` builds from Debian packages (localhost/osk/<key>:<release>-<suite>; release 2025.1 only)',
        ),
      registry: registryRef
        .optional()
        .describe(
          'Mirror registry that replaces the registry part of every image (localhost for source: debian, where you pushed the built images)',
        ),
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      pullSecrets: z
        .array(k8sName)
        .max(16)
        .default([])
        .describe('Secrets (in the cloud namespace) the kubelet pulls images with'),
      overrides: z
        .partialRecord(z.enum(IMAGE_KEYS), imageRef)
        .optional()
        .describe(
          `Image per image key, e.g. { keystone: my.registry/keystone:patched }; keys: ${IMAGE_KEYS.join(', ')}`,
        ),
    })
    .optional(),
  endpoints: endpointsSchema.optional(),
  nodes: nodesSchema.optional(),
  network: networkSchema.optional(),
  storage: storageSchema.optional(),
  services: servicesSchema.optional(),
  infra: infraSchema.optional(),
  monitoring: monitoringSchema.optional(),
  backup: backupSchema.optional(),
});

export const cloudFileSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal(KIND, { error: `must be "${KIND}"` }),
  metadata: z.strictObject({
    name: dnsLabel.describe('Name of the cloud; also names its state and secret store'),
    namespace: dnsLabel
      .superRefine(rule(namespaceRefusal))
      .optional()
      .describe('Kubernetes namespace of the control plane; default "openstack". Not default or kube-*'),
    labels: z
      .record(labelKey.superRefine(rule(ownLabelRefusal)), labelValue)
      .optional()
      .describe(
        "Labels added to every object osk renders on Kubernetes; keys under app.kubernetes.io/ and osk.dev/ are osk's own",
      ),
  }),
  spec: cloudSpecSchema.default(() => cloudSpecSchema.parse({})),
});

/** The cloud file after validation and the schema's own defaults (profile defaults come later). */
export type CloudFile = z.output<typeof cloudFileSchema>;
export type CloudSpec = CloudFile['spec'];
export type ComponentSettings = z.output<typeof componentSchema>;

/** source: debian needs a release Debian ships packages of. */
function imageSourceProblems(s: CloudSpec): Problem[] {
  if (s.images?.source !== 'debian' || DEBIAN_SUITES[s.release]) return [];
  return [
    {
      path: ['spec', 'images', 'source'],
      message: `release ${s.release} has no images built from Debian: Debian ships no packages of it`,
      hint: `images are built for ${debianReleases()}: set spec.release to one of these, or use source: published`,
    },
  ];
}

/**
 * Rules that span fields. They run on the parsed file; each names the field to fix.
 * (zod keeps these out of the JSON Schema: editors check structure, `osk validate` checks these.)
 */
export function crossFieldProblems(file: CloudFile): Problem[] {
  const s = file.spec;
  return [
    ...imageSourceProblems(s),
    ...quorumProblems(s.infra),
    ...horizonProblems(s.services, s.endpoints?.publicDomain),
    ...octaviaProblems(s.services),
    ...tlsProblems(s.endpoints),
    ...cinderBackendProblems(s.storage),
    ...keyRotationProblems(s.services),
    ...gpuProblems(s.nodes),
    ...providerNetworkProblems(s.network),
    ...multusProblems(file.metadata?.namespace, s.network),
    ...resourceProblems(s, ['spec']),
  ];
}
