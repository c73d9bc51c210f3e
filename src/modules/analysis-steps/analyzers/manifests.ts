import type { Dependency, Ecosystem, Manifest } from './analysis-type';
import { isTable, parseToml, type TomlTable, type TomlValue } from './toml';

/**
 * Package manifests by file name, and what each declares. A manifest that cannot be parsed is still listed,
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
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)$/.exec(s);
  if (!m) return undefined;
  let rest = m[2].trim();
  if (rest.startsWith('@')) return { name: m[1], version: rest.slice(1).trim() || null };
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1).trim();
  if (rest && !/^[<>=!~]/.test(rest)) return undefined;
  return { name: m[1], version: rest || null };
}

/** Requirement lines; options (-r, -e, -c, --index-url …), URLs, paths and archives are skipped. */
function parseRequirements(text: string): Dependency[] {
  const d = new Deps();
  for (let line of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    line = line
      .replace(/(^|\s)#.*$/, '')
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
    const l = raw.replace(/\/\/.*$/, '').trim();
    if (block) {
      if (l === ')') block = false;
      else if (l) req(l);
    } else if (/^require\s*\($/.test(l)) block = true;
    else {
      const m = /^require\s+(.+)$/.exec(l);
      if (m) req(m[1]);
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

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`).exec(xml);
  return m ? m[1] : undefined;
}

/** <dependency> elements (outside <plugin>s) as groupId:artifactId, ${properties} substituted where defined. */
function parsePomXml(text: string): Dependency[] {
  const xml = text.replace(/<!--[\s\S]*?-->/g, '').replace(/<plugin>[\s\S]*?<\/plugin>/g, '');
  const props = new Map<string, string>();
  const propBlock = /<properties>([\s\S]*?)<\/properties>/.exec(xml);
  if (propBlock)
    for (const m of propBlock[1].matchAll(/<([\w.-]+)>\s*([^<]*?)\s*<\/\1>/g)) props.set(m[1], m[2]);
  const own = xml.replace(
    /<(parent|dependencies|dependencyManagement|build|profiles|reporting)>[\s\S]*?<\/\1>/g,
    '',
  );
  const projectVersion = xmlText(own, 'version');
  if (projectVersion) props.set('project.version', projectVersion);
  const subst = (v: string | undefined): string | undefined =>
    v?.replace(/\$\{([^}]+)\}/g, (whole, k: string) => props.get(k) ?? whole);
  const d = new Deps();
  for (const m of xml.matchAll(/<dependency>([\s\S]*?)<\/dependency>/g)) {
    const artifact = subst(xmlText(m[1], 'artifactId'));
    if (!artifact) continue;
    const group = subst(xmlText(m[1], 'groupId'));
    d.add(group ? `${group}:${artifact}` : artifact, subst(xmlText(m[1], 'version')) ?? null);
  }
  return d.list();
}

const GRADLE_CONF =
  '(?:implementation|api|compile|compileOnly|compileOnlyApi|runtimeOnly|testImplementation|testCompile|testCompileOnly|testRuntimeOnly|androidTestImplementation|annotationProcessor|kapt|ksp|classpath|developmentOnly)';

/** `conf "group:name:version"`, `conf("group:name")`, `conf group: "g", name: "n", version: "v"`. */
function parseGradle(text: string): Dependency[] {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  const d = new Deps();
  const coord = new RegExp(
    `\\b${GRADLE_CONF}\\s*\\(?\\s*(?:(?:platform|enforcedPlatform)\\s*\\(\\s*)?["']([^"':\\s]+):([^"':\\s]+)(?::([^"'\\s]+))?["']`,
    'g',
  );
  for (const m of src.matchAll(coord)) d.add(`${m[1]}:${m[2]}`, m[3] ?? null);
  const named = new RegExp(
    `\\b${GRADLE_CONF}\\s*\\(?\\s*group\\s*[:=]\\s*["']([^"']+)["']\\s*,\\s*name\\s*[:=]\\s*["']([^"']+)["'](?:\\s*,\\s*version\\s*[:=]\\s*["']([^"']+)["'])?`,
    'g',
  );
  for (const m of src.matchAll(named)) d.add(`${m[1]}:${m[2]}`, m[3] ?? null);
  return d.list();
}

/** `gem "name", "~> 1.0", ">= 1.0.1"` → version "~> 1.0, >= 1.0.1". */
function parseGemfile(text: string): Dependency[] {
  const d = new Deps();
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.replace(/(^|\s)#.*$/, '').trim();
    const m = /^gem\s*\(?\s*["']([^"']+)["']((?:\s*,\s*["'][^"']*["'])*)/.exec(l);
    if (!m) continue;
    const versions = [...m[2].matchAll(/["']([^"']*)["']/g)].map((x) => x[1]).filter(Boolean);
    d.add(m[1], versions.length ? versions.join(', ') : null);
  }
  return d.list();
}
