import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

export type LanguageType = 'programming' | 'markup' | 'data' | 'prose';

export interface LanguageInfo {
  readonly name: string;
  readonly type: LanguageType;
}

interface LinguistLanguage {
  name: string;
  type: LanguageType;
  group?: string;
  extensions?: string[];
  filenames?: string[];
  codemirrorMode?: string;
}

/** Types counted in techstack `languages` (linguist's `prose` — Markdown, Text, … — is left out). */
export const COUNTED_LANGUAGE_TYPES: ReadonlySet<LanguageType> = new Set(['programming', 'markup', 'data']);

/**
 * Where several linguist languages claim an extension and linguist itself would look at the content
 * (its heuristics), we pick without reading. These common cases are pinned by hand; every other tie goes by
 * the generic rule in `rank`.
 */
const PREFERRED: Readonly<Record<string, string>> = {
  '.md': 'Markdown',
  '.yaml': 'YAML',
  '.yml': 'YAML',
  '.sql': 'SQL',
  '.txt': 'Text',
  '.cfg': 'INI',
  '.plist': 'XML Property List',
  '.frag': 'GLSL',
  '.f': 'Fortran',
  '.h': 'C',
};

const TYPE_RANK: Record<LanguageType, number> = { programming: 0, markup: 1, data: 2, prose: 3 };

interface Table {
  byExtension: Map<string, LanguageInfo>;
  byFilename: Map<string, LanguageInfo>;
  /** Longest extension (in dot-separated parts) in the table, to bound suffix lookups. */
  maxParts: number;
}

let table: Table | undefined;

/**
 * The `linguist-languages` package (ESM). Node ≥ 20.19 loads it with require(); a host loader that cannot
 * (Jest's module registry on Node 20) gets the same objects by evaluating the package's data modules — each a
 * single `export default { … }` literal — in an empty context.
 */
export function loadLinguist(): LinguistLanguage[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return Object.values(require('linguist-languages') as Record<string, LinguistLanguage>);
  } catch (e) {
    try {
      return loadLinguistData();
    } catch {
      throw e;
    }
  }
}

function loadLinguistData(): LinguistLanguage[] {
  const index = require.resolve('linguist-languages');
  const src = readFileSync(index, 'utf8');
  const out: LinguistLanguage[] = [];
  for (const m of src.matchAll(/from\s+'(\.\/data\/[^']+\.js)'/g)) {
    const body = readFileSync(path.join(path.dirname(index), m[1]), 'utf8').replace(
      /^\s*export\s+default\s+/,
      '',
    );
    out.push(
      JSON.parse(JSON.stringify(vm.runInNewContext(`(${body})`, Object.create(null), { timeout: 1000 }))),
    );
  }
  if (out.length === 0) throw new Error('linguist-languages: no data modules found');
  return out;
}

/**
 * Ordering among languages that claim the same extension: the one that lists it first (linguist's primary
 * extension), then a language that is not a variant of another (no `group`), then one with an editor mode
 * (`codemirrorMode`, a sign of a mainstream language), then programming > markup > data > prose, then by name.
 */
function rank(l: LinguistLanguage, primary: boolean): (number | string)[] {
  return [
    primary ? 0 : 1,
    l.group && l.group !== l.name ? 1 : 0,
    l.codemirrorMode ? 0 : 1,
    TYPE_RANK[l.type] ?? 9,
    l.name,
  ];
}

function better(a: (number | string)[], b: (number | string)[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

function build(): Table {
  const langs = loadLinguist();
  const byName = new Map(langs.map((l) => [l.name, l]));
  const ext = new Map<string, { l: LinguistLanguage; r: (number | string)[] }>();
  const fn = new Map<string, { l: LinguistLanguage; r: (number | string)[] }>();
  let maxParts = 1;
  for (const l of langs) {
    (l.extensions ?? []).forEach((e, i) => {
      const k = e.toLowerCase();
      maxParts = Math.max(maxParts, k.split('.').length - 1);
      const r = rank(l, i === 0);
      const cur = ext.get(k);
      if (!cur || better(r, cur.r)) ext.set(k, { l, r });
    });
    for (const f of l.filenames ?? []) {
      const r = rank(l, false);
      const cur = fn.get(f);
      if (!cur || better(r, cur.r)) fn.set(f, { l, r });
    }
  }
  for (const [k, name] of Object.entries(PREFERRED)) {
    const l = byName.get(name);
    if (l && ext.has(k)) ext.set(k, { l, r: [] });
  }
  const info = (l: LinguistLanguage): LanguageInfo => ({ name: l.name, type: l.type });
  return {
    byExtension: new Map([...ext].map(([k, v]) => [k, info(v.l)])),
    byFilename: new Map([...fn].map(([k, v]) => [k, info(v.l)])),
    maxParts,
  };
}

export function languageTable(): Table {
  return (table ??= build());
}

/**
 * The linguist language of a file from its name alone: an exact filename (Dockerfile, Makefile, …), else the
 * longest matching extension, compared case-insensitively (`x.d.ts` → `.ts`, `a.json.example` → `.json.example`).
 */
export function languageOf(relPath: string): LanguageInfo | undefined {
  return languageIn(languageTable(), relPath);
}

/** The language of a walked file: the one its analysis thread found, else looked up here (no thread pool). */
export function languageOfFile(file: { rel: string; lang?: LanguageInfo | null }): LanguageInfo | undefined {
  return file.lang !== undefined ? (file.lang ?? undefined) : languageOf(file.rel);
}

function languageIn(t: Table, relPath: string): LanguageInfo | undefined {
  const base = relPath.slice(relPath.lastIndexOf('/') + 1);
  const byName = t.byFilename.get(base);
  if (byName) return byName;
  const lower = base.toLowerCase();
  // the leading dot of a dotfile is not an extension separator (".bashrc" has none)
  const dots: number[] = [];
  for (let i = lower.indexOf('.', lower.startsWith('.') ? 1 : 0); i !== -1; i = lower.indexOf('.', i + 1))
    dots.push(i);
  for (let k = Math.max(0, dots.length - t.maxParts); k < dots.length; k++) {
    const hit = t.byExtension.get(lower.slice(dots[k]));
    if (hit) return hit;
  }
  return undefined;
}
