/**
 * Work osk does itself on the host instead of a Job: databases and users through the local
 * MariaDB socket, the OVN chassis of a hypervisor without ovn-controller, and Keystone/Cinder
 * registrations through osk's OpenStack client. Databases and registrations are src/bootstrap's,
 * the same code the Kubernetes Jobs run as `osk bootstrap <task>`.
 */
import { ensureDatabaseUser } from '../../bootstrap/database.js';
import type { HostBuiltin } from '../../catalog/types.js';
import { OskError } from '../../errors.js';
import { mariadbExec } from './probes.js';
import { runCommand } from '../../run-command.js';

export interface BuiltinContext {
  mariadbSocket: string;
  secret(name: string): string;
  /** Keystone/Cinder registrations (src/bootstrap), given the admin credentials. */
  openstack: {
    keystoneUser(user: string, password: string): Promise<string>;
    keystoneEndpoint(e: {
      type: string;
      name: string;
      internalUrl: string;
      publicUrl: string;
      roles?: string[];
    }): Promise<string>;
    volumeTypes(types: { name: string; backend: string; qos?: Record<string, number> }[]): Promise<string>;
  };
}

export async function runBuiltin(action: HostBuiltin, ctx: BuiltinContext): Promise<string> {
  if ('dbInit' in action) {
    const { databases, user, passwordSecret } = action.dbInit;
    return ensureDatabaseUser((sql) => mariadbExec(ctx.mariadbSocket, sql), {
      databases,
      user,
      password: ctx.secret(passwordSecret),
      from: '127.0.0.1',
    });
  }
  if ('ovnFakeChassis' in action) return ovnFakeChassis(action.ovnFakeChassis.hostname, action.ovnFakeChassis.sbSocket);
  if ('keystoneUser' in action)
    return ctx.openstack.keystoneUser(action.keystoneUser.user, ctx.secret(action.keystoneUser.passwordSecret));
  if ('keystoneEndpoint' in action) return ctx.openstack.keystoneEndpoint(action.keystoneEndpoint);
  return ctx.openstack.volumeTypes(action.volumeTypes);
}

/**
 * Neutron's ML2/OVN binds a port only to a host with a live chassis. With the fake hypervisor
 * there is no ovn-controller, so osk registers the chassis itself: a Chassis row, and a
 * Chassis_Private row whose nb_cfg is far ahead of NB_Global's, which Neutron reads as an agent
 * that is alive. It must be created with that value: Neutron ignores a later update from 0.
 */
async function ovnFakeChassis(hostname: string, sbSocket: string): Promise<string> {
  const sbctl = (...args: string[]) => runCommand(['ovn-sbctl', `--db=unix:${sbSocket}`, '--timeout=20', ...args]);
  const ok = async (p: Promise<{ code: number; out: string }>, what: string) => {
    const r = await p;
    if (r.code !== 0) throw new OskError(`${what} failed: ${r.out.trim()}`);
    return r.out.trim();
  };
  await ok(sbctl('--may-exist', 'chassis-add', hostname, 'geneve', '127.0.0.1'), `ovn-sbctl chassis-add ${hostname}`);
  await ok(sbctl('set', 'chassis', hostname, `hostname=${hostname}`), `ovn-sbctl set chassis ${hostname}`);
  const uuid = await ok(
    sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', `name=${hostname}`),
    'ovn-sbctl find Chassis',
  );
  const priv = await ok(
    sbctl('--bare', '--columns=_uuid', 'find', 'Chassis_Private', `name=${hostname}`),
    'ovn-sbctl find Chassis_Private',
  );
  if (!priv)
    await ok(
      sbctl('create', 'Chassis_Private', `name=${hostname}`, `chassis=${uuid}`, 'nb_cfg=1000000000'),
      'ovn-sbctl create Chassis_Private',
    );
  return `chassis ${hostname} registered (no datapath)`;
}
