import { constants, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import { AnalysisAbortedError, AnalysisPathError, throwIfAborted } from './analysis-errors';
import type { LanguageInfo } from './languages';

export { AnalysisPathError };

/** Files larger than this are never read nor counted. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Directory names never entered (anywhere below the analysed directory; the analysed directory itself may be one). */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['node_modules', '.git', '.hg', '.svn']);
export const DEFAULT_MAX_FILES = 200_000;
export const DEFAULT_WALK_MS = 60_000;

export interface FileEntry {
  /** Path relative to the analysed directory, '/' separators. */
  readonly rel: string;
  readonly abs: string;
  /** Size in bytes at walk time (≤ MAX_FILE_BYTES). */
  readonly size: number;
  /**
   * Its linguist language (null: none), when the walk ran on an analysis thread: the language table is
   * built there, so that the server's main thread never loads it (~15 MiB held for the process's life).
   */
  lang?: LanguageInfo | null;
}

/** The name the worker uses for a FileEntry. */
export type WalkedFile = FileEntry;

export interface WalkOptions {
  maxFiles?: number;
  maxMs?: number;
  signal?: AbortSignal;
}

export interface WalkResult {
  /** Sorted by `rel` (UTF-16 code unit order). */
  files: FileEntry[];
  /** Why the walk stopped early, if it did: the list then holds whatever it reached first. */
  truncated: null | 'maxFiles' | 'maxMs';
  skipped: {
    /** Files and directories left out by .gitignore rules or SKIPPED_DIRS. */
    ignored: number;
    /** Symbolic links (never followed). */
    symlinks: number;
    /** Files over MAX_FILE_BYTES. */
    tooLarge: number;
    /** Sockets, FIFOs, devices, and entries that could not be read. */
    other: number;
  };
}

const O_READ = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const O_DIR = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_DIRECTORY ?? 0);

/**
 * O_NOFOLLOW and lstat guard only the last component of a path: a directory higher up that is swapped for a
 * symlink after the walk saw it would lead a path-based read outside the tree. On Linux each directory is
 * therefore opened and listed through its descriptor (`/proc/self/fd/<fd>`), and every opened file or
 * directory is checked to really be where the walk expects it (readlink of its descriptor); whatever is not
 * is left out, unread.
 */
const PROC_FD = existsSync('/proc/self/fd') ? '/proc/self/fd' : null;

async function isAt(fd: number, expected: string): Promise<boolean> {
  if (!PROC_FD) return true; // no procfs: the path checks (lstat, O_NOFOLLOW) are all there is
  try {
    return (await fs.readlink(`${PROC_FD}/${fd}`)) === expected;
  } catch {
    return false;
  }
}

/**
 * Resolves `relPath` against `root` (ANALYSIS_ROOT) to the real path of a directory inside it.
 * Rejects, with an AnalysisPathError, absolute paths, backslashes, any `..` segment, and anything whose
 * realpath is not `realpath(root)` or below it; only then does it stat the target, so nothing outside is read.
 */
const NOT_A_DIRECTORY_INSIDE = 'path must name an existing directory inside ANALYSIS_ROOT';

export async function resolveAnalysisPath(root: string, relPath: string): Promise<string> {
  if (typeof relPath !== 'string') throw new AnalysisPathError('path must be a string');
  if (relPath.includes('\0')) throw new AnalysisPathError('path must not contain NUL characters');
  if (path.posix.isAbsolute(relPath) || path.win32.isAbsolute(relPath))
    throw new AnalysisPathError('path must be relative to ANALYSIS_ROOT');
  if (relPath.includes('\\')) throw new AnalysisPathError('path must use / as its separator');
  if (relPath.split('/').includes('..')) throw new AnalysisPathError('path must not contain ".." segments');

  // a missing or unreadable ANALYSIS_ROOT is the server's configuration, not the caller's input
  const realRoot = await fs.realpath(root).catch(() => {
    throw new Error('ANALYSIS_ROOT cannot be read');
  });
  // every refusal from here on has one message, so that what exists outside the root cannot be probed
  // through a symlink inside it (missing, outside, not a directory, unreadable, too long all look alike)
  const refused = () => new AnalysisPathError(NOT_A_DIRECTORY_INSIDE);
  const real = await fs.realpath(path.join(realRoot, relPath)).catch(() => {
    throw refused();
  });
  if (!isInside(realRoot, real)) throw refused();
  const st = await fs.stat(real).catch(() => null);
  if (!st?.isDirectory()) throw refused();
  return real;
}

export function isInside(parent: string, child: string): boolean {
  if (child === parent) return true;
  const prefix = parent.endsWith(path.sep) ? parent : parent + path.sep;
  return child.startsWith(prefix);
}

interface Rules {
  /** Directory (relative to the walk root, '' for the root) whose .gitignore these are. */
  base: string;
  ig: ignore.Ignore;
}

function isIgnored(rules: readonly Rules[], rel: string, dir: boolean): boolean {
  let ignored = false;
  for (const r of rules) {
    let p = r.base ? rel.slice(r.base.length + 1) : rel;
    if (dir) p += '/';
    try {
      const t = r.ig.test(p);
      if (t.ignored) ignored = true;
      else if (t.unignored) ignored = false;
    } catch {
      // a name the ignore package refuses as a path: no rule applies to it
    }
  }
  return ignored;
}

async function readRules(abs: string): Promise<ignore.Ignore | null> {
  try {
    const fh = await fs.open(abs, O_READ);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
      return ignore({ ignorecase: false }).add(await fh.readFile('utf8')); // as git on Linux
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

const DIR_CONCURRENCY = 8;
const STAT_BATCH = 64;

/**
 * Lists the regular files below `dir` (a path from resolveAnalysisPath).
 * - Honours .gitignore files at every level (each applies below its own directory, deeper ones can re-include,
 *   a directory once ignored is not entered); those above `dir` are not consulted.
 * - Never enters SKIPPED_DIRS; never follows symbolic links (a symlinked file or directory is left out).
 * - Leaves out files over MAX_FILE_BYTES, and stops at `maxFiles` files or after `maxMs` (`truncated` says so).
 * - Throws AnalysisAbortedError once `signal` fires.
 */
export async function walkFiles(dir: string, opts: WalkOptions = {}): Promise<WalkResult> {
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  const deadline = performance.now() + (opts.maxMs ?? DEFAULT_WALK_MS);
  const signal = opts.signal;
  const files: FileEntry[] = [];
  const skipped = { ignored: 0, symlinks: 0, tooLarge: 0, other: 0 };
  let truncated: WalkResult['truncated'] = null;
  const queue: { rel: string; rules: readonly Rules[] }[] = [{ rel: '', rules: [] }];

  const stop = (): boolean => {
    if (truncated) return true;
    if (files.length >= maxFiles) truncated = 'maxFiles';
    else if (performance.now() > deadline) truncated = 'maxMs';
    return truncated !== null;
  };

  const visit = async (rel: string, parentRules: readonly Rules[]): Promise<void> => {
    const absDir = rel ? path.join(dir, rel) : dir;
    let dh;
    try {
      dh = await fs.open(absDir, O_DIR);
    } catch {
      skipped.other++;
      return;
    }
    try {
      if (!(await isAt(dh.fd, absDir))) {
        skipped.symlinks++; // replaced by a symlink (or moved) since its parent was listed: not entered
        return;
      }
      const base = PROC_FD ? `${PROC_FD}/${dh.fd}` : absDir;
      let ents;
      try {
        ents = await fs.readdir(base, { withFileTypes: true });
      } catch {
        skipped.other++;
        return;
      }
      let rules = parentRules;
      const gi = ents.find((e) => e.name === '.gitignore' && e.isFile());
      if (gi) {
        const ig = await readRules(path.join(base, gi.name));
        if (ig) rules = [...parentRules, { base: rel, ig }];
      }
      const candidates: string[] = [];
      for (const e of ents) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isSymbolicLink()) skipped.symlinks++;
        else if (e.isDirectory()) {
          if (SKIPPED_DIRS.has(e.name) || isIgnored(rules, r, true)) skipped.ignored++;
          else queue.push({ rel: r, rules });
        } else if (e.isFile()) {
          if (isIgnored(rules, r, false)) skipped.ignored++;
          else candidates.push(e.name);
        } else skipped.other++;
      }
      for (let i = 0; i < candidates.length; i += STAT_BATCH) {
        throwIfAborted(signal);
        if (stop()) return;
        const batch = candidates.slice(i, i + STAT_BATCH);
        const stats = await Promise.all(batch.map((n) => fs.lstat(path.join(base, n)).catch(() => null)));
        for (let j = 0; j < batch.length; j++) {
          const st = stats[j];
          const r = rel ? `${rel}/${batch[j]}` : batch[j];
          if (!st || !st.isFile()) skipped.other++;
          else if (st.size > MAX_FILE_BYTES) skipped.tooLarge++;
          else if (files.length < maxFiles) files.push({ rel: r, abs: path.join(dir, r), size: st.size });
        }
      }
    } finally {
      await dh.close().catch(() => undefined);
    }
  };

  await new Promise<void>((resolve, reject) => {
    let active = 0;
    let failed = false;
    const pump = (): void => {
      if (failed) return;
      if (signal?.aborted) {
        failed = true;
        reject(new AnalysisAbortedError(signal.reason));
        return;
      }
      while (active < DIR_CONCURRENCY && queue.length && !stop()) {
        const next = queue.pop()!;
        active++;
        visit(next.rel, next.rules).then(
          () => {
            active--;
            pump();
          },
          (e) => {
            failed = true;
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      }
      if (active === 0 && (queue.length === 0 || truncated)) resolve();
    };
    pump();
  });

  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, truncated, skipped };
}

/**
 * Reads a text file into `buf` (at most its first `size` bytes, re-checked against MAX_FILE_BYTES) without
 * following a symlink that replaced it since the walk. Returns the byte count, or -1 when the file is gone,
 * unreadable, too large or binary (a NUL byte in its first 8 KiB).
 */
export async function readTextInto(file: FileEntry, buf: Buffer): Promise<number> {
  if (file.size === 0) return 0;
  const want = Math.min(file.size, buf.length);
  let fh;
  try {
    fh = await fs.open(file.abs, O_READ);
  } catch {
    return -1;
  }
  try {
    if (!(await isAt(fh.fd, file.abs))) return -1; // a directory on its path was swapped for a symlink
    let n = 0;
    while (n < want) {
      const { bytesRead } = await fh.read(buf, n, want - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (buf.subarray(0, Math.min(n, 8192)).includes(0)) return -1;
    return n;
  } catch {
    return -1;
  } finally {
    await fh.close().catch(() => undefined);
  }
}
