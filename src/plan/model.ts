/**
 * spec + catalog → CloudModel: the components, their config bundles and credentials, and the
 * dependency graph, each edge carrying the reference that creates it. Pure: no I/O.
 */
import { buildServices } from '../catalog/index.js';
import {
  CatalogContext,
  kubernetesTopology,
  placeholderSecrets,
  type SecretLookup,
  type Topology,
} from '../catalog/context.js';
import type { ComponentDef, ConfigBundleDef, ServiceDef } from '../catalog/types.js';
import type { SecretDef } from '../config/secrets.js';
import type { OsRelease, Ref } from '../config/ini.js';
import { ExitCode, OskError } from '../errors.js';
import type { CloudFile } from '../spec/schema.js';
import { CycleError, waves } from './graph.js';

export interface Edge {
  from: string;
  to: string;
  /** needs: `to` must be ready before `from` starts; calls: network traffic only. */
  kind: 'needs' | 'calls';
  /** Why, in words: the config option, env var or rule that makes the reference. */
  why: string;
  port?: number;
}

export interface CloudModel {
  file: CloudFile;
  ctx: CatalogContext;
  services: ServiceDef[];
  components: Map<string, ComponentDef>;
  bundles: Map<string, ConfigBundleDef>;
  secrets: Map<string, SecretDef>;
  edges: Edge[];
  waves: string[][];
}

interface ModelOptions {
  topology?: Topology;
  secrets?: SecretLookup;
  release?: OsRelease;
}

export function buildModel(file: CloudFile, opts: ModelOptions = {}): CloudModel {
  const namespace = file.metadata.namespace ?? 'openstack';
  const ctx = new CatalogContext(
    file,
    opts.topology ?? kubernetesTopology(namespace),
    opts.secrets ?? placeholderSecrets,
    opts.release ?? file.spec.release,
  );
  const services = buildServices(ctx);
  const components = new Map<string, ComponentDef>();
  const bundles = new Map<string, ConfigBundleDef>();
  const secrets = new Map<string, SecretDef>();
  for (const s of services) {
    for (const c of s.components) {
      if (components.has(c.id)) throw new Error(`catalog bug: component ${c.id} is declared twice`);
      components.set(c.id, c);
    }
    for (const b of s.configs) bundles.set(b.name, b);
    for (const d of s.secrets) secrets.set(d.name, d);
  }
  const edges = collectEdges(components, bundles, secrets);
  checkTargets(file, components, edges);
  let w: string[][];
  try {
    w = waves(
      [...components.keys()],
      edges.filter((e) => e.kind === 'needs'),
    );
  } catch (e) {
    if (e instanceof CycleError) {
      const steps = e.cycle.slice(0, -1).map((from, i) => {
        const to = e.cycle[i + 1]!;
        const edge = edges.find((x) => x.from === from && x.to === to && x.kind === 'needs');
        return `  ${from} waits for ${to}: ${edge?.why ?? '?'}`;
      });
      throw new OskError(`the plan has a dependency cycle: ${e.cycle.join(' → ')}\n${steps.join('\n')}`, {
        exitCode: ExitCode.invalidInput,
        hint: 'one of these references must go: disable a service or report the cycle as an osk bug',
      });
    }
    throw e;
  }
  return { file, ctx, services, components, bundles, secrets, edges, waves: w };
}

/** Every reference a component makes: env, command, mounted config files, credentials, rules. */
function referencesOf(
  c: ComponentDef,
  bundles: Map<string, ConfigBundleDef>,
  secrets: Map<string, SecretDef>,
): (Ref & { from: string })[] {
  const out: (Ref & { from: string })[] = [];
  for (const e of c.env ?? []) {
    for (const r of e.refs ?? []) out.push({ ...r, from: `env ${e.name}` });
    if (e.secret) {
      const def = secrets.get(e.secret);
      if (!def) {
        // The owning service is disabled: the variable's own reference reports the missing
        // dependency. Without one, the catalog forgot to declare the secret.
        if (e.refs?.length) continue;
        throw new Error(`catalog bug: ${c.id} uses undeclared secret ${e.secret}`);
      }
      if (def.createdBy)
        out.push({
          target: def.createdBy,
          kind: 'needs',
          via: `credential ${def.name} is created by ${def.createdBy}`,
          from: `env ${e.name}`,
        });
    }
  }
  for (const r of c.refs ?? []) out.push({ ...r, from: 'command' });
  for (const f of c.secretFiles ?? []) for (const r of f.refs ?? []) out.push({ ...r, from: `secret ${f.k8sSecret}` });
  for (const name of c.configs ?? []) {
    const b = bundles.get(name);
    if (!b) throw new Error(`catalog bug: ${c.id} mounts unknown config bundle ${name}`);
    for (const f of b.files) {
      if ('ini' in f) out.push(...f.ini.refs(c.readsSections));
      else for (const r of f.refs ?? []) out.push({ ...r, from: f.name });
    }
  }
  return out;
}

function collectEdges(
  components: Map<string, ComponentDef>,
  bundles: Map<string, ConfigBundleDef>,
  secrets: Map<string, SecretDef>,
): Edge[] {
  const edges: Edge[] = [];
  const seen = new Set<string>();
  const add = (e: Edge) => {
    if (e.from === e.to) return;
    const key = `${e.from}|${e.to}|${e.kind}`;
    if (seen.has(key)) return;
    // A `needs` edge covers the traffic of a `calls` edge to the same target.
    if (e.kind === 'calls' && seen.has(`${e.from}|${e.to}|needs`)) return;
    seen.add(key);
    edges.push(e);
  };
  for (const c of components.values()) {
    const refs = referencesOf(c, bundles, secrets);
    // needs first, so a later `calls` to the same target is folded into it.
    for (const r of [...refs.filter((r) => r.kind === 'needs'), ...refs.filter((r) => r.kind === 'calls')]) {
      add({
        from: c.id,
        to: r.target,
        kind: r.kind,
        why: `${r.from}: ${r.via}`,
        ...(r.port !== undefined ? { port: r.port } : {}),
      });
    }
    for (const a of c.after ?? []) add({ from: c.id, to: a.target, kind: 'needs', why: a.why });
  }
  return edges;
}

/** A `needs` edge to a component that is not in the cloud: say which service to enable. */
function checkTargets(file: CloudFile, components: Map<string, ComponentDef>, edges: Edge[]): void {
  const problems: string[] = [];
  for (let i = edges.length - 1; i >= 0; i--) {
    const e = edges[i]!;
    if (components.has(e.to)) continue;
    edges.splice(i, 1);
    if (e.kind === 'calls') continue;
    const service = e.to.split('-')[0]!;
    problems.push(
      `  ${e.from} needs ${e.to} (${e.why}), but ${e.to} is not in the cloud${service in (file.spec.services ?? {}) ? ` (spec.services.${service}.enabled is false)` : ''}`,
    );
  }
  if (problems.length > 0) {
    throw new OskError(`the plan is missing dependencies:\n${[...new Set(problems)].reverse().join('\n')}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'enable the services named above, or disable the ones that need them',
    });
  }
}

/** What a component waits for, with reasons (for `osk plan`). */
export function waitsFor(model: CloudModel, id: string): Edge[] {
  return model.edges.filter((e) => e.from === id && e.kind === 'needs');
}
