import { existsSync, readFileSync } from 'node:fs';

/**
 * The machine is shared (other sessions build and test on it), and on two cores anyone else's work skews
 * every figure. These read /proc to say how much CPU went to processes other than ours during a cell, and
 * to wait for a quiet moment before one starts; and, for ours, how much CPU each used (where the time goes). On systems without /proc they report nothing and never wait.
 */
const HAS_PROC = existsSync('/proc/stat');

function system(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function ticksOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}

const cores = (busyTicks: number, totalTicks: number, ncpu: number) =>
  totalTicks > 0 ? (busyTicks / totalTicks) * ncpu : 0;

function ncpu(): number {
  return (
    readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l)).length || 1
  );
}

export interface CpuUse {
  /** Cores used by each named group of processes over the watched interval. */
  groups: Record<string, number>;
  /** Cores used by every other process on the machine. */
  others: number;
}

/** Starts watching the CPU of named groups of processes (and of everything else) until `stop()`. */
export function watchCpu(groups: Record<string, number[]>): { stop(): CpuUse } {
  if (!HAS_PROC) return { stop: () => ({ groups: {}, others: NaN }) };
  const n = ncpu();
  const names = Object.keys(groups);
  const ticks = () => names.map((g) => groups[g].reduce((t, pid) => t + ticksOf(pid), 0));
  const a = system();
  const ga = ticks();
  return {
    stop: () => {
      const b = system();
      const gb = ticks();
      const span = b.total - a.total;
      const used = names.map((_, i) => gb[i] - ga[i]);
      const out: Record<string, number> = {};
      names.forEach((g, i) => (out[g] = cores(used[i], span, n)));
      return {
        groups: out,
        others: Math.max(0, cores(b.busy - a.busy - used.reduce((x, y) => x + y, 0), span, n)),
      };
    },
  };
}

/** Waits (at most `maxMs`) for a second in which the whole machine used less than `threshold` cores. */
export async function waitQuiet(maxMs: number, threshold = 0.25): Promise<number> {
  if (!HAS_PROC || maxMs <= 0) return 0;
  const n = ncpu();
  const start = Date.now();
  for (;;) {
    const a = system();
    await new Promise((r) => setTimeout(r, 1000));
    const b = system();
    const used = cores(b.busy - a.busy, b.total - a.total, n);
    if (used < threshold || Date.now() - start >= maxMs) return Date.now() - start;
  }
}
