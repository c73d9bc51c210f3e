import { findMarkers } from './issues.analyzer';
import { parseManifest } from './manifests';
import { pythonImports } from './python-imports';
import { isUnpinned, recommend } from './recommendations.analyzer';

/**
 * Inputs crafted against the regular expressions the analyzers used to have (CONTRACT §10: no input stalls the
 * service). Each made the old code take seconds to minutes (quadratic backtracking: doubling the input made it
 * about four times slower); the analyzers now parse them in linear time. The bound is generous (the machine is
 * shared) and still far below what the old code needed for the same input.
 */
const BOUND_MS = 400;
const MiB = 1024 * 1024;

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

const deps = (file: string, text: string) => {
  const { value, ms } = timed(() => parseManifest(file, text));
  expect(ms).toBeLessThan(BOUND_MS);
  return value?.dependencies;
};

describe('crafted inputs take linear time', () => {
  it('python: `from ` followed by 60,000 dots (overlapping dot groups)', () => {
    const { value, ms } = timed(() => pythonImports(`from ${'.'.repeat(60_000)}\nimport os\n`));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(value).toEqual([{ kind: 'import', modules: ['os'] }]);
    // the same dots as a real relative import still parse
    expect(pythonImports(`from ${'.'.repeat(60_000)}pkg import x\n`)).toEqual([
      { kind: 'from', level: 60_000, module: 'pkg', names: ['x'] },
    ]);
  });

  it('pom.xml: 480 KB of repeated unclosed <dependency>', () => {
    expect(deps('pom.xml', '<project>' + '<dependency>'.repeat(40_000))).toEqual([]);
  });

  it.each([
    ['256 KB of unclosed comments', '<!--'.repeat(65_536)],
    ['512 KB of unclosed plugins', '<plugin>'.repeat(65_536)],
    ['512 KB of unclosed properties', '<properties>'.repeat(43_690)],
    ['512 KB of unclosed build sections', '<build>'.repeat(75_000)],
    ['a 1 MiB version of whitespace with no closing tag', '<version>' + ' '.repeat(MiB) + 'x'],
  ])('pom.xml: %s', (_what, text) => {
    expect(deps('pom.xml', text)).toEqual([]);
  });

  it('pom.xml: a 256 KB version of unclosed ${ still parses right', () => {
    const version = '${'.repeat(131_072);
    const text =
      '<project><properties><v>2.0</v></properties><dependencies>' +
      `<dependency><groupId>g</groupId><artifactId>a</artifactId><version>${version}</version></dependency>` +
      '<dependency><groupId>g</groupId><artifactId>b</artifactId><version>${v}</version></dependency>' +
      '</dependencies></project>';
    expect(deps('pom.xml', text)).toEqual([
      { name: 'g:a', version },
      { name: 'g:b', version: '2.0' },
    ]);
  });

  it.each([
    ['a 256 KB name then a lone CR', 'a'.repeat(262_144) + '!\rb'],
    ['128 KB of comment marks then a lone CR', ' #'.repeat(65_536) + '\r'],
  ])('requirements.txt: %s', (_what, text) => {
    expect(deps('requirements.txt', text)).toEqual([]);
  });

  it.each([
    ['128 KB of comment marks then a lone CR', '//'.repeat(65_536) + '\rx'],
    ['a require line of 128 KB whitespace with a lone CR', 'require' + ' '.repeat(131_072) + 'a\rb'],
  ])('go.mod: %s', (_what, text) => {
    expect(deps('go.mod', text)).toEqual([]);
  });

  it.each([
    ['256 KB of unclosed block comments', '/* '.repeat(87_381)],
    ['a configuration then 128 KB of whitespace', 'implementation' + ' '.repeat(131_072) + 'x'],
  ])('build.gradle: %s', (_what, text) => {
    expect(deps('build.gradle', text)).toEqual([]);
  });

  it.each([
    ['gem then 256 KB of whitespace', 'gem' + ' '.repeat(262_144) + 'x'],
    ['128 KB of comment marks then a lone CR', ' #'.repeat(65_536) + '\r'],
  ])('Gemfile: %s', (_what, text) => {
    expect(deps('Gemfile', text)).toEqual([]);
  });

  it('pyproject.toml / Cargo.toml / Pipfile (guard): 1 MiB strings, keys and versions', () => {
    const big = 'x'.repeat(MiB / 2);
    expect(deps('pyproject.toml', `[project]\ndependencies = ["a${' '.repeat(MiB / 2)}\\u0000"]\n`)).toEqual(
      [],
    );
    expect(deps('Cargo.toml', `[dependencies]\nserde = "${big}"\n`)).toEqual([
      { name: 'serde', version: big },
    ]);
    expect(deps('Pipfile', `[packages]\n${'a.'.repeat(65_536)}b = "1"\n`)).toEqual([
      { name: 'a', version: null },
    ]);
  });

  it('issues: a marker followed by a 256 KB line of whitespace', () => {
    const src = Buffer.from('// TODO x' + ' '.repeat(262_144) + 'y */\n');
    const { value, ms } = timed(() => findMarkers('f', src, 10));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(value.count).toBe(1);
    expect(value.items[0].text).toBe('x'); // the first 200 characters, trimmed
  });

  it('recommendations (guard): 1 MiB versions', () => {
    const v = '>=' + ' '.repeat(MiB) + '1!';
    const t0 = performance.now();
    for (const eco of ['npm', 'pypi', 'maven', 'cargo', 'rubygems', 'packagist'] as const) {
      isUnpinned(eco, v);
      isUnpinned(eco, ',' + ' '.repeat(MiB) + ')x');
      isUnpinned(eco, 'a'.repeat(MiB));
    }
    const items = recommend(
      {
        issues: { items: [], total: 0 },
        techstack: {
          languages: [],
          manifests: [{ file: 'package.json', ecosystem: 'npm', dependencies: [{ name: 'a', version: v }] }],
        },
        architecture: { modules: [], edges: [], cycles: [] },
      },
      { sourceFiles: 1, testFiles: 1, lockfiles: new Set() },
    );
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
    expect(items.length).toBeGreaterThan(0);
  });
});
