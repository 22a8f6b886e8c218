/**
 * Runs a dependency graph: every node starts as soon as all it needs is done, everything else in
 * parallel. A failed node stops exactly its dependants (reported as blocked, with the chain);
 * the rest of the graph goes on, so one broken service does not hide the state of the others.
 */
export interface RunResult {
  done: string[];
  failed: Map<string, Error>;
  /** Never started: id → the failed node it waited for. */
  blocked: Map<string, string>;
}

export async function runGraph(
  nodes: string[],
  deps: Map<string, string[]>,
  run: (id: string) => Promise<void>,
): Promise<RunResult> {
  const done: string[] = [];
  const failed = new Map<string, Error>();
  const blocked = new Map<string, string>();
  const started = new Set<string>();
  const finished = new Set<string>();
  return new Promise((resolve) => {
    const pump = () => {
      for (const id of nodes) {
        if (started.has(id) || blocked.has(id)) continue;
        const need = deps.get(id) ?? [];
        const bad = need.find((d) => failed.has(d) || blocked.has(d));
        if (bad) {
          blocked.set(id, failed.has(bad) ? bad : blocked.get(bad)!);
          finished.add(id);
          continue;
        }
        if (!need.every((d) => done.includes(d))) continue;
        started.add(id);
        run(id).then(
          () => {
            done.push(id);
            finished.add(id);
            pump();
          },
          (e: unknown) => {
            failed.set(id, e instanceof Error ? e : new Error(String(e)));
            finished.add(id);
            pump();
          },
        );
      }
      // A blocked node can unblock others' bookkeeping only through another pass.
      if (
        [...nodes].some(
          (id) =>
            !finished.has(id) && !started.has(id) && (deps.get(id) ?? []).some((d) => failed.has(d) || blocked.has(d)),
        )
      )
        return pump();
      if (nodes.every((id) => finished.has(id))) resolve({ done, failed, blocked });
    };
    pump();
  });
}
