/** What every alert group reads from the cloud: its thresholds, namespace and which parts it has. */
import type { CloudModel } from '../../../../plan/model.js';
import { resolveThresholds, type Thresholds } from '../../../../spec/thresholds.js';

/** ingress-nginx's latency histogram and request counter (labelled by `ingress`). */
export const INGRESS_LATENCY = 'nginx_ingress_controller_request_duration_seconds_bucket';
export const INGRESS_REQUESTS = 'nginx_ingress_controller_requests';
/** The blackbox exporter's probes of each API's version document (labelled instance=<component>). */
export const PROBE_DURATION = 'probe_duration_seconds';
export const PROBE_SUCCESS = 'probe_success';

const API_INGRESSES = [
  'keystone-api',
  'nova-api',
  'neutron-server',
  'cinder-api',
  'glance-api',
  'placement-api',
  'horizon',
];

export interface AlertContext {
  model: CloudModel;
  t: Thresholds;
  ns: string;
  /** The namespace selector, `namespace="<ns>"`. */
  sel: string;
  has(id: string): boolean;
  /** The API Ingresses of the cloud's components, and them as one regex alternation. */
  ingresses: string[];
  ingressRe: string;
  /**
   * Ingresses exist only with endpoints.publicDomain: without them the API thresholds are
   * measured by the blackbox exporter's probes of each API's internal Service instead.
   */
  viaIngress: boolean;
  probes: boolean;
}

export function alertContext(model: CloudModel): AlertContext {
  const { ctx } = model;
  const has = (id: string) => model.components.has(id);
  const ingresses = API_INGRESSES.filter(has);
  return {
    model,
    t: resolveThresholds(ctx.spec),
    ns: ctx.namespace,
    sel: `namespace="${ctx.namespace}"`,
    has,
    ingresses,
    ingressRe: ingresses.join('|'),
    viaIngress: Boolean(ctx.spec.endpoints?.publicDomain) && ingresses.length > 0,
    probes: has('blackbox-exporter'),
  };
}
