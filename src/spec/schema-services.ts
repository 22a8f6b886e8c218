/** spec.services: the OpenStack services and their components. */
import { z } from 'zod';
import { cronOf, rotationProblem } from '../config/key-rotation.js';
import { type Problem, componentSchema, service } from './schema-parts.js';

const keystoneSchema = service({
  api: componentSchema.optional(),
  token: z
    .strictObject({
      provider: z.enum(['fernet', 'jws']).default('fernet'),
      expiration: z.number().int().min(300).max(604800).default(3600).describe('Token lifetime in seconds'),
      cacheTime: z
        .number()
        .int()
        .min(0)
        .max(86400)
        .default(300)
        .describe('Seconds a validated token stays in memcached'),
      maxActiveKeys: z.number().int().min(3).max(100).default(3),
    })
    .optional(),
  keyRotation: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Rotate the fernet keys on a schedule (false: only `osk rotate-keys` rotates)'),
      every: z
        .string()
        .regex(/^[1-9][0-9]{0,3}[mhd]$/, 'an interval such as 30m, 12h or 7d')
        .default('24h')
        .describe(
          'Time between rotations: minutes dividing an hour, hours dividing a day, or days (Kubernetes runs it as a cron schedule)',
        ),
    })
    .optional()
    .describe(
      'Fernet key rotation without restarts (staged key → primary, old primary kept to validate, maxActiveKeys in all); default every 24h',
    ),
});

export const servicesSchema = z.strictObject({
  keystone: keystoneSchema.optional(),
  glance: service({ api: componentSchema.optional() }).optional(),
  placement: service({ api: componentSchema.optional() }).optional(),
  nova: service({
    api: componentSchema.optional(),
    metadata: componentSchema.optional(),
    conductor: componentSchema.optional(),
    scheduler: componentSchema.optional(),
    novncproxy: componentSchema.optional(),
    compute: componentSchema.optional(),
    libvirt: componentSchema.optional(),
    cpuAllocationRatio: z.number().positive().max(128).optional(),
    ramAllocationRatio: z.number().positive().max(16).optional(),
  }).optional(),
  neutron: service({ server: componentSchema.optional(), metadataAgent: componentSchema.optional() }).optional(),
  cinder: service({
    api: componentSchema.optional(),
    scheduler: componentSchema.optional(),
    volume: componentSchema.optional(),
    backup: componentSchema.optional(),
  }).optional(),
  horizon: service({
    web: componentSchema.optional(),
    expose: z
      .enum(['ingress', 'nodePort', 'none'])
      .optional()
      .describe('How users reach the dashboard; ingress needs endpoints.publicDomain'),
    nodePort: z.number().int().min(30000).max(32767).optional(),
  }).optional(),
});

type ServicesSpec = z.output<typeof servicesSchema>;

/** Horizon's expose and nodePort agree, and an Ingress has a hostname. */
export function horizonProblems(services: ServicesSpec | undefined, publicDomain: string | undefined): Problem[] {
  const out: Problem[] = [];
  const horizon = services?.horizon;
  if (horizon?.enabled !== false && horizon?.expose === 'ingress' && !publicDomain) {
    out.push({
      path: ['spec', 'services', 'horizon', 'expose'],
      message: 'expose: ingress needs endpoints.publicDomain',
      hint: 'set spec.endpoints.publicDomain or use expose: nodePort',
    });
  }
  if (horizon?.nodePort !== undefined && horizon.expose !== 'nodePort') {
    out.push({
      path: ['spec', 'services', 'horizon', 'nodePort'],
      message: 'nodePort is set but expose is not nodePort',
      hint: 'add expose: nodePort',
    });
  }
  return out;
}

/** Fernet keys rotated so often that a valid token's key is gone, or on no cron schedule. */
export function keyRotationProblems(services: ServicesSpec | undefined): Problem[] {
  const out: Problem[] = [];
  const ks = services?.keystone;
  if (ks?.keyRotation?.enabled !== false && (ks?.token?.provider ?? 'fernet') === 'fernet') {
    const every = ks?.keyRotation?.every ?? '24h';
    const unsafe = rotationProblem(every, ks?.token?.maxActiveKeys ?? 3, ks?.token?.expiration ?? 3600);
    if (unsafe)
      out.push({
        path: ['spec', 'services', 'keystone', 'keyRotation', 'every'],
        message: unsafe,
        hint: 'rotate less often, raise token.maxActiveKeys, or shorten token.expiration',
      });
    if (!cronOf(every))
      out.push({
        path: ['spec', 'services', 'keystone', 'keyRotation', 'every'],
        message: `${every} has no cron schedule (the Kubernetes CronJob needs one)`,
        hint: 'use minutes that divide an hour (15m, 30m), hours that divide a day (6h, 12h, 24h) or 1d … 28d',
      });
  }
  return out;
}
