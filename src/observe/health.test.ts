import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitCode, OskError } from '../errors.js';
import { healthTable, percentile, resolveLimits, summarize, verdicts, type ApiStats, type Sample } from './health.js';

const ok = (...ms: number[]): Sample[] => ms.map((m) => ({ ok: true, ms: m }));
const fail = (n: number, error = 'compute: GET /servers failed: 503 Service Unavailable'): Sample[] =>
  Array.from({ length: n }, () => ({ ok: false, ms: 1, error }));

describe('percentile (nearest rank)', () => {
  test('p50 and p99 of known samples', () => {
    const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    assert.equal(percentile(xs, 50), 5);
    assert.equal(percentile(xs, 99), 10);
    assert.equal(percentile(xs, 90), 9);
    assert.equal(percentile(xs, 100), 10);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile([42], 50), 42);
    assert.equal(percentile([42], 99), 42);
    assert.equal(percentile([], 50), null);
    assert.throws(() => percentile([1], 0), RangeError);
  });
});

describe('summarize', () => {
  test('success rate counts failures; latencies only of successful calls; errors grouped', () => {
    const s = summarize('nova', 'GET /servers', [...ok(100, 200, 300), ...fail(2), ...fail(1, 'connection refused')]);
    assert.equal(s.probes, 6);
    assert.equal(s.ok, 3);
    assert.equal(s.failed, 3);
    assert.equal(s.successRate, 0.5);
    assert.equal(s.p50Ms, 200);
    assert.equal(s.p99Ms, 300);
    assert.deepEqual(s.errors, [
      { message: 'compute: GET /servers failed: 503 Service Unavailable', count: 2 },
      { message: 'connection refused', count: 1 },
    ]);
    const none = summarize('nova', 'x', fail(3));
    assert.equal(none.successRate, 0);
    assert.equal(none.p99Ms, null);
  });
});

describe('thresholds', () => {
  const spec = {
    monitoring: {
      enabled: true,
      thresholds: {
        novaApiP99: '250ms',
        neutronPortFailureRate: '5%',
        cinderOpLatency: '3s',
        apiSuccessRate: '99%',
        gatewayP99: '200ms',
        podRestartsPerHour: 3,
        containerCpu: '70%',
        containerMemory: '80%',
      },
    },
  } as never;

  test('flags win over the cloud file, which wins over the defaults', () => {
    const l = resolveLimits(spec, { novaApiP99: '1ms' });
    assert.equal(l.novaApiP99, 0.001);
    assert.equal(l.source.novaApiP99, 'flag');
    assert.equal(l.neutronPortFailureRate, 0.05);
    assert.equal(l.source.neutronPortFailureRate, 'cloud file');
    const d = resolveLimits(undefined, {});
    assert.equal(d.novaApiP99, 0.5);
    assert.equal(d.apiSuccessRate, 0.999);
    assert.equal(d.source.apiSuccessRate, 'default');
  });

  test('a bad flag value is bad input (exit 2)', () => {
    for (const f of [{ novaApiP99: 'fast' }, { apiSuccessRate: '99.9' }, { neutronPortFailureRate: '150%' }]) {
      assert.throws(
        () => resolveLimits(undefined, f),
        (e: unknown) => e instanceof OskError && e.exitCode === ExitCode.invalidInput,
      );
    }
  });

  const stats = (over: Partial<Record<string, Sample[]>> = {}): ApiStats[] => [
    summarize('keystone', 'POST /v3/auth/tokens', over.keystone ?? ok(50, 60)),
    summarize('nova', 'GET /servers', over.nova ?? ok(100, 120, 400)),
    summarize('neutron-port', 'POST /v2.0/ports', over.port ?? ok(200, 210)),
    ...(over.vol ? [summarize('cinder-volume', 'create → available', over.vol)] : []),
  ];
  const state = (vs: ReturnType<typeof verdicts>, name: string) => vs.find((v) => v.threshold === name)!.state;

  test('a healthy cloud: every measured threshold ok, the Kubernetes ones not measured', () => {
    const vs = verdicts(stats(), resolveLimits(undefined, {}), { write: false, target: 'osk' });
    assert.equal(state(vs, 'novaApiP99'), 'ok');
    assert.equal(state(vs, 'neutronPortFailureRate'), 'ok');
    assert.equal(state(vs, 'apiSuccessRate'), 'ok');
    assert.equal(state(vs, 'cinderOpLatency'), 'not-measured');
    for (const k of ['gatewayP99', 'podRestartsPerHour', 'containerCpu', 'containerMemory'])
      assert.equal(state(vs, k), 'not-measured');
    assert.match(vs.find((v) => v.threshold === 'gatewayP99')!.detail, /Kubernetes only/);
  });

  test('breaches: slow nova, failing ports, slow volumes, low success rate', () => {
    const l = resolveLimits(undefined, {});
    assert.equal(
      state(verdicts(stats({ nova: ok(100, 600) }), l, { write: false, target: 'osk' }), 'novaApiP99'),
      'breach',
    );
    assert.equal(state(verdicts(stats({ nova: fail(3) }), l, { write: false, target: 'osk' }), 'novaApiP99'), 'breach');
    const ports = verdicts(stats({ port: [...ok(...Array(98).fill(100)), ...fail(2)] }), l, {
      write: false,
      target: 'osk',
    });
    assert.equal(state(ports, 'neutronPortFailureRate'), 'breach'); // 2% > 1%
    assert.equal(state(ports, 'apiSuccessRate'), 'breach');
    assert.match(ports.find((v) => v.threshold === 'apiSuccessRate')!.detail, /failing: neutron-port/);
    assert.equal(
      state(verdicts(stats({ vol: ok(1000, 3500) }), l, { write: true, target: 'osk' }), 'cinderOpLatency'),
      'breach',
    );
    assert.equal(
      state(verdicts(stats({ vol: ok(1000, 2500) }), l, { write: true, target: 'osk' }), 'cinderOpLatency'),
      'ok',
    );
    // Exactly at the limit is within it.
    assert.equal(state(verdicts(stats({ nova: ok(500) }), l, { write: false, target: 'osk' }), 'novaApiP99'), 'ok');
  });

  test('the table names the broken thresholds and the failures', () => {
    const apis = stats({ nova: [...ok(100), ...fail(1)] });
    const thresholds = verdicts(apis, resolveLimits(undefined, {}), { write: false, target: 'openstack' });
    const text = healthTable({
      target: { kind: 'openstack', cloud: 'x', authUrl: 'http://k:5000/v3' },
      probes: 2,
      concurrency: 1,
      write: false,
      seconds: 1,
      apis,
      thresholds,
      healthy: false,
    });
    assert.match(text, /UNHEALTHY: apiSuccessRate broken/);
    assert.match(text, /nova \(1×\): compute: GET \/servers failed: 503/);
  });
});
