/** spec.services: the OpenStack services and their components. */
import { z } from 'zod';
import { cronOf, everySeconds, rotationProblem } from '../config/key-rotation.js';
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
  credentialKeyRotation: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          'Rotate the credential encryption keys on a schedule (false: only `osk rotate-keys --credentials` rotates on one host)',
        ),
      every: z
        .string()
        .regex(/^[1-9][0-9]{0,3}[mhd]$/, 'an interval such as 12h or 7d')
        .default('7d')
        .describe('Time between rotations, at least 1h: hours dividing a day, or days (a cron schedule on Kubernetes)'),
    })
    .optional()
    .describe(
      "Rotation of the keys that encrypt credentials in Keystone's database: keystone-manage credential_rotate, then credential_migrate re-encrypts every stored credential; default every 7d",
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
    hypervisor: z
      .enum(['fake', 'qemu', 'auto'])
      .optional()
      .describe(
        "What runs the servers. fake: Nova's fake driver (servers are database rows, no guest runs); qemu: Nova's libvirt driver with virt_type=qemu (QEMU's TCG emulation: slow, runs anywhere); auto: on one host (osk up) the libvirt driver with KVM when a kernel booted under KVM here boots, QEMU's TCG otherwise, and fake (with the reason printed) when libvirt cannot run. Unset: fake on one host, libvirt with KVM on Kubernetes. On Kubernetes qemu sets virt_type=qemu on the compute nodes and fake runs the fake driver in nova-compute",
      ),
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
  octavia: z
    .strictObject({
      enabled: z
        .boolean()
        .optional()
        .describe(
          'Deploy Octavia (default false: unlike the other services it is opt-in). Load balancers come from the OVN provider: no amphora VMs, L4 (TCP/UDP/SCTP) only, the VIP an OVN load balancer on the routers and switches of its subnet',
        ),
      api: componentSchema
        .optional()
        .describe('The API; its pods also run the driver agent the OVN provider reports through'),
    })
    .optional()
    .describe(
      "Load balancers for the clusters of the cloud's users (Services of type LoadBalancer through the OpenStack cloud controller); needs Neutron",
    ),
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

/** Octavia's only provider is OVN's, which programs Neutron's OVN databases. */
export function octaviaProblems(services: ServicesSpec | undefined): Problem[] {
  if (services?.octavia?.enabled !== true || services.neutron?.enabled !== false) return [];
  return [
    {
      path: ['spec', 'services', 'octavia', 'enabled'],
      message: 'Octavia needs Neutron: its OVN provider makes load balancers on Neutron networks',
      hint: 'enable neutron or leave octavia disabled',
    },
  ];
}

/** Keys rotated so often that a valid token's key (or a credential's) could be gone, or on no cron schedule. */
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
  const cred = ks?.credentialKeyRotation;
  if (cred?.enabled !== false) out.push(...credentialRotationProblems(cred?.every ?? '7d'));
  return out;
}

/**
 * A credential key interval must leave every Keystone time to see a rotation (a Secret volume is
 * refreshed within about a minute) before the next one drops the key it may still encrypt with.
 */
function credentialRotationProblems(every: string): Problem[] {
  const path = ['spec', 'services', 'keystone', 'credentialKeyRotation', 'every'];
  if (everySeconds(every) < 3600)
    return [
      {
        path,
        message: `${every} is shorter than 1h: a Keystone that has not yet seen one rotation could still encrypt with the key the next one drops`,
        hint: 'rotate credential keys every 1h or less often (the default is 7d)',
      },
    ];
  if (!cronOf(every))
    return [
      {
        path,
        message: `${every} has no cron schedule (the Kubernetes CronJob needs one)`,
        hint: 'use hours that divide a day (1h, 6h, 12h, 24h) or 1d … 28d',
      },
    ];
  return [];
}
