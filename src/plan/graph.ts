/**
 * A small dependency graph: deterministic topological order and waves (longest-path levels), and
 * a cycle error that names the whole loop. Hand-written (~60 lines) because the planner also
 * needs levels and reasons per edge, which general graph libraries do not model.
 */
interface GraphEdge {
  from: string;
  to: string;
}

export class CycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`dependency cycle: ${cycle.join(' → ')}`);
  }
}

/** Waves: wave 0 has no dependencies; a node sits one wave after its latest dependency. */
export function waves(nodes: readonly string[], edges: readonly GraphEdge[]): string[][] {
  const deps = new Map(nodes.map((n) => [n, [] as string[]]));
  for (const e of edges) deps.get(e.from)?.push(e.to);
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const stack: string[] = [];
  const visit = (n: string): number => {
    const known = level.get(n);
    if (known !== undefined) return known;
    if (visiting.has(n)) {
      const start = stack.indexOf(n);
      throw new CycleError([...stack.slice(start), n]);
    }
    visiting.add(n);
    stack.push(n);
    let l = 0;
    for (const d of [...(deps.get(n) ?? [])].sort()) l = Math.max(l, visit(d) + 1);
    stack.pop();
    visiting.delete(n);
    level.set(n, l);
    return l;
  };
  for (const n of [...nodes].sort()) visit(n);
  const out: string[][] = [];
  for (const n of nodes) {
    const l = level.get(n)!;
    out[l] ??= [];
    out[l].push(n);
  }
  return out.map((w) => w.sort());
}
