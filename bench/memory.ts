/**
 * Memory of a set of processes, as the benchmarks sum it: RSS, and PSS, which splits each shared
 * page among the processes that map it, so a sum over many processes of one program (uWSGI
 * workers, forked agents) does not count the shared pages again and again. Both in kB, from
 * /proc/PID/smaps_rollup (root reads any process's).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Memory {
  rss: number;
  pss: number;
}

/** RSS and PSS of one process in kB; zeros when it is gone. */
export function memoryOf(pid: number): Memory {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0);
    return { rss: kb('Rss'), pss: kb('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** The summed memory of pids. */
export function sumMemory(pids: number[]): Memory & { procs: number } {
  const m = pids.map(memoryOf).reduce((a, b) => ({ rss: a.rss + b.rss, pss: a.pss + b.pss }), { rss: 0, pss: 0 });
  return { ...m, procs: pids.length };
}

/** Every running PID. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** The PIDs by process group: the all-in-one's supervisor starts each program as a group leader. */
export function processGroups(): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (const pid of allPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      groups.set(pgrp, [...(groups.get(pgrp) ?? []), pid]);
    } catch {
      // gone
    }
  }
  return groups;
}

/** MiB of kB, right-aligned in 6 columns. */
export const mib = (kb: number) => (kb / 1024).toFixed(0).padStart(6);
/** GiB of kB, with two decimals. */
export const gib = (kb: number) => `${(kb / 1048576).toFixed(2)} GiB`;
/** seconds of ms, right-aligned in 6 columns. */
export const secs = (ms: number) => (ms / 1000).toFixed(1).padStart(6);
