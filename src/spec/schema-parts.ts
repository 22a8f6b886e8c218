/** Building blocks of the cloud file schema that several of its sections share (see schema.ts). */
import { z } from 'zod';
import {
  cronSchedule,
  k8sLabelName,
  k8sName,
  labelKey,
  labelMap,
  labelValue,
  quantity,
  quantityValue,
} from './rules.js';

/** One rule that spans fields, broken: the field to fix, what is wrong, how to fix it. */
export type Problem = { path: (string | number)[]; message: string; hint?: string };

/** osk's own label prefixes: a user label there would change what osk selects and prunes by. */
const OWN_LABEL_PREFIXES = ['app.kubernetes.io/', 'osk.dev/'];
export function ownLabelRefusal(key: string): { sentence: string; hint: string } | undefined {
  const own = OWN_LABEL_PREFIXES.find((p) => key.startsWith(p));
  return own
    ? {
        sentence: `labels under ${own} are set by osk (it selects and prunes its objects by them)`,
        hint: 'use a prefix of your own, e.g. example.com/team',
      }
    : undefined;
}

/** Names osk builds object names from: a DNS label short enough for the suffixes osk appends. */
export const dnsLabel = k8sLabelName(40);
export const labels = labelMap.describe('Kubernetes node labels that must all match');
export const cron = cronSchedule.describe(
  'A cron schedule with five fields such as "0 2 * * *" (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7), or @daily',
);

const resourceList = z.strictObject({
  cpu: quantity({ positive: true }).optional(),
  memory: quantity({ positive: true }).optional(),
});
const resourcesSchema = z
  .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
  .describe(
    'CPU and memory for each container; defaults come from the profile and the component. A limit must not be below its request',
  );

/** A toleration as the API server accepts it (core/v1 validation of Toleration). */
const toleration = z
  .strictObject({
    key: labelKey.optional().describe('Taint key; empty or unset matches every taint (then operator must be Exists)'),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: labelValue.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  })
  .superRefine((t, ctx) => {
    const add = (path: string, message: string) =>
      ctx.addIssue({
        code: 'custom',
        path: [path],
        message,
        input: (t as Record<string, unknown>)[path],
        params: { sentence: true },
      });
    if (t.operator === 'Exists' && t.value)
      add('value', 'a toleration with operator Exists must not have a value (the API server refuses it)');
    if (!t.key && t.operator !== 'Exists')
      add(
        t.operator ? 'operator' : 'key',
        'a toleration without a key matches every taint and needs operator: Exists (the API server refuses it otherwise)',
      );
  });
export const tolerations = z.array(toleration).max(50);

/** What every component can override. */
export const componentFields = {
  replicas: z
    .number()
    .int()
    .min(0)
    .max(50)
    .optional()
    .describe('Pods for this component. Profile default: minimal 1, ha 3'),
  resources: resourcesSchema.optional(),
  nodeSelector: labels.optional().describe('Extra node labels for this component, added to its node role selector'),
  tolerations: tolerations.optional(),
};
export const componentSchema = z.strictObject(componentFields);

export const storageVolume = z.strictObject({
  size: quantity({ positive: true }).optional().describe('PersistentVolumeClaim size (greater than 0)'),
  storageClass: k8sName.optional().describe('StorageClass of the claim; the cluster default when unset'),
});

export function service<T extends z.core.$ZodLooseShape>(components: T) {
  return z.strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        'Deploy this service (default true). A service is disabled only with enabled: false; leaving its block out, or deleting it, keeps it deployed',
      ),
    ...components,
  });
}

type Resources = z.output<typeof resourcesSchema>;

/** Every resources block: a limit below its request is refused by the API server. */
export function resourceProblems(node: unknown, path: (string | number)[]): Problem[] {
  if (typeof node !== 'object' || node === null) return [];
  const out: Problem[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'resources' && typeof v === 'object' && v !== null) {
      const r = v as Resources;
      for (const what of ['cpu', 'memory'] as const) {
        const req = r.requests?.[what];
        const lim = r.limits?.[what];
        if (req === undefined || lim === undefined) continue;
        const [rq, lm] = [quantityValue(String(req)), quantityValue(String(lim))];
        if (rq !== undefined && lm !== undefined && lm < rq) {
          out.push({
            path: [...path, k, 'limits', what],
            message: `the ${what} limit ${lim} is below the request ${req}`,
            hint: `raise limits.${what} to at least ${req}, or lower requests.${what}`,
          });
        }
      }
    } else out.push(...resourceProblems(v, [...path, Array.isArray(node) ? Number(k) : k]));
  }
  return out;
}
