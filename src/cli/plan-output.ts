/** `osk plan` output: waves, and for each component what it waits for and why. */
import type { CloudModel } from '../plan/model.js';
import { waitsFor } from '../plan/model.js';

interface PlanJson {
  cloud: string;
  namespace: string;
  profile: string;
  release: string;
  waves: {
    wave: number;
    components: {
      id: string;
      service: string;
      kind: string;
      replicas?: number;
      waitsFor: { component: string; why: string }[];
      calls: { component: string; port?: number; why: string }[];
    }[];
  }[];
  credentials: string[];
}

export function planJson(model: CloudModel): PlanJson {
  return {
    cloud: model.ctx.name,
    namespace: model.ctx.namespace,
    profile: model.file.spec.profile,
    release: model.file.spec.release,
    waves: model.waves.map((ids, wave) => ({
      wave,
      components: ids.map((id) => {
        const c = model.components.get(id)!;
        return {
          id,
          service: c.service,
          kind: c.workload,
          ...(c.workload === 'Deployment' || c.workload === 'StatefulSet' ? { replicas: c.settings.replicas } : {}),
          waitsFor: waitsFor(model, id).map((e) => ({ component: e.to, why: e.why })),
          calls: model.edges
            .filter((e) => e.from === id && e.kind === 'calls')
            .map((e) => ({ component: e.to, ...(e.port !== undefined ? { port: e.port } : {}), why: e.why })),
        };
      }),
    })),
    credentials: [...model.secrets.keys()].sort(),
  };
}

export function planText(model: CloudModel, opts: { verbose: boolean }): string {
  const j = planJson(model);
  const lines: string[] = [];
  const count = j.waves.reduce((n, w) => n + w.components.length, 0);
  lines.push(
    `Cloud ${j.cloud} (profile ${j.profile}, release ${j.release}) in namespace ${j.namespace}: ${count} components in ${j.waves.length} waves.`,
  );
  lines.push('Each wave starts when everything it waits for is ready; a wave runs in parallel.');
  for (const w of j.waves) {
    lines.push('', `Wave ${w.wave + 1}:`);
    for (const c of w.components) {
      const size = c.replicas !== undefined ? ` ×${c.replicas}` : '';
      lines.push(`  ${c.id} (${c.kind}${size})`);
      if (c.waitsFor.length === 0) lines.push('    waits for nothing');
      // One line per dependency: the first reason, and how many more references make the same edge.
      const byTarget = new Map<string, string[]>();
      for (const d of c.waitsFor) byTarget.set(d.component, [...(byTarget.get(d.component) ?? []), d.why]);
      for (const [target, whys] of byTarget) {
        lines.push(`    waits for ${target}: ${whys[0]}`);
        if (opts.verbose) for (const why of whys.slice(1)) lines.push(`      also: ${why}`);
      }
    }
  }
  lines.push(
    '',
    `${j.credentials.length} credentials are generated once and kept in the secret store (osk render --show-secrets prints them).`,
  );
  return `${lines.join('\n')}\n`;
}
