/**
 * The rendered monitoring, proven with real tools: `promtool check rules` on every rule file,
 * `promtool test rules` that makes every alert fire on synthetic series and stay quiet on healthy
 * ones (generated from the same thresholds), and the dashboards checked as Grafana JSON whose
 * queries parse as PromQL (lezer-promql, Prometheus' own grammar) and read only metrics the
 * rules use. promtool comes from Debian's prometheus package (scripts/install-test-tools.sh).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { stringify } from 'yaml';
import { SecretStore } from '../../../state/secret-store.js';
import { render } from '../render.js';
import { parseCloudFile } from '../../../spec/load.js';
import { allObjects } from '../objects.js';
import { alertDefinitions, type AlertDef } from './alerts.js';
import { objectsNeedingCrds, skipMessage } from './crds.js';
import { dashboards } from './dashboards.js';
import { DASHBOARD_LABEL } from './render.js';
import { sdkDashboards } from '../testing/sdk-dashboards.js';

const CLOUDS: Record<string, string> = {
  minimal: readFileSync('examples/minimal.yaml', 'utf8'),
  ha: readFileSync('examples/ha.yaml', 'utf8'),
  custom: [
    'apiVersion: osk.dev/v1alpha1',
    'kind: Cloud',
    'metadata: {name: tuned, namespace: tuned}',
    'spec:',
    '  profile: ha',
    '  endpoints: {publicDomain: t.example.org, tls: {enabled: true, issuer: ca}}',
    '  monitoring:',
    '    thresholds: {novaApiP99: 1.5s, neutronPortFailureRate: "5%", cinderOpLatency: 10s, apiSuccessRate: "99%", gatewayP99: 350ms, podRestartsPerHour: 10, containerCpu: "90%", containerMemory: "95%"}',
    '',
  ].join('\n'),
};

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

function rendered(name: string, text = CLOUDS[name]!) {
  const file = parseCloudFile(text, name);
  const { groups, model } = render(file, SecretStore.memory(file.metadata.name));
  return { model, groups, objects: allObjects(groups).map((o) => o as Obj) };
}

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const havePromtool = promtool.status === 0;
const skip = havePromtool
  ? false
  : 'promtool is missing: run scripts/install-test-tools.sh as root (Debian package prometheus)';
const work = mkdtempSync(join(tmpdir(), 'osk-observe-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: work });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** {{ $labels.x }} expanded the way Prometheus' template does for these plain summaries. */
function expand(text: string, labels: Record<string, string>): string {
  return text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '');
}

/** A promtool unit-test file: per alert, one test where it fires and one where it does not. */
function unitTests(rulesFile: string, alerts: AlertDef[], cloud: string): unknown {
  const tests = alerts.flatMap((a) => {
    const labels = { ...a.examples.fire.labels, severity: a.severity, osk_cloud: cloud };
    return [
      {
        name: `${a.alert} fires`,
        interval: '1m',
        input_series: a.examples.fire.series,
        alert_rule_test: [
          {
            eval_time: '90m',
            alertname: a.alert,
            exp_alerts: [
              {
                exp_labels: labels,
                exp_annotations: {
                  summary: expand(a.summary, labels),
                  description: a.description,
                  runbook: expand(a.runbook, labels),
                },
              },
            ],
          },
        ],
      },
      {
        name: `${a.alert} stays quiet`,
        interval: '1m',
        input_series: a.examples.quiet.series,
        alert_rule_test: [{ eval_time: '90m', alertname: a.alert, exp_alerts: [] }],
      },
    ];
  });
  return { rule_files: [rulesFile], evaluation_interval: '1m', tests };
}

test('promtool is installed (Debian prometheus package)', { skip }, () => {
  assert.match(promtool.stdout + promtool.stderr, /promtool, version \d+\.\d+/);
});

for (const name of Object.keys(CLOUDS)) {
  test(`${name}: the rendered rules pass promtool check rules`, { skip }, () => {
    const { objects } = rendered(name);
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    assert.equal(rules.length, 1);
    const file = `${name}.rules.yaml`;
    writeFileSync(join(work, file), stringify(rules[0]!.spec));
    const r = run(['check', 'rules', file]);
    assert.ok(r.ok, r.out);
    const count = rules[0]!.spec.groups.reduce((n: number, g: any) => n + g.rules.length, 0);
    assert.match(r.out, new RegExp(`SUCCESS: ${count} rules found`));
  });

  test(`${name}: every alert fires on its failure and stays quiet when healthy (promtool test rules)`, { skip }, () => {
    const { objects, model } = rendered(name);
    const alerts = alertDefinitions(model);
    const rules = objects.find((o) => o.kind === 'PrometheusRule')!;
    // The tests are written from the definitions; the rendered rule file is what they run on.
    assert.deepEqual(
      rules.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert)),
      alerts.map((a) => a.alert),
    );
    writeFileSync(join(work, `${name}.rules.yaml`), stringify(rules.spec));
    writeFileSync(join(work, `${name}.test.yaml`), stringify(unitTests(`${name}.rules.yaml`, alerts, model.ctx.name)));
    const r = run(['test', 'rules', `${name}.test.yaml`]);
    assert.ok(r.ok, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test(`${name}: each alert has a severity, a runbook line and a summary`, () => {
    const rules = rendered(name)
      .objects.find((o) => o.kind === 'PrometheusRule')!
      .spec.groups.flatMap((g: any) => g.rules);
    assert.ok(rules.length >= 15, `${rules.length} rules`);
    for (const r of rules) {
      assert.ok(['critical', 'warning'].includes(r.labels.severity), r.alert);
      assert.ok(r.annotations.runbook.length > 30 && !r.annotations.runbook.includes('\n'), `${r.alert} runbook`);
      assert.ok(r.annotations.summary.length > 10, `${r.alert} summary`);
    }
  });

  test(`${name}: the dashboards are the JSON Grafana's foundation SDK builds, key order included`, () => {
    const { model } = rendered(name);
    const alerts = alertDefinitions(model);
    const plain = dashboards(model.ctx.name, 'ns', alerts);
    const sdk = sdkDashboards(model.ctx.name, 'ns', alerts);
    assert.equal(plain.length, sdk.length);
    for (const [i, d] of plain.entries()) {
      assert.equal(JSON.stringify(d.json, null, 2), JSON.stringify(sdk[i]!.json, null, 2), `dashboard ${d.name}`);
    }
  });

  test(`${name}: dashboards are Grafana JSON with unique panel ids, PromQL that parses, known metrics and drawn thresholds`, () => {
    const { objects } = rendered(name);
    const ruleExprs = objects
      .find((o) => o.kind === 'PrometheusRule')!
      .spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr as string));
    const known = new Set(ruleExprs.flatMap(metricNames));
    const maps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.[DASHBOARD_LABEL] === '1');
    assert.ok(maps.length >= 3, `${maps.length} dashboards`);
    const uids = new Set<string>();
    let thresholdPanels = 0;
    for (const m of maps) {
      const [[key, text]] = Object.entries(m.data!) as [[string, string]];
      assert.match(key, /\.json$/);
      const d = JSON.parse(text);
      assert.equal(typeof d.title, 'string');
      assert.ok(typeof d.uid === 'string' && d.uid.length <= 40 && !uids.has(d.uid), `uid ${d.uid}`);
      uids.add(d.uid);
      assert.ok(Number.isInteger(d.schemaVersion));
      assert.ok(Array.isArray(d.panels) && d.panels.length > 1);
      assert.ok(d.templating.list.some((v: any) => v.type === 'datasource' && v.name === 'datasource'));
      const ids = d.panels.map((p: any) => p.id);
      assert.ok(
        ids.every((i: unknown) => Number.isInteger(i)),
        `${key}: every panel has an id`,
      );
      assert.equal(new Set(ids).size, ids.length, `${key}: panel ids are unique`);
      for (const p of d.panels.filter((x: any) => x.type !== 'row')) {
        assert.ok(
          p.gridPos && p.datasource?.uid === '${datasource}',
          `${p.title}: placed and bound to the datasource variable`,
        );
        assert.ok(p.targets?.length, `${p.title} has a query`);
        for (const t of p.targets) {
          assert.deepEqual(parseErrors(t.expr), [], `${p.title}: ${t.expr}`);
          for (const metric of metricNames(t.expr))
            assert.ok(known.has(metric), `${p.title}: ${metric} is read by no rule`);
        }
        const steps = p.fieldConfig?.defaults?.thresholds?.steps;
        if (steps?.length > 1) {
          assert.equal(p.fieldConfig.defaults.custom.thresholdsStyle.mode, 'line');
          thresholdPanels++;
        }
      }
    }
    assert.equal(thresholdPanels, ruleExprs.length, 'one panel with its threshold per alert');
  });
}

test('custom thresholds reach the rules and the dashboards', () => {
  const rules = (n: string) =>
    rendered(n)
      .objects.find((o) => o.kind === 'PrometheusRule')!
      .spec.groups.flatMap((g: any) => g.rules);
  const byName = (n: string) =>
    new Map<string, string>(rules(n).map((r: any) => [r.alert as string, r.expr as string]));
  const custom = byName('custom');
  const ha = byName('ha');
  assert.match(ha.get('NovaApiLatencyHigh')!, /\) > 0\.5$/);
  assert.match(custom.get('NovaApiLatencyHigh')!, /\) > 1\.5$/);
  assert.match(custom.get('ApiSuccessRateLow')!, / < 0\.99$/);
  assert.match(custom.get('PodRestartingOften')!, / > 10$/);
  assert.match(custom.get('ContainerMemoryNearLimit')!, / > 0\.95$/);
  const dash = rendered('custom').objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === 'osk-dashboard-thresholds',
  )!;
  const panels = JSON.parse(Object.values(dash.data!)[0]!).panels;
  const nova = panels.find((p: any) => p.title === 'Nova API p99 latency');
  assert.equal(nova.fieldConfig.defaults.thresholds.steps[1].value, 1.5);
});

test('ha: Galera alerts expect the cloud size; minimal has no Galera alerts', () => {
  const exprs = (n: string) =>
    rendered(n)
      .objects.find((o) => o.kind === 'PrometheusRule')!
      .spec.groups.flatMap((g: any) => g.rules.map((r: any) => `${r.alert}: ${r.expr}`));
  assert.ok(
    exprs('ha').includes('GaleraClusterSizeLow: mysql_global_status_wsrep_cluster_size{namespace="openstack"} < 3'),
  );
  assert.ok(!exprs('minimal').some((e: string) => e.startsWith('Galera')));
});

test('scrapes: a PodMonitor per source, one probe per Galera node, and NetworkPolicies that admit them', () => {
  const { objects } = rendered('ha');
  const monitors = new Map(objects.filter((o) => o.kind === 'PodMonitor').map((o) => [o.metadata.name, o.spec]));
  assert.deepEqual([...monitors.keys()].sort(), [
    'blackbox-exporter',
    'memcached-exporter',
    'mysqld-exporter',
    'openstack-exporter',
    'rabbitmq',
  ]);
  // One probe per API, of its internal version document, labelled with the API's component.
  const apiProbes = monitors.get('blackbox-exporter').podMetricsEndpoints;
  assert.deepEqual(
    apiProbes.map((e: any) => [e.relabelings[0].replacement, e.params.target[0], e.params.module[0]]),
    [
      ['keystone-api', 5000],
      ['nova-api', 8774],
      ['neutron-server', 9696],
      ['cinder-api', 8776],
      ['glance-api', 9292],
      ['placement-api', 8778],
    ].map(([c, p]) => [c, `http://${c}.openstack.svc.cluster.local:${p}/`, 'openstack_api']),
  );
  assert.equal(monitors.get('rabbitmq').podMetricsEndpoints[0].port, 'prometheus');
  const probes = monitors.get('mysqld-exporter').podMetricsEndpoints;
  assert.deepEqual(
    probes.map((e: any) => e.params.target[0]),
    [0, 1, 2].map((i) => `mariadb-${i}.mariadb-headless.openstack.svc.cluster.local:3306`),
  );
  for (const [name] of monitors) {
    const np = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${name}-metrics-scrape`);
    assert.ok(np, `${name} scrape policy`);
  }
  // The exporters' own traffic is allowed by the plan's policies (edges with ports).
  const egress = (id: string) =>
    objects
      .find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === id)!
      .spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port));
  assert.ok(egress('mysqld-exporter').includes(3306));
  assert.ok(egress('memcached-exporter').includes(11211));
  for (const port of [5000, 8774, 9696, 8776, 9292, 8778]) {
    assert.ok(egress('openstack-exporter').includes(port), `openstack-exporter → ${port}`);
    assert.ok(egress('blackbox-exporter').includes(port), `blackbox-exporter → ${port}`);
  }
  // Credentials reach the exporters only through Secrets.
  const secrets = objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
  assert.ok(
    secrets.includes('openstack-exporter-config-secrets') && secrets.includes('mysqld-exporter-config-secrets'),
  );
  assert.ok(
    !objects.some(
      (o) =>
        o.kind === 'ConfigMap' &&
        (o.metadata.name === 'openstack-exporter-config' || o.metadata.name === 'mysqld-exporter-config'),
    ),
  );
});

test('objectsNeedingCrds lists the Prometheus Operator objects, and the skip line counts them', () => {
  const { objects } = rendered('minimal');
  const all = objectsNeedingCrds(objects);
  assert.deepEqual(
    all.map((n) => `${n.group}/${n.kind}`),
    ['monitoring.coreos.com/PrometheusRule', 'monitoring.coreos.com/PodMonitor', 'velero.io/Schedule'],
  );
  const needs = all.filter((n) => n.group === 'monitoring.coreos.com');
  const total = objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/')).length;
  assert.equal(
    needs.reduce((n, x) => n + x.objects.length, 0),
    total,
  );
  assert.equal(
    skipMessage(needs),
    `skipped ${total} monitoring objects: the cluster has no monitoring.coreos.com CRDs (Prometheus Operator); install it or set spec.monitoring.enabled: false`,
  );
  assert.deepEqual(objectsNeedingCrds([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }]), []);
  assert.equal(skipMessage([]), undefined);
  // Velero's objects get their own clause and their own switch.
  assert.match(
    skipMessage(all)!,
    /; skipped 1 backup object: the cluster has no velero\.io CRDs \(Velero\); install it or set spec\.backup\.enabled: false$/,
  );
});

test('spec.monitoring.enabled: false renders no monitoring object and no exporter', () => {
  const text = CLOUDS.minimal!.replace(/^spec:\n/m, 'spec:\n  monitoring: {enabled: false}\n');
  assert.notEqual(text, CLOUDS.minimal);
  const { objects, groups } = rendered('minimal', text);
  assert.ok(!groups.some((g) => g.name.endsWith('-monitoring')));
  assert.deepEqual(
    objectsNeedingCrds(objects).filter((n) => n.group === 'monitoring.coreos.com'),
    [],
  );
  assert.ok(!objects.some((o) => /exporter/.test(o.metadata.name) || o.metadata.labels?.[DASHBOARD_LABEL]));
});

/** Syntax errors lezer-promql finds in an expression (empty: it parses). */
function parseErrors(expr: string): string[] {
  const errors: string[] = [];
  parser
    .parse(expr)
    .iterate({ enter: (n) => void (n.type.isError && errors.push(`${n.from}: ${expr.slice(n.from, n.from + 20)}`)) });
  return errors;
}

/** Metric names an expression reads: identifiers of vector selectors, and __name__ regexes. */
function metricNames(expr: string): string[] {
  const out: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (n) => {
      if (n.name === 'VectorSelector') {
        const id = n.node.getChild('Identifier');
        if (id) out.push(expr.slice(id.from, id.to));
      }
    },
  });
  return out;
}
