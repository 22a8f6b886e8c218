/** The cloud's Kubernetes objects: Jobs, volumes, certificates and scrape targets. */
import type { AlertContext } from './context.js';
import { rule } from './rule.js';
import { gauge, oneSeries } from './series.js';
import type { AlertDef, Series } from './types.js';

const GROUP = 'kubernetes';

function jobFailed({ ns, sel }: AlertContext): AlertDef {
  return rule(GROUP, {
    alert: 'OskJobFailed',
    quantity: `kube_job_status_failed{${sel}}`,
    when: '> 0',
    for: '5m',
    severity: 'warning',
    summary: 'Job {{ $labels.job_name }} failed',
    description:
      'A Job of the cloud (db-sync, ks-user, bootstrap, …) ran out of retries; what waits for it will not start.',
    runbook: `Read the Job's pod log (kubectl -n ${ns} logs job/{{ $labels.job_name }}), fix the cause and run osk apply again (a changed config makes a new Job).`,
    line: 0,
    unit: 'short',
    title: 'Failed Jobs',
    legend: '{{job_name}}',
    examples: oneSeries(
      'kube_job_status_failed',
      { namespace: ns, job_name: 'nova-db-sync-abc12' },
      gauge(1),
      gauge(0),
    ),
  });
}

function volumeFillingUp({ ns, sel }: AlertContext): AlertDef {
  const cap = 10 * 1024 * 1024 * 1024;
  const claim = 'persistentvolumeclaim="data-mariadb-0"';
  const pvc = (share: number): Series[] => [
    { series: `kubelet_volume_stats_used_bytes{${sel},${claim}}`, values: gauge(Math.round(cap * share)) },
    { series: `kubelet_volume_stats_capacity_bytes{${sel},${claim}}`, values: gauge(cap) },
  ];
  return rule(GROUP, {
    alert: 'PersistentVolumeFillingUp',
    quantity: `kubelet_volume_stats_used_bytes{${sel}} / kubelet_volume_stats_capacity_bytes{${sel}}`,
    when: '> 0.85',
    for: '5m',
    severity: 'warning',
    summary: 'Volume {{ $labels.persistentvolumeclaim }} is more than 85% full',
    description: 'A claim of MariaDB, RabbitMQ or OVN is almost full; a full volume stops the database or the broker.',
    runbook:
      'Grow the claim (storage.size of that component in the cloud file, if the StorageClass allows expansion) or remove old data (binlogs, large queues).',
    line: 0.85,
    unit: 'percentunit',
    title: 'Volume usage',
    legend: '{{persistentvolumeclaim}}',
    examples: {
      fire: { labels: { namespace: ns, persistentvolumeclaim: 'data-mariadb-0' }, series: pvc(0.9) },
      quiet: { series: pvc(0.5) },
    },
  });
}

function certificateExpiring({ ns, ingresses }: AlertContext): AlertDef {
  const names = ingresses.map((i) => `${i}-tls`).join('|');
  const days = 14;
  // promtool evaluates at 90m after the epoch: expiry timestamps relative to that.
  const at = 90 * 60;
  const cert = (secondsLeft: number) => ({
    series: `certmanager_certificate_expiration_timestamp_seconds{name="${ingresses[0]}-tls"}`,
    values: gauge(at + secondsLeft),
  });
  return rule(GROUP, {
    alert: 'CertificateExpiringSoon',
    quantity: `certmanager_certificate_expiration_timestamp_seconds{name=~"${names}"} - time()`,
    when: `< ${days * 86400}`,
    for: '1h',
    severity: 'warning',
    summary: `Certificate {{ $labels.name }} expires in less than ${days} days`,
    description: 'cert-manager has not renewed a public API certificate although it expires soon.',
    runbook: `Look at the Certificate and its CertificateRequest (kubectl -n ${ns} describe certificate {{ $labels.name }}) and the issuer's status; fix the issuer or the DNS/HTTP challenge.`,
    line: days * 86400,
    unit: 's',
    title: 'Certificate time left',
    legend: '{{name}}',
    examples: {
      fire: { labels: { name: `${ingresses[0]}-tls` }, series: [cert(3 * 86400)] },
      quiet: { series: [cert(60 * 86400)] },
    },
  });
}

function metricsTargetDown({ ns, sel }: AlertContext): AlertDef {
  return rule(GROUP, {
    alert: 'MetricsTargetDown',
    quantity: `up{${sel}}`,
    when: '== 0',
    for: '10m',
    severity: 'warning',
    summary: 'Prometheus cannot scrape {{ $labels.job }}',
    description:
      'An exporter or the RabbitMQ metrics endpoint of the cloud does not answer: the alerts that read it are blind.',
    runbook: `Check the pod behind it (kubectl -n ${ns} get pods -l osk.dev/component=<exporter>) and the NetworkPolicy osk-metrics-scrape, which must admit the Prometheus pods.`,
    line: 1,
    unit: 'short',
    title: 'Scrape targets up',
    legend: '{{job}} {{instance}}',
    examples: oneSeries('up', { namespace: ns, job: `${ns}/mysqld-exporter` }, gauge(0), gauge(1)),
  });
}

export function kubernetesAlerts(c: AlertContext): AlertDef[] {
  const tls = Boolean(c.model.ctx.spec.endpoints?.tls?.enabled);
  return [jobFailed(c), volumeFillingUp(c), ...(tls ? [certificateExpiring(c)] : []), metricsTargetDown(c)];
}
