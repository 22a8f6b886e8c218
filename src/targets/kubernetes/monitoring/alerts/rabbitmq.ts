/** RabbitMQ health from its rabbitmq_prometheus plugin (:15692). */
import type { AlertContext } from './context.js';
import { rule } from './rule.js';
import { gauge, oneSeries } from './series.js';
import type { AlertDef } from './types.js';

const GROUP = 'rabbitmq';

/** The alarms and partitions the broker itself flags: critical as soon as the flag is set. */
const FLAGS: {
  metric: string;
  alert: string;
  summary: string;
  description: string;
  runbook: (ns: string) => string;
}[] = [
  {
    metric: 'rabbitmq_unreachable_cluster_peers_count',
    alert: 'RabbitMQPartition',
    summary: 'RabbitMQ node {{ $labels.pod }} cannot reach its peers',
    description:
      'The node counts unreachable cluster peers: a network partition (pause_minority stops the minority side).',
    runbook: (ns) =>
      `Check the network between the rabbitmq pods and their logs (kubectl -n ${ns} logs {{ $labels.pod }}); once peers are reachable, restart the paused minority node.`,
  },
  {
    metric: 'rabbitmq_alarms_memory_used_watermark',
    alert: 'RabbitMQMemoryAlarm',
    summary: 'RabbitMQ node {{ $labels.pod }} hit its memory watermark',
    description: 'The memory alarm is set: the broker blocks every publisher, so RPC between OpenStack services stops.',
    runbook: () =>
      'Find the queue holding the memory (rabbitmqctl list_queues name messages memory) and its missing consumer; raise infra.rabbitmq memory limit or memoryHighWatermark if the load is legitimate.',
  },
  {
    metric: 'rabbitmq_alarms_free_disk_space_watermark',
    alert: 'RabbitMQDiskAlarm',
    summary: 'RabbitMQ node {{ $labels.pod }} is below its free disk limit',
    description: 'The disk alarm is set: the broker blocks every publisher.',
    runbook: () =>
      'Grow the rabbitmq PersistentVolumeClaim (infra.rabbitmq.storage.size) or drain the queue that fills it.',
  },
];

export function rabbitmqAlerts({ ns, sel }: AlertContext): AlertDef[] {
  const pod = { namespace: ns, pod: 'rabbitmq-0' };
  const flags = FLAGS.map((f) =>
    rule(GROUP, {
      alert: f.alert,
      quantity: `${f.metric}{${sel}}`,
      when: '> 0',
      for: '2m',
      severity: 'critical',
      summary: f.summary,
      description: f.description,
      runbook: f.runbook(ns),
      line: 0,
      unit: 'short',
      title: f.alert.replace(/([a-z])([A-Z])/g, '$1 $2'),
      legend: '{{pod}}',
      examples: oneSeries(f.metric, pod, gauge(1), gauge(0)),
    }),
  );
  const ready = `sum by (namespace, pod) (rabbitmq_queue_messages_ready{${sel}})`;
  const growing = rule(GROUP, {
    alert: 'RabbitMQQueueGrowing',
    quantity: ready,
    expr: `${ready} > 1000 and sum by (namespace, pod) (deriv(rabbitmq_queue_messages_ready{${sel}}[15m])) > 0`,
    for: '15m',
    severity: 'warning',
    summary: 'Ready messages on RabbitMQ node {{ $labels.pod }} keep growing',
    description:
      'More than 1000 messages wait and their number has been rising for 15 minutes: a consumer (conductor, scheduler, agent) is down or too slow.',
    runbook:
      'List queues by depth (rabbitmqctl list_queues -p <vhost> name messages_ready consumers) and restart or scale the service whose queue has no consumers.',
    line: 1000,
    unit: 'short',
    title: 'RabbitMQ ready messages',
    legend: '{{pod}}',
    examples: oneSeries('rabbitmq_queue_messages_ready', pod, '1000+20x120', gauge(5000)),
  });
  return [...flags, growing];
}
