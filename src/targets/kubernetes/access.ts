/**
 * `osk env -f cloud.yaml` for a cloud on Kubernetes: a clouds.yaml whose admin entry reaches the
 * cloud's public Keystone (endpoints.nodePorts or publicDomain), with the admin password from the
 * cloud's secret store, so the openstack CLI on a workstation talks to the cloud as it does to an
 * all-in-one. A cloud that publishes no endpoint is reachable only from inside the cluster: that
 * is said, not papered over with a URL that cannot work.
 */
import { ExitCode, OskError } from '../../errors.js';
import type { CloudModel } from '../../plan/model.js';
import { toPlainYaml } from '../../plain-yaml.js';
import type { SecretStore } from '../../state/secret-store.js';

export function kubeCloudsYaml(model: CloudModel, store: SecretStore, storePath: string): string {
  const { ctx, file } = model;
  const name = file.metadata.name;
  if (!ctx.hasPublicEndpoints)
    throw new OskError(
      `cloud ${name} publishes no API outside its cluster (no endpoints.publicDomain or endpoints.nodePorts), so no clouds.yaml off the cluster can reach it`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'set spec.endpoints.nodePorts.address (a node address) or spec.endpoints.publicDomain (an Ingress), and osk apply',
      },
    );
  if (!store.has('keystone-admin-password'))
    throw new OskError(`the secret store ${storePath} has no admin password of cloud ${name}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'osk apply makes it (or --import-secrets takes it from the cluster); point --secrets-file at the store apply used',
    });
  const internal = `http://${ctx.topology.host('keystone-api')}:5000`;
  const entry = {
    auth: {
      auth_url: `${ctx.publicUrl('identity', internal)}/v3`,
      username: 'admin',
      password: store.get('keystone-admin-password'),
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    region_name: ctx.region,
    interface: 'public',
    identity_api_version: 3,
  };
  return `# written by osk env -f for cloud ${name} on Kubernetes; use with: eval "$(osk env -f <cloud file>)"\n${toPlainYaml({ clouds: { [name]: entry } })}`;
}
