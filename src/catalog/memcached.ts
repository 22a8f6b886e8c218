/** Memcached: a StatefulSet so each server has a stable name in memcached_servers lists. */
import type { CatalogContext } from './context.js';
import type { ServiceDef } from './types.js';

export function memcached(ctx: CatalogContext): ServiceDef {
  const user = ctx.spec.infra?.memcached;
  const mb = user?.memoryMB ?? (ctx.ha ? 1024 : 128);
  const command = ['memcached', '-m', String(mb), '-c', '8192', '-t', '4', '-p', '11211', '-U', '0'];
  return {
    name: 'memcached',
    secrets: [],
    configs: [],
    components: [
      {
        id: 'memcached',
        service: 'memcached',
        part: 'server',
        workload: 'StatefulSet',
        image: 'memcached',
        command,
        ports: [{ name: 'memcache', port: 11211 }],
        service_: { ports: [{ name: 'memcache', port: 11211 }], headless: true },
        readiness: { tcp: { port: 11211 }, periodSeconds: 10 },
        liveness: { tcp: { port: 11211 }, initialDelaySeconds: 10, periodSeconds: 20 },
        runAsUser: 11211,
        nodeRole: 'controlPlane',
        // Memory limit leaves room above the cache size for connections and slabs.
        settings: ctx.settings(user, 'controlPlane', {
          cpu: '100m',
          memory: `${mb + 64}Mi`,
          memoryLimit: `${Math.ceil(mb * 1.25) + 128}Mi`,
        }),
        ...(ctx.machine
          ? {
              host: {
                kind: 'process' as const,
                // memcached refuses to run as root unless told which user to become.
                command: [...command, '-l', ctx.topology.bindAddress, ...(ctx.machine.root ? ['-u', 'memcache'] : [])],
                packages: ['memcached'],
                ports: [11211],
                ready: { tcp: 11211 },
              },
            }
          : {}),
      },
    ],
  };
}
