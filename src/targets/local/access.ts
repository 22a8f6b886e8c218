/**
 * How users and tools reach an all-in-one cloud: a clouds.yaml (the format of the openstack CLI
 * and every SDK) with an admin and a demo entry, an openrc, and the shell lines of `osk env`.
 * Both files hold passwords: mode 0600 inside the 0700 state dir.
 */
import { writeFile } from 'node:fs/promises';
import { toPlainYaml } from '../../plain-yaml.js';
import { OpenStackClient } from '../../openstack/index.js';
import type { StatePaths } from '../../state/paths.js';
import { LOOPBACK } from './topology.js';

const KEYSTONE_URL = `http://${LOOPBACK}:5000/v3`;

export interface Credentials {
  cloud: string;
  region: string;
  adminPassword: string;
  demoPassword: string;
}

function cloudsYaml(c: Credentials): string {
  const entry = (user: string, project: string, password: string) => ({
    auth: {
      auth_url: KEYSTONE_URL,
      username: user,
      password,
      project_name: project,
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    region_name: c.region,
    interface: 'public',
    identity_api_version: 3,
  });
  return `# written by osk up for cloud ${c.cloud}; use with: eval "$(osk env)"\n${toPlainYaml({ clouds: { [c.cloud]: entry('admin', 'admin', c.adminPassword), [`${c.cloud}-demo`]: entry('demo', 'demo', c.demoPassword) } })}`;
}

function openrc(c: Credentials): string {
  return [
    `# admin credentials of cloud ${c.cloud} (written by osk up): . ${'<this file>'}`,
    `export OS_AUTH_URL=${KEYSTONE_URL}`,
    'export OS_IDENTITY_API_VERSION=3',
    `export OS_REGION_NAME=${c.region}`,
    'export OS_INTERFACE=public',
    'export OS_USERNAME=admin',
    `export OS_PASSWORD=${c.adminPassword}`,
    'export OS_PROJECT_NAME=admin',
    'export OS_USER_DOMAIN_NAME=Default',
    'export OS_PROJECT_DOMAIN_NAME=Default',
    '',
  ].join('\n');
}

export async function writeAccessFiles(paths: StatePaths, c: Credentials): Promise<void> {
  await writeFile(paths.cloudsYaml, cloudsYaml(c), { mode: 0o600 });
  await writeFile(paths.openrc, openrc(c), { mode: 0o600 });
}

/** `eval "$(osk env)"`: point the openstack CLI at this cloud. */
export function envLines(paths: StatePaths, cloud: string, demo: boolean): string {
  return `export OS_CLIENT_CONFIG_FILE=${paths.cloudsYaml}\nexport OS_CLOUD=${demo ? `${cloud}-demo` : cloud}\n`;
}

/** The admin client osk itself uses (internal interface, the cloud's region). */
export function adminClient(c: Credentials): OpenStackClient {
  return new OpenStackClient({
    auth: {
      type: 'password',
      authUrl: KEYSTONE_URL,
      username: 'admin',
      userDomainId: 'default',
      password: c.adminPassword,
      scope: { project: { name: 'admin', domainId: 'default' } },
    },
    region: c.region,
    interface: 'internal',
    timeoutMs: 60_000,
  });
}
