import { builtinModules } from 'node:module';
import * as path from 'node:path';
import type { ArchitectureResult, ModuleEdge } from './analysis-type';
import { compare, forEachFile, type AnalysisContext, type Analyzer } from './analyzer';
import { pythonImports } from './python-imports';
import type { FileEntry } from './walker';

type TypeScript = typeof import('typescript');
let tsLib: TypeScript | undefined;
/** Loaded on first use: the compiler is large, and only this analyzer needs it. */
export function typescript(): TypeScript {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (tsLib ??= require('typescript') as TypeScript);
}

const JS = /\.(?:[cm]?[jt]sx?)$/i;
const PY = /\.pyi?$/i;
const NODE_BUILTINS: ReadonlySet<string> = new Set(builtinModules.map((m) => m.split('/')[0]));

const topOf = (rel: string): string | undefined => {
  const slash = rel.indexOf('/');
  return slash === -1 ? undefined : rel.slice(0, slash);
};
const firstSegment = (p: string): string => {
  const slash = p.indexOf('/');
  return slash === -1 ? p : p.slice(0, slash);
};

/**
 * The module (first path segment under the analysed directory) a JS/TS specifier points at, if any:
 * './x' and '../y' resolved against the importing file (paths that climb out of the directory point nowhere);
 * a bare specifier ('pkg', 'pkg/sub', '@scope/pkg') by its first segment, unless it names a Node built-in.
 */
export function jsTarget(fromRel: string, spec: string): string | undefined {
  if (spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../')) {
    const p = path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), spec));
    if (p === '..' || p.startsWith('../') || p === '.') return undefined;
    return firstSegment(p);
  }
  if (!spec || spec.startsWith('/') || /^[A-Za-z][\w+.-]*:/.test(spec)) return undefined; // absolute, node:, http:
  const first = firstSegment(spec);
  return NODE_BUILTINS.has(first) ? undefined : first;
}

/** The modules a Python import statement points at (relative imports resolved against the file's package). */
export function pythonTargets(fromRel: string, stmt: ReturnType<typeof pythonImports>[number]): string[] {
  if (stmt.kind === 'import') return stmt.modules.map((m) => m.split('.')[0]);
  if (stmt.level === 0) return [stmt.module.split('.')[0]];
  const dir = fromRel.split('/').slice(0, -1);
  const up = stmt.level - 1;
  if (up > dir.length) return [];
  const base = dir.slice(0, dir.length - up);
  if (stmt.module) return [[...base, ...stmt.module.split('.')][0]];
  return stmt.names.filter((n) => n !== '*').map((n) => [...base, n][0]);
}

/**
 * The per-file work of architecture: for each import statement of a JS/TS or Python file, the modules it
 * points at (undefined: none).
 */
export function importTargets(f: Pick<FileEntry, 'rel'>, content: Buffer): (string | undefined)[][] {
  const src = content.toString('utf8');
  if (PY.test(f.rel)) return pythonImports(src).map((stmt) => pythonTargets(f.rel, stmt));
  return typescript()
    .preProcessFile(src, true, true)
    .importedFiles.map((imp) => [jsTarget(f.rel, imp.fileName)]);
}

/** Strongly connected components with two or more nodes (Tarjan), each sorted, the list sorted. */
export function findCycles(nodes: readonly string[], edges: readonly ModuleEdge[]): string[][] {
  const adj = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) adj.get(e.from)?.push(e.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    // iterative DFS: each frame is a node and the position in its adjacency list
    const frames: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (frames.length) {
      const f = frames[frames.length - 1];
      const succ = adj.get(f.node) ?? [];
      if (f.next < succ.length) {
        const w = succ[f.next++];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          frames.push({ node: w, next: 0 });
        } else if (onStack.has(w)) low.set(f.node, Math.min(low.get(f.node)!, index.get(w)!));
        continue;
      }
      frames.pop();
      if (frames.length) {
        const parent = frames[frames.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(f.node)!));
      }
      if (low.get(f.node) === index.get(f.node)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== f.node);
        if (scc.length > 1) out.push(scc.sort(compare));
      }
    }
  }
  return out.sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return compare(a[i], b[i]);
    return a.length - b.length;
  });
}

/**
 * Modules are the top-level folders of the analysed directory that hold at least one walked file; files
 * directly in it belong to no module (their imports are not edges, and imports of them are not either).
 * An edge counts import statements (JS/TS: import, export … from, require(), import(); Python: import and
 * from … import) in files of one module that point at another; a statement naming several modules counts once
 * for each.
 */
export class ArchitectureAnalyzer implements Analyzer<'architecture'> {
  readonly type = 'architecture';

  async analyze(ctx: AnalysisContext): Promise<ArchitectureResult> {
    const counts = new Map<string, number>();
    for (const f of ctx.files) {
      const top = topOf(f.rel);
      if (top !== undefined) counts.set(top, (counts.get(top) ?? 0) + 1);
    }
    const edgeCounts = new Map<string, Map<string, number>>();
    const add = (from: string, targets: Iterable<string | undefined>): void => {
      for (const to of new Set(targets)) {
        if (to === undefined || to === from || !counts.has(to)) continue;
        let m = edgeCounts.get(from);
        if (!m) edgeCounts.set(from, (m = new Map()));
        m.set(to, (m.get(to) ?? 0) + 1);
      }
    };

    await forEachFile(ctx.files, ctx, {
      visit: (f) => topOf(f.rel) !== undefined && (JS.test(f.rel) || PY.test(f.rel)),
      work: 'architecture',
      compute: (f, content) => importTargets(f, content),
      result: (f, statements) => {
        const from = topOf(f.rel)!;
        for (const targets of statements) add(from, targets);
      },
    });

    const modules = [...counts]
      .map(([name, files]) => ({ name, files }))
      .sort((a, b) => compare(a.name, b.name));
    const edges: ModuleEdge[] = [];
    for (const [from, m] of edgeCounts) for (const [to, imports] of m) edges.push({ from, to, imports });
    edges.sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to));
    const cycles = findCycles(
      modules.map((m) => m.name),
      edges,
    );
    return { modules, edges, cycles };
  }
}
