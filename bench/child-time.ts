// CPU and wall time of a command run as a child process, the way a user runs it. Node reports no
// rusage of its children, so bash's `time` keyword measures: it reads getrusage(RUSAGE_CHILDREN)
// before and after, which counts every descendant the command waited for (render.sh's helm
// processes included), in milliseconds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface Timing {
  /** user + system CPU seconds of the command and its descendants */
  cpu: number;
  wall: number;
}

export interface Measured {
  runs: Timing[];
  cpu: number;
  wall: number;
  /** stdout of the last run */
  stdout: string;
}

const TIMED = 'TIMEFORMAT="%3U %3S %3R"; time "$@" >"$BENCH_STDOUT" 2>"$BENCH_STDERR"';

/** Runs argv `runs` times in sequence; cpu and wall are the medians. Fails on a non-zero exit. */
export function measure(argv: string[], runs: number, env: NodeJS.ProcessEnv): Measured {
  const dir = mkdtempSync(join(tmpdir(), 'osk-bench-'));
  const out = join(dir, 'stdout');
  const err = join(dir, 'stderr');
  try {
    const timings: Timing[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync('bash', ['-c', TIMED, 'bash', ...argv], {
        env: { ...env, BENCH_STDOUT: out, BENCH_STDERR: err },
        encoding: 'utf8',
      });
      if (r.status !== 0) {
        throw new Error(`${argv.join(' ')} failed (exit ${r.status ?? r.signal}):\n${readFileSync(err, 'utf8')}`);
      }
      const [user, sys, real] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      if (user === undefined || sys === undefined || real === undefined || [user, sys, real].some(Number.isNaN)) {
        throw new Error(`unexpected output of bash time: ${r.stderr}`);
      }
      timings.push({ cpu: user + sys, wall: real });
    }
    return {
      runs: timings,
      cpu: median(timings.map((t) => t.cpu)),
      wall: median(timings.map((t) => t.wall)),
      stdout: readFileSync(out, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Kubernetes objects of a multi-document YAML stream: the documents that have a kind. */
export function countObjects(yaml: string): number {
  return parseAllDocuments(yaml).filter((d) => {
    const v: unknown = d.toJS();
    return typeof v === 'object' && v !== null && 'kind' in v;
  }).length;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
