import { throwIfAborted } from './analysis-errors';
import type {
  AnalysisResults,
  ArchitectureResult,
  Ecosystem,
  IssuesResult,
  Recommendation,
  RecommendationsResult,
  TechstackResult,
} from './analysis-type';
import { compare, type AnalysisContext, type Analyzer, type PriorResults } from './analyzer';
import { ArchitectureAnalyzer } from './architecture.analyzer';
import { IssuesAnalyzer } from './issues.analyzer';
import { languageOfFile } from './languages';
import { isRequirementsFile } from './manifests';
import { TechstackAnalyzer } from './techstack.analyzer';
import type { FileEntry } from './walker';

/** What the file list itself says, beyond the three results: tests, source files, lockfiles. */
export interface FileFacts {
  sourceFiles: number;
  testFiles: number;
  /** Relative paths of lockfiles. */
  lockfiles: ReadonlySet<string>;
}

const TEST_DIR = /(^|\/)(__tests__|tests?|spec|specs|e2e)\//;
const TEST_FILE =
  /(\.(test|spec|e2e-spec|e2e)\.[^./]+$)|(^|\/)test_[^/]*\.py$|_test\.(py|go)$|(^|\/)[^/]*Tests?\.(java|kt|cs|scala)$/;
export const isTestFile = (rel: string): boolean => TEST_DIR.test(rel) || TEST_FILE.test(rel);

/** Lockfiles by ecosystem; an ecosystem missing here has none (go.sum is go's, pinned by go.mod anyway). */
export const LOCKFILES: Partial<Record<Ecosystem, readonly string[]>> = {
  npm: ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'],
  pypi: ['poetry.lock', 'Pipfile.lock', 'uv.lock', 'pdm.lock'],
  cargo: ['Cargo.lock'],
  rubygems: ['Gemfile.lock'],
  packagist: ['composer.lock'],
};
const ALL_LOCKFILES: ReadonlySet<string> = new Set(Object.values(LOCKFILES).flat());

export function fileFacts(files: readonly FileEntry[]): FileFacts {
  let sourceFiles = 0;
  let testFiles = 0;
  const lockfiles = new Set<string>();
  for (const f of files) {
    const base = f.rel.slice(f.rel.lastIndexOf('/') + 1);
    if (ALL_LOCKFILES.has(base)) lockfiles.add(f.rel);
    if (languageOfFile(f)?.type !== 'programming') continue;
    if (isTestFile(f.rel)) testFiles++;
    else sourceFiles++;
  }
  return { sourceFiles, testFiles, lockfiles };
}

/** Whether a dependency spec lets an install pick any future release (no version, `*`, `latest`, lower bound only). */
export function isUnpinned(ecosystem: Ecosystem, version: string | null): boolean {
  if (ecosystem === 'go') return false;
  if (ecosystem === 'maven')
    return version !== null && (/^(LATEST|RELEASE)$/i.test(version) || /,\s*\)$/.test(version));
  if (version === null) return true;
  const v = version.trim();
  if (v === '' || v === '*' || /^(latest|x)$/i.test(v)) return true;
  if (ecosystem === 'pypi') return !/^(@|\w+:)/.test(v) && !/(==|~=|<|\^|~)/.test(v);
  if (ecosystem === 'cargo') return false;
  return /^>=?\s*[\w.-]+$/.test(v);
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const listOf = (xs: string[], max: number): string =>
  xs.slice(0, max).join(', ') + (xs.length > max ? ` and ${xs.length - max} more` : '');

export const HOT_SPOT_MIN = 5;
const MAX_CYCLE_ITEMS = 10;

function fromIssues(r: IssuesResult): Recommendation[] {
  if (r.total === 0) return [];
  const out: Recommendation[] = [];
  const sample =
    r.items.length < r.total ? ` (counted among the first ${r.items.length} of ${r.total} markers)` : '';
  const kinds = { TODO: 0, FIXME: 0, HACK: 0, XXX: 0 };
  const byFile = new Map<string, { n: number; kinds: typeof kinds }>();
  for (const it of r.items) {
    kinds[it.kind]++;
    let f = byFile.get(it.file);
    if (!f) byFile.set(it.file, (f = { n: 0, kinds: { TODO: 0, FIXME: 0, HACK: 0, XXX: 0 } }));
    f.n++;
    f.kinds[it.kind]++;
  }
  const defects = kinds.FIXME + kinds.HACK + kinds.XXX;
  if (defects > 0) {
    const parts = (['FIXME', 'HACK', 'XXX'] as const).filter((k) => kinds[k]).map((k) => `${kinds[k]} ${k}`);
    out.push({
      title: 'Resolve FIXME, HACK and XXX markers',
      severity: 'warning',
      reason: `${parts.join(', ')} markers${sample} flag known defects and workarounds left in the code; fix them or move them to the issue tracker where they can be prioritised.`,
    });
  }
  if (kinds.TODO > 0) {
    const files = [...byFile.values()].filter((f) => f.kinds.TODO > 0).length;
    out.push({
      title: 'Triage TODO markers',
      severity: 'info',
      reason: `${plural(kinds.TODO, 'TODO marker')} in ${plural(files, 'file')}${sample} record unfinished work that is easy to forget; turn the ones that matter into tracked issues and delete the rest.`,
    });
  }
  const hot = [...byFile]
    .filter(([, f]) => f.n >= HOT_SPOT_MIN)
    .sort((a, b) => b[1].n - a[1].n || compare(a[0], b[0]))
    .slice(0, 3);
  for (const [file, f] of hot) {
    const parts = (['TODO', 'FIXME', 'HACK', 'XXX'] as const)
      .filter((k) => f.kinds[k])
      .map((k) => `${f.kinds[k]} ${k}`);
    out.push({
      title: `Marker hot spot: ${file}`,
      severity: 'warning',
      reason: `${f.n} markers (${parts.join(', ')}) in one file, ${Math.round((100 * f.n) / r.items.length)}% of those found${sample}: the code most likely to hide defects; review and refactor it first.`,
    });
  }
  return out;
}

function fromArchitecture(r: ArchitectureResult): Recommendation[] {
  const out: Recommendation[] = [];
  for (const cycle of r.cycles.slice(0, MAX_CYCLE_ITEMS)) {
    const members = new Set(cycle);
    const inside = r.edges.filter((e) => members.has(e.from) && members.has(e.to));
    const weakest = [...inside].sort((a, b) => a.imports - b.imports)[0];
    out.push({
      title: `Break the dependency cycle between ${cycle.join(', ')}`,
      severity: cycle.length >= 3 ? 'critical' : 'warning',
      reason:
        `${inside.map((e) => `${e.from} → ${e.to} (${plural(e.imports, 'import')})`).join(', ')}: modules in a cycle cannot be ` +
        `built, tested or reused apart, and every change ripples both ways. Move what they share into its own module ` +
        `or invert a dependency; ${weakest.from} → ${weakest.to} has the fewest imports to cut.`,
    });
  }
  if (r.cycles.length > MAX_CYCLE_ITEMS)
    out.push({
      title: `${r.cycles.length - MAX_CYCLE_ITEMS} more dependency cycles`,
      severity: 'warning',
      reason: `${r.cycles.length} cycles between modules in all; the first ${MAX_CYCLE_ITEMS} are listed above.`,
    });
  return out;
}

function hasLockfile(manifest: string, names: readonly string[], lockfiles: ReadonlySet<string>): boolean {
  const parts = manifest.split('/').slice(0, -1);
  for (let n = parts.length; n >= 0; n--) {
    const dir = parts.slice(0, n).join('/');
    if (names.some((l) => lockfiles.has(dir ? `${dir}/${l}` : l))) return true;
  }
  return false;
}

function fromTechstack(r: TechstackResult, facts: FileFacts): Recommendation[] {
  const out: Recommendation[] = [];
  const ecosystems = [...new Set(r.manifests.map((m) => m.ecosystem))].sort(compare);
  for (const eco of ecosystems) {
    const manifests = r.manifests.filter((m) => m.ecosystem === eco);
    const lockNames = LOCKFILES[eco];
    const locked = (file: string): boolean => !!lockNames && hasLockfile(file, lockNames, facts.lockfiles);
    const unpinned = manifests.flatMap((m) =>
      m.dependencies
        .filter((d) => isUnpinned(eco, d.version))
        .map((d) => ({
          text: `${d.name} ${d.version ?? '(no version)'} in ${m.file}`,
          locked: locked(m.file),
        })),
    );
    if (unpinned.length) {
      const anyUnlocked = unpinned.some((u) => !u.locked);
      out.push({
        title: `Pin ${plural(unpinned.length, `${eco} dependency`, `${eco} dependencies`)}`,
        severity: anyUnlocked ? 'warning' : 'info',
        reason:
          `${listOf(
            unpinned.map((u) => u.text),
            8,
          )}: no version or an open-ended one lets an install pick up any future release, breaking ` +
          `changes and compromised versions included` +
          (anyUnlocked
            ? ', and no lockfile pins them.'
            : '; a lockfile pins them today, the next update will not.'),
      });
    }
    if (lockNames) {
      // a requirements file is the pip user's lockfile (pins with ==): only unpinned entries in it are flagged
      const unlocked = manifests
        .filter((m) => m.dependencies.length > 0 && !locked(m.file) && !isRequirementsFile(m.file))
        .map((m) => m.file);
      if (unlocked.length)
        out.push({
          title: `Commit a lockfile for ${eco}`,
          severity: 'info',
          reason: `${listOf(unlocked, 5)} declare${unlocked.length === 1 ? 's' : ''} dependencies with no ${lockNames.join(' / ')} beside or above ${unlocked.length === 1 ? 'it' : 'them'}: two installs of the same commit can resolve different versions.`,
        });
    }
  }
  if (r.manifests.length === 0 && facts.sourceFiles > 0)
    out.push({
      title: 'Declare dependencies in a package manifest',
      severity: 'info',
      reason: `${plural(facts.sourceFiles, 'source file')} but no package manifest (package.json, requirements.txt, pyproject.toml, go.mod, Cargo.toml, pom.xml, …): dependencies are implicit and installs cannot be reproduced.`,
    });
  return out;
}

function fromFiles(facts: FileFacts, techstack: TechstackResult): Recommendation[] {
  if (facts.sourceFiles === 0) return [];
  const top = techstack.languages
    .slice(0, 3)
    .map((l) => l.name)
    .join(', ');
  if (facts.testFiles === 0)
    return [
      {
        title: 'Add automated tests',
        severity: 'warning',
        reason: `${plural(facts.sourceFiles, 'source file')}${top ? ` (${top})` : ''} and no test files (*.test.*, *.spec.*, test_*.py, *_test.go, *Test.java, or test/, tests/, __tests__/ folders): changes cannot be checked before they ship.`,
      },
    ];
  if (facts.sourceFiles >= 50 && facts.testFiles / facts.sourceFiles < 0.05)
    return [
      {
        title: 'Add tests where coverage is thin',
        severity: 'info',
        reason: `${plural(facts.testFiles, 'test file')} for ${plural(facts.sourceFiles, 'source file')}: most code is likely untested.`,
      },
    ];
  return [];
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

/** The recommendations the three results and the file list call for, most severe first. */
export function recommend(
  results: Pick<AnalysisResults, 'issues' | 'techstack' | 'architecture'>,
  facts: FileFacts,
): Recommendation[] {
  const items = [
    ...fromArchitecture(results.architecture),
    ...fromIssues(results.issues),
    ...fromTechstack(results.techstack, facts),
    ...fromFiles(facts, results.techstack),
  ];
  return items
    .map((it, i) => ({ it, i }))
    .sort((a, b) => SEVERITY_ORDER[a.it.severity] - SEVERITY_ORDER[b.it.severity] || a.i - b.i)
    .map((x) => x.it);
}

type Computed = 'issues' | 'techstack' | 'architecture';

/**
 * Uses the results in `ctx.prior` and computes the ones missing there with the other analyzers over the same
 * files. Progress counts files across those runs plus one pass over the file names:
 * total = files × (number of missing results + 1).
 */
export class RecommendationsAnalyzer implements Analyzer<'recommendations'> {
  readonly type = 'recommendations';

  constructor(
    private readonly others: { [T in Computed]: Analyzer<T> } = {
      issues: new IssuesAnalyzer(),
      techstack: new TechstackAnalyzer(),
      architecture: new ArchitectureAnalyzer(),
    },
  ) {}

  async analyze(ctx: AnalysisContext): Promise<RecommendationsResult> {
    const n = ctx.files.length;
    const prior: PriorResults = { ...ctx.prior };
    const missing = (['issues', 'techstack', 'architecture'] as const).filter((t) => !prior[t]);
    const total = n * (missing.length + 1);
    for (const [k, t] of missing.entries()) {
      const sub: AnalysisContext = { ...ctx, onProgress: (c) => ctx.onProgress?.(k * n + c, total) };
      (prior as Record<Computed, unknown>)[t] = await this.others[t].analyze(sub);
    }
    throwIfAborted(ctx.signal);
    const facts = fileFacts(ctx.files);
    if (total > 0) ctx.onProgress?.(total, total);
    return { items: recommend(prior as Pick<AnalysisResults, Computed>, facts) };
  }
}
