import type { Dependency, Ecosystem, Manifest } from './analysis-type';
import { isTable, parseToml, type TomlTable, type TomlValue } from './toml';

/**
 * Package manifests by file name, and what each declares. Every pattern here runs in time linear in its input
 * (no two quantifiers that can match the same text back to back, no lazy scan for a closing tag that may not
 * exist: XML is scanned with indexOf), so that a crafted manifest cannot stall the thread that parses it. A manifest that cannot be parsed is still listed,
 * with no dependencies. Within one manifest a name appears once (its first declaration wins, except that a
 * later one with a version fills in a first one without).
 */
type Parse = (text: string) => Dependency[];

interface Kind {
  ecosystem: Ecosystem;
  parse: Parse;
}

const REQUIREMENTS = /^(?:.+[-_.])?requirements(?:[-_.][^/]*)?\.(?:txt|in)$/i;

export function manifestKind(basename: string): Kind | undefined {
  switch (basename) {
    case 'package.json':
      return { ecosystem: 'npm', parse: parsePackageJson };
    case 'composer.json':
      return { ecosystem: 'packagist', parse: parseComposerJson };
    case 'pyproject.toml':
      return { ecosystem: 'pypi', parse: parsePyproject };
    case 'Pipfile':
      return { ecosystem: 'pypi', parse: parsePipfile };
    case 'go.mod':
      return { ecosystem: 'go', parse: parseGoMod };
    case 'Cargo.toml':
      return { ecosystem: 'cargo', parse: parseCargoToml };
    case 'pom.xml':
      return { ecosystem: 'maven', parse: parsePomXml };
    case 'build.gradle':
    case 'build.gradle.kts':
      return { ecosystem: 'maven', parse: parseGradle };
    case 'Gemfile':
      return { ecosystem: 'rubygems', parse: parseGemfile };
  }
  return REQUIREMENTS.test(basename) ? { ecosystem: 'pypi', parse: parseRequirements } : undefined;
}

export function isRequirementsFile(relPath: string): boolean {
  return REQUIREMENTS.test(relPath.slice(relPath.lastIndexOf('/') + 1));
}

export function isManifest(relPath: string): boolean {
  return manifestKind(relPath.slice(relPath.lastIndexOf('/') + 1)) !== undefined;
}

/** The manifest at `relPath` with its declared dependencies, or undefined when the name is not a manifest's. */
export function parseManifest(relPath: string, text: string): Manifest | undefined {
  const kind = manifestKind(relPath.slice(relPath.lastIndexOf('/') + 1));
  if (!kind) return undefined;
  let dependencies: Dependency[];
  try {
    dependencies = kind.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    dependencies = [];
  }
  return { file: relPath, ecosystem: kind.ecosystem, dependencies };
}

class Deps {
  private readonly byName = new Map<string, Dependency>();
  add(name: string, version: string | null | undefined): void {
    name = name.trim();
    if (!name) return;
    const v = typeof version === 'string' && version.trim() !== '' ? version.trim() : null;
    const cur = this.byName.get(name);
    if (!cur) this.byName.set(name, { name, version: v });
    else if (cur.version === null && v !== null) cur.version = v;
  }
  list(): Dependency[] {
    return [...this.byName.values()];
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** dependencies, optionalDependencies, devDependencies (peerDependencies are the host's to provide). */
function parsePackageJson(text: string): Dependency[] {
  const j: unknown = JSON.parse(text);
  const d = new Deps();
  if (!isObject(j)) return [];
  for (const key of ['dependencies', 'optionalDependencies', 'devDependencies']) {
    const section = j[key];
    if (isObject(section))
      for (const [name, spec] of Object.entries(section)) d.add(name, typeof spec === 'string' ? spec : null);
  }
  return d.list();
}

/** require and require-dev, without platform requirements (php, ext-*, lib-*). */
function parseComposerJson(text: string): Dependency[] {
  const j: unknown = JSON.parse(text);
  const d = new Deps();
  if (!isObject(j)) return [];
  for (const key of ['require', 'require-dev']) {
    const section = j[key];
    if (isObject(section))
      for (const [name, spec] of Object.entries(section))
        if (name !== 'php' && !/^(ext|lib)-/.test(name)) d.add(name, typeof spec === 'string' ? spec : null);
  }
  return d.list();
}

/** A PEP 508 requirement: `name[extras] spec ; marker` or `name @ url`; version = the spec text. */
export function parsePep508(req: string): Dependency | undefined {
  const s = req.split(';')[0].trim();
  // the tail is [\s\S]*, which always matches: the pattern never backtracks into the name
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?([\s\S]*)$/.exec(s);
  if (!m) return undefined;
  let rest = m[2].trim();
  if (/[\r\n\u2028\u2029]/.test(rest)) return undefined;
  if (rest.startsWith('@')) return { name: m[1], version: rest.slice(1).trim() || null };
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1).trim();
  if (rest && !/^[<>=!~]/.test(rest)) return undefined;
  return { name: m[1], version: rest || null };
}

/** Requirement lines; options (-r, -e, -c, --index-url …), URLs, paths and archives are skipped. */
function parseRequirements(text: string): Dependency[] {
  const d = new Deps();
  for (let line of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    line = stripComment(line, '#')
      .replace(/\s--?[A-Za-z][\w-]*(?:[=\s]\S+)?/g, '')
      .trim();
    if (!line || line.startsWith('-') || /^[./]/.test(line)) continue;
    const direct = /\s@\s/.test(line); // `name @ url`, a PEP 508 direct reference
    if (!direct && (/:\/\//.test(line) || /\.(whl|zip|tar\.gz|tgz|tar\.bz2)$/i.test(line))) continue;
    const dep = parsePep508(line);
    if (dep) d.add(dep.name, dep.version);
  }
  return d.list();
}

function get(t: TomlValue | undefined, ...keys: string[]): TomlValue | undefined {
  let v = t;
  for (const k of keys) {
    if (!isTable(v)) return undefined;
    v = v[k];
  }
  return v;
}

function addPep508List(d: Deps, list: TomlValue | undefined): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    if (typeof item !== 'string') continue;
    const dep = parsePep508(item);
    if (dep) d.add(dep.name, dep.version);
  }
}

/** Poetry/Pipfile/Cargo value: "spec", { version = "spec", … } (git/path → null), or a list of those. */
function tableSpec(v: TomlValue): string | null {
  if (typeof v === 'string') return v;
  if (isTable(v)) return typeof v.version === 'string' ? v.version : null;
  if (Array.isArray(v)) {
    const all = v.map(tableSpec).filter((x): x is string => !!x);
    return all.length ? all.join(' || ') : null;
  }
  return null;
}

function addTable(d: Deps, t: TomlValue | undefined, skip: readonly string[] = []): void {
  if (!isTable(t)) return;
  for (const [name, v] of Object.entries(t)) if (!skip.includes(name)) d.add(name, tableSpec(v));
}

/**
 * [project] dependencies and optional-dependencies, [dependency-groups], and Poetry's
 * [tool.poetry.dependencies], dev-dependencies and group.*.dependencies (without `python`).
 */
function parsePyproject(text: string): Dependency[] {
  const t = parseToml(text);
  const d = new Deps();
  addPep508List(d, get(t, 'project', 'dependencies'));
  const optional = get(t, 'project', 'optional-dependencies');
  if (isTable(optional)) for (const list of Object.values(optional)) addPep508List(d, list);
  const groups = get(t, 'dependency-groups');
  if (isTable(groups)) for (const list of Object.values(groups)) addPep508List(d, list);
  const poetry = get(t, 'tool', 'poetry');
  addTable(d, get(poetry, 'dependencies'), ['python']);
  addTable(d, get(poetry, 'dev-dependencies'), ['python']);
  const pg = get(poetry, 'group');
  if (isTable(pg)) for (const g of Object.values(pg)) addTable(d, get(g, 'dependencies'), ['python']);
  return d.list();
}

/** [packages] and [dev-packages]. */
function parsePipfile(text: string): Dependency[] {
  const t = parseToml(text);
  const d = new Deps();
  addTable(d, t.packages);
  addTable(d, t['dev-packages']);
  return d.list();
}

/** `require` lines and blocks (indirect requirements included: go.mod declares them). */
function parseGoMod(text: string): Dependency[] {
  const d = new Deps();
  let block = false;
  const req = (l: string): void => {
    const [name, version] = l.split(/\s+/);
    if (name && version) d.add(name.replace(/^"|"$/g, ''), version);
  };
  for (const raw of text.split(/\r?\n/)) {
    const cut = raw.indexOf('//');
    const l = (cut === -1 ? raw : raw.slice(0, cut)).trim();
    if (block) {
      if (l === ')') block = false;
      else if (l) req(l);
    } else if (/^require\s*\($/.test(l)) block = true;
    else if (/^require\s/.test(l)) {
      const rest = l.slice('require'.length).trimStart();
      if (!/[\r\n\u2028\u2029]/.test(rest)) req(rest);
    }
  }
  return d.list();
}

/** [dependencies], [dev-dependencies], [build-dependencies], their [target.*] forms, [workspace.dependencies]. */
function parseCargoToml(text: string): Dependency[] {
  const t = parseToml(text);
  const d = new Deps();
  const sections = ['dependencies', 'dev-dependencies', 'build-dependencies'];
  const add = (from: TomlTable): void => sections.forEach((s) => addTable(d, from[s]));
  add(t);
  const targets = t.target;
  if (isTable(targets)) for (const tt of Object.values(targets)) if (isTable(tt)) add(tt);
  addTable(d, get(t, 'workspace', 'dependencies'));
  return d.list();
}

/** Cuts a line at the first `mark` that starts it or follows whitespace (a comment). */
function stripComment(line: string, mark: string): string {
  for (let i = line.indexOf(mark); i !== -1; i = line.indexOf(mark, i + 1))
    if (i === 0 || /\s/.test(line[i - 1])) return line.slice(0, i);
  return line;
}

/** `text` without every `open` … `close` span (the first `close` after each `open`); an unclosed one stays. */
export function removeSpans(text: string, open: string, close: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const s = text.indexOf(open, at);
    if (s === -1) break;
    const e = text.indexOf(close, s + open.length);
    if (e === -1) break; // no close after this open: none after a later one either
    out += text.slice(at, s);
    at = e + close.length;
  }
  return out + text.slice(at);
}

/** `text` without every `<tag>` … `</tag>` element of any of `tags`, taken left to right (as one alternation). */
function removeElements(text: string, tags: readonly string[]): string {
  const next = tags.map(() => -2); // per tag: the next `<tag>` at or after `at` (-1: none left), -2: unknown
  let out = '';
  let at = 0;
  for (;;) {
    let best = -1;
    let which = -1;
    for (let k = 0; k < tags.length; k++) {
      if (next[k] === -1) continue;
      if (next[k] < at) next[k] = text.indexOf(`<${tags[k]}>`, at);
      if (next[k] !== -1 && (best === -1 || next[k] < best)) [best, which] = [next[k], k];
    }
    if (which === -1) break;
    const close = `</${tags[which]}>`;
    const e = text.indexOf(close, best + tags[which].length + 2);
    if (e === -1) {
      next[which] = -1; // unclosed: no later one of this tag closes either
      continue;
    }
    out += text.slice(at, best);
    at = e + close.length;
  }
  return out + text.slice(at);
}

/** The contents of each `<tag>` … `</tag>` element, in order (the first `</tag>` after each `<tag>`). */
function* elements(xml: string, tag: string): Generator<string> {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  for (let s = xml.indexOf(open); s !== -1;) {
    const e = xml.indexOf(close, s + open.length);
    if (e === -1) return;
    yield xml.slice(s + open.length, e);
    s = xml.indexOf(open, e + close.length);
  }
}

/** The trimmed text of the first `<tag>text</tag>` (text without `<`) in `xml`. */
function xmlText(xml: string, tag: string): string | undefined {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  for (let s = xml.indexOf(open); s !== -1;) {
    const lt = xml.indexOf('<', s + open.length);
    if (lt === -1) return undefined;
    if (xml.startsWith(close, lt)) return xml.slice(s + open.length, lt).trim();
    s = xml.indexOf(open, lt);
  }
  return undefined;
}

/** `<name>text</name>` children with text only (no nested elements): each name with its trimmed text. */
function* simpleChildren(xml: string): Generator<[string, string]> {
  const NAME = /[\w.-]/;
  for (let lt = xml.indexOf('<'); lt !== -1;) {
    let j = lt + 1;
    while (j < xml.length && NAME.test(xml[j])) j++;
    if (j === lt + 1 || xml[j] !== '>') {
      lt = xml.indexOf('<', lt + 1);
      continue;
    }
    const name = xml.slice(lt + 1, j);
    const next = xml.indexOf('<', j + 1);
    if (next === -1) return;
    if (xml.startsWith(`</${name}>`, next)) {
      yield [name, xml.slice(j + 1, next).trim()];
      lt = xml.indexOf('<', next + name.length + 3);
    } else lt = next;
  }
}

/** `${key}` replaced by its property where defined (the first `}` after each `${` closes it). */
function substitute(v: string, props: ReadonlyMap<string, string>): string {
  let out = '';
  let copied = 0;
  let from = 0;
  for (;;) {
    const s = v.indexOf('${', from);
    if (s === -1) break;
    const e = v.indexOf('}', s + 2);
    if (e === -1) break;
    if (e === s + 2) {
      from = s + 1; // `${}` names nothing
      continue;
    }
    const value = props.get(v.slice(s + 2, e));
    if (value !== undefined) {
      out += v.slice(copied, s) + value;
      copied = e + 1;
    }
    from = e + 1;
  }
  return out + v.slice(copied);
}

/** <dependency> elements (outside <plugin>s) as groupId:artifactId, ${properties} substituted where defined. */
function parsePomXml(text: string): Dependency[] {
  const xml = removeSpans(removeSpans(text, '<!--', '-->'), '<plugin>', '</plugin>');
  const props = new Map<string, string>();
  for (const block of elements(xml, 'properties')) {
    for (const [name, value] of simpleChildren(block)) props.set(name, value);
    break; // the first <properties> block only
  }
  const own = removeElements(xml, [
    'parent',
    'dependencies',
    'dependencyManagement',
    'build',
    'profiles',
    'reporting',
  ]);
  const projectVersion = xmlText(own, 'version');
  if (projectVersion) props.set('project.version', projectVersion);
  const subst = (v: string | undefined): string | undefined => (v === undefined ? v : substitute(v, props));
  const d = new Deps();
  for (const dep of elements(xml, 'dependency')) {
    const artifact = subst(xmlText(dep, 'artifactId'));
    if (!artifact) continue;
    const group = subst(xmlText(dep, 'groupId'));
    d.add(group ? `${group}:${artifact}` : artifact, subst(xmlText(dep, 'version')) ?? null);
  }
  return d.list();
}

const GRADLE_CONF =
  '(?:implementation|api|compile|compileOnly|compileOnlyApi|runtimeOnly|testImplementation|testCompile|testCompileOnly|testRuntimeOnly|androidTestImplementation|annotationProcessor|kapt|ksp|classpath|developmentOnly)';

/** `conf "group:name:version"`, `conf("group:name")`, `conf group: "g", name: "n", version: "v"`. */
function parseGradle(text: string): Dependency[] {
  // with the m flag `.*$` always matches at its first try (`.` and `$` stop at the same line terminators)
  const src = removeSpans(text, '/*', '*/').replace(/(^|\s)\/\/.*$/gm, '$1');
  const d = new Deps();
  const coord = new RegExp(
    `\\b${GRADLE_CONF}\\s*(?:\\(\\s*)?(?:(?:platform|enforcedPlatform)\\s*\\(\\s*)?["']([^"':\\s]+):([^"':\\s]+)(?::([^"'\\s]+))?["']`,
    'g',
  );
  for (const m of src.matchAll(coord)) d.add(`${m[1]}:${m[2]}`, m[3] ?? null);
  const named = new RegExp(
    `\\b${GRADLE_CONF}\\s*(?:\\(\\s*)?group\\s*[:=]\\s*["']([^"']+)["']\\s*,\\s*name\\s*[:=]\\s*["']([^"']+)["'](?:\\s*,\\s*version\\s*[:=]\\s*["']([^"']+)["'])?`,
    'g',
  );
  for (const m of src.matchAll(named)) d.add(`${m[1]}:${m[2]}`, m[3] ?? null);
  return d.list();
}

/** `gem "name", "~> 1.0", ">= 1.0.1"` → version "~> 1.0, >= 1.0.1". */
function parseGemfile(text: string): Dependency[] {
  const d = new Deps();
  for (const raw of text.split(/\r?\n/)) {
    const l = stripComment(raw, '#').trim();
    const m = /^gem\s*(?:\(\s*)?["']([^"']+)["']((?:\s*,\s*["'][^"']*["'])*)/.exec(l);
    if (!m) continue;
    const versions = [...m[2].matchAll(/["']([^"']*)["']/g)].map((x) => x[1]).filter(Boolean);
    d.add(m[1], versions.length ? versions.join(', ') : null);
  }
  return d.list();
}
