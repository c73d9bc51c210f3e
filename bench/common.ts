import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, TestDatabase } from '../test/support/test-db';

/** Settings every suite shares (see README.md). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
export const QUIET_MS = Number(process.env.BENCH_QUIET_MS ?? 8000);
export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/stepline_bench_test';
/** The repository (or the snapshot the bench was built in): `dist-bench/bench/` → `./`. */
export const ROOT = join(__dirname, '..', '..');

export type Kind = 'sqlite' | 'mysql';

export const log = (s: string): void => void process.stderr.write(`${s}\n`);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
export const ms = (n: number): string => fmt(n, n < 10 ? 2 : 1);
export const cores = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(2);
export const mib = (bytes: number): string => fmt(bytes / 2 ** 20, 0);

/** A fresh, migrated-on-first-start test database (SQLite file, or a new database beside BENCH_MYSQL_URL). */
export async function freshDatabase(kind: Kind): Promise<TestDatabase> {
  if (kind === 'mysql') process.env.DATABASE_URL = MYSQL_URL;
  else delete process.env.DATABASE_URL;
  return createTestDatabase();
}

/** The database server's processes (mariadbd / mysqld), found through /proc; none for SQLite. */
export function databasePids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return /^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${d}/comm`, 'utf8').trim());
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

/** Resident memory of a process in bytes (VmRSS), NaN where /proc is not available. */
export function rssBytes(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Node flags for a server the bench starts: with BENCH_PROF set, a CPU profile of its whole life
 * (`<name>-<time>.cpuprofile` in BENCH_PROFILE_DIR, default bench/profiles/; `--cpu-prof` is refused in
 * NODE_OPTIONS), written at exit through prof-preload.js; without it, none.
 */
export function profArgs(name: string, on = !!process.env.BENCH_PROF): string[] {
  if (!on) return [];
  const dir = process.env.BENCH_PROFILE_DIR ?? join(ROOT, 'bench', 'profiles');
  mkdirSync(dir, { recursive: true });
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
    '--require',
    join(__dirname, 'prof-preload.js'),
  ];
}
