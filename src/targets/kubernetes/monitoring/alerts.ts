/**
 * The alerts of a cloud: one per threshold of spec.monitoring.thresholds, and one per way an
 * OpenStack control plane breaks (Galera, RabbitMQ, Keystone, compute and other services, OVN
 * RAFT, Jobs, volumes, certificates). Pure: CloudModel in, rule definitions out.
 *
 * Metric names are the real exporters' own:
 * - ingress-nginx (the API gateway of the public endpoints): nginx_ingress_controller_requests
 *   and the histogram nginx_ingress_controller_request_duration_seconds_bucket, labelled by
 *   `ingress` (osk names each Ingress after its component). API latency and success rate are
 *   measured there: the OpenStack APIs publish no latency histogram of their own. A cloud
 *   without endpoints.publicDomain has no Ingress, so these alerts have no data there.
 * - blackbox_exporter probes of each API's version document (internal Service): probe_success,
 *   probe_duration_seconds, labelled instance=<component>; they carry the API thresholds when
 *   there is no Ingress (no endpoints.publicDomain).
 * - mysqld_exporter (global_status collector): mysql_up, mysql_global_status_wsrep_*.
 * - RabbitMQ's rabbitmq_prometheus plugin (:15692): rabbitmq_*.
 * - openstack-exporter: openstack_<service>_up, openstack_{nova,neutron,cinder}_agent_state,
 *   openstack_neutron_port{binding_vif_type}.
 * - OVN RAFT health: kube-state-metrics' ready replicas of the ovn-nb/ovn-sb StatefulSets, whose
 *   readiness probe is "cluster member that knows a leader" (no OVN exporter needed).
 * - kube-state-metrics, kubelet/cAdvisor, cert-manager: kube_*, container_*, kubelet_volume_*,
 *   certmanager_certificate_expiration_timestamp_seconds.
 *
 * The alerts of each subject live in alerts/<subject>.ts, built with the one shape in alerts/rule.ts.
 *
 * Each alert carries `examples`: series on which it must fire and series on which it must stay
 * quiet, written from the same threshold values (the tests turn them into `promtool test rules`).
 */
import type { CloudModel } from '../../../plan/model.js';
import { apiThresholdAlerts } from './alerts/api.js';
import { containerAlerts } from './alerts/containers.js';
import { alertContext } from './alerts/context.js';
import { kubernetesAlerts } from './alerts/kubernetes.js';
import { mariadbAlerts } from './alerts/mariadb.js';
import { openstackAlerts } from './alerts/openstack.js';
import { ovnAlerts } from './alerts/ovn.js';
import { rabbitmqAlerts } from './alerts/rabbitmq.js';
import type { AlertDef } from './alerts/types.js';

export type { AlertDef } from './alerts/types.js';

/** Every alert of the cloud, in the order of its rule groups and dashboards. */
export function alertDefinitions(model: CloudModel): AlertDef[] {
  const c = alertContext(model);
  return [
    ...apiThresholdAlerts(c),
    ...containerAlerts(c),
    ...mariadbAlerts(c),
    ...rabbitmqAlerts(c),
    ...openstackAlerts(c),
    ...ovnAlerts(c),
    ...kubernetesAlerts(c),
  ];
}
