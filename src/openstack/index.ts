/**
 * osk's OpenStack client: one object per cloud, one property per service.
 *
 *   const os = OpenStackClient.fromCloudsYaml({ cloud: 'osk-admin' });
 *   const project = await os.identity.projects.find('service', { domainId: 'default' });
 *   const server = await os.compute.servers.create({ name, flavorRef, imageRef, networks: [{ uuid }] });
 *   await os.compute.servers.waitForStatus(server.id, 'ACTIVE');
 *   await os.close();
 *
 * Everything it throws for a user to see is an OskError: OpenStackApiError (a service said no),
 * OpenStackUnreachableError (no answer), or a plain OskError (bad clouds.yaml, a wait that failed).
 */
import { BlockStorageApi } from './block-storage.js';
import { loadCloud, sessionOptionsFromCloud, type CloudConfig, type LoadCloudOptions } from './clouds-yaml.js';
import { ComputeApi } from './compute.js';
import { IdentityApi } from './identity.js';
import { ImageApi } from './image.js';
import { LoadBalancerApi } from './load-balancer.js';
import { NetworkApi } from './network.js';
import { PlacementApi } from './placement.js';
import { Session, type SessionOptions } from './session.js';

export class OpenStackClient {
  readonly session: Session;
  readonly identity: IdentityApi;
  readonly compute: ComputeApi;
  readonly network: NetworkApi;
  readonly blockStorage: BlockStorageApi;
  readonly image: ImageApi;
  readonly placement: PlacementApi;
  readonly loadBalancer: LoadBalancerApi;
  /** Set when made from clouds.yaml. */
  readonly cloud: CloudConfig | undefined;

  constructor(session: Session | SessionOptions, cloud?: CloudConfig) {
    this.session = session instanceof Session ? session : new Session(session);
    this.cloud = cloud;
    this.identity = new IdentityApi(this.session);
    this.compute = new ComputeApi(this.session);
    this.network = new NetworkApi(this.session);
    this.blockStorage = new BlockStorageApi(this.session);
    this.image = new ImageApi(this.session);
    this.placement = new PlacementApi(this.session);
    this.loadBalancer = new LoadBalancerApi(this.session);
  }

  /** A client for a cloud of clouds.yaml; `overrides` adds or replaces session options (timeouts, microversions…). */
  static fromCloudsYaml(opts: LoadCloudOptions & { overrides?: Partial<SessionOptions> } = {}): OpenStackClient {
    const cloud = loadCloud(opts);
    return new OpenStackClient({ ...sessionOptionsFromCloud(cloud), ...opts.overrides }, cloud);
  }

  /** Close idle connections (lets a short CLI run exit at once). */
  close(): Promise<void> {
    return this.session.close();
  }
}

// What the rest of osk imports from here besides the client.
export { loadCloud } from './clouds-yaml.js';
export { OpenStackApiError } from './errors.js';
export type { ServiceType } from './session.js';
