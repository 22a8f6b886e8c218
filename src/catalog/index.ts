/**
 * The catalog: every service osk knows, in the order the seed lists them. Adding a service is
 * adding its module here; the planner and the targets need no change.
 */
import type { CatalogContext } from './context.js';
import { ceph, cephClientEnabled, hostCephEnabled } from './ceph.js';
import { cinder } from './cinder.js';
import { glance } from './glance.js';
import { horizon } from './horizon.js';
import { keystone } from './keystone.js';
import { mariadb } from './mariadb.js';
import { memcached } from './memcached.js';
import { monitoring, monitoringEnabled } from './monitoring.js';
import { neutron } from './neutron.js';
import { nova } from './nova.js';
import { octavia } from './octavia.js';
import { ovn } from './ovn.js';
import { placement } from './placement.js';
import { rabbitmq } from './rabbitmq.js';
import type { ServiceDef } from './types.js';

type Entry = { name: string; build: (ctx: CatalogContext) => ServiceDef; enabled: (ctx: CatalogContext) => boolean };

const always = () => true;
const CATALOG: Entry[] = [
  { name: 'mariadb', build: mariadb, enabled: always },
  { name: 'rabbitmq', build: rabbitmq, enabled: always },
  { name: 'memcached', build: memcached, enabled: always },
  { name: 'ceph', build: ceph, enabled: (c) => cephClientEnabled(c) || hostCephEnabled(c) },
  { name: 'ovn', build: ovn, enabled: (c) => c.enabled('neutron') },
  { name: 'keystone', build: keystone, enabled: (c) => c.enabled('keystone') },
  { name: 'glance', build: glance, enabled: (c) => c.enabled('glance') },
  { name: 'placement', build: placement, enabled: (c) => c.enabled('placement') },
  { name: 'nova', build: nova, enabled: (c) => c.enabled('nova') },
  { name: 'neutron', build: neutron, enabled: (c) => c.enabled('neutron') },
  { name: 'cinder', build: cinder, enabled: (c) => c.enabled('cinder') },
  { name: 'horizon', build: horizon, enabled: (c) => c.enabled('horizon') },
  { name: 'octavia', build: octavia, enabled: (c) => c.enabled('octavia') },
  { name: 'monitoring', build: monitoring, enabled: monitoringEnabled },
];

export function buildServices(ctx: CatalogContext): ServiceDef[] {
  return CATALOG.filter((e) => e.enabled(ctx)).map((e) => e.build(ctx));
}
