import { findMarkers } from './issues.analyzer';
import { parseManifest } from './manifests';
import { pythonImports } from './python-imports';
import { isUnpinned, recommend } from './recommendations.analyzer';

/**
 * Inputs crafted against the regular expressions the analyzers used to have (CONTRACT §10: no input stalls the
 * service). The old code backtracked quadratically on each of them: doubling the input made it about four times
 * slower, and at these sizes it took seconds to minutes.
 *
 * What is checked is growth, not speed (speed is `npm run bench`'s business): each input is parsed at size n and
 * at 8n, the least CPU time of 5 runs each, and the larger may take at most 24× the smaller. Linear work gives ~8× whatever the
 * machine's load; the old quadratic code gave ~64×. The first test shows that the check catches quadratic work.
 */
const GROWTH = 8;
const MAX_RATIO = 24;
const MiB = 1024 * 1024;

/**
 * The least CPU time (user + system, of this process) of 5 runs. CPU time, not wall time: on a loaded machine a
 * longer run is more likely to be preempted, which inflates the ratio of wall times but not of CPU times.
 */
function best(run: () => unknown): number {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    run();
    const d = process.cpuUsage(c0);
    min = Math.min(min, (d.user + d.system) / 1000);
  }
  return min;
}

/** Parses make(n) and make(8n); fails when the time grew superlinearly. Returns the result at 8n. */
function growthRatio<T>(make: (n: number) => string, parse: (text: string) => T, nBig: number) {
  const small = make(Math.round(nBig / GROWTH));
  const big = make(nBig);
  parse(small); // warm-up: compile the parser's paths before timing
  const ts = best(() => parse(small));
  const tb = best(() => parse(big));
  // the floor keeps a GC pause during a sub-millisecond parse from reading as growth
  const ratio = tb / Math.max(ts, 0.25);
  const detail = `${small.length} chars: ${ts.toFixed(2)} ms, ${big.length} chars: ${tb.toFixed(2)} ms (×${ratio.toFixed(1)})`;
  return { ratio, detail, value: parse(big) };
}

function linear<T>(make: (n: number) => string, parse: (text: string) => T, nBig: number): T {
  const { ratio, detail, value } = growthRatio(make, parse, nBig);
  if (ratio >= MAX_RATIO) throw new Error(`superlinear: ${detail}, more than ×${MAX_RATIO}`);
  return value;
}

const deps = (file: string, make: (n: number) => string, nBig: number) =>
  linear(make, (text) => parseManifest(file, text)?.dependencies, nBig);

describe('crafted inputs take linear time', () => {
  it('the growth check itself flags quadratic work (the shape the old regular expressions had)', () => {
    const quadratic = (s: string) => {
      let c = 0;
      for (let i = 0; i < s.length; i++) for (let j = i; j < s.length; j++) c += s.charCodeAt(j) & 1;
      return c;
    };
    expect(growthRatio((n) => 'x'.repeat(n), quadratic, 16_000).ratio).toBeGreaterThan(MAX_RATIO);
    // and a linear scan of the same input passes
    const scan = (s: string) => {
      let c = 0;
      for (let i = 0; i < s.length; i++) c += s.charCodeAt(i) & 1;
      return c;
    };
    expect(growthRatio((n) => 'x'.repeat(n), scan, 4_000_000).ratio).toBeLessThan(MAX_RATIO);
  });

  it('python: `from ` followed by 60,000 dots (overlapping dot groups)', () => {
    const value = linear((n) => `from ${'.'.repeat(n)}\nimport os\n`, pythonImports, 60_000);
    expect(value).toEqual([{ kind: 'import', modules: ['os'] }]);
    // the same dots as a real relative import still parse
    expect(pythonImports(`from ${'.'.repeat(60_000)}pkg import x\n`)).toEqual([
      { kind: 'from', level: 60_000, module: 'pkg', names: ['x'] },
    ]);
  });

  it('pom.xml: 480 KB of repeated unclosed <dependency>', () => {
    expect(deps('pom.xml', (n) => '<project>' + '<dependency>'.repeat(n), 40_000)).toEqual([]);
  });

  it.each<[string, (n: number) => string, number]>([
    ['256 KB of unclosed comments', (n) => '<!--'.repeat(n), 65_536],
    ['512 KB of unclosed plugins', (n) => '<plugin>'.repeat(n), 65_536],
    ['512 KB of unclosed properties', (n) => '<properties>'.repeat(n), 43_690],
    ['512 KB of unclosed build sections', (n) => '<build>'.repeat(n), 75_000],
    ['a 1 MiB version of whitespace with no closing tag', (n) => '<version>' + ' '.repeat(n) + 'x', MiB],
  ])('pom.xml: %s', (_what, make, n) => {
    expect(deps('pom.xml', make, n)).toEqual([]);
  });

  it('pom.xml: a 256 KB version of unclosed ${ still parses right', () => {
    const text = (n: number) =>
      '<project><properties><v>2.0</v></properties><dependencies>' +
      `<dependency><groupId>g</groupId><artifactId>a</artifactId><version>${'${'.repeat(n)}</version></dependency>` +
      '<dependency><groupId>g</groupId><artifactId>b</artifactId><version>${v}</version></dependency>' +
      '</dependencies></project>';
    expect(deps('pom.xml', text, 131_072)).toEqual([
      { name: 'g:a', version: '${'.repeat(131_072) },
      { name: 'g:b', version: '2.0' },
    ]);
  });

  it.each<[string, (n: number) => string, number]>([
    ['a 256 KB name then a lone CR', (n) => 'a'.repeat(n) + '!\rb', 262_144],
    ['128 KB of comment marks then a lone CR', (n) => ' #'.repeat(n) + '\r', 65_536],
  ])('requirements.txt: %s', (_what, make, n) => {
    expect(deps('requirements.txt', make, n)).toEqual([]);
  });

  it.each<[string, (n: number) => string, number]>([
    ['128 KB of comment marks then a lone CR', (n) => '//'.repeat(n) + '\rx', 65_536],
    [
      'a require line of 128 KB whitespace with a lone CR',
      (n) => 'require' + ' '.repeat(n) + 'a\rb',
      131_072,
    ],
  ])('go.mod: %s', (_what, make, n) => {
    expect(deps('go.mod', make, n)).toEqual([]);
  });

  it.each<[string, (n: number) => string, number]>([
    ['256 KB of unclosed block comments', (n) => '/* '.repeat(n), 87_381],
    ['a configuration then 128 KB of whitespace', (n) => 'implementation' + ' '.repeat(n) + 'x', 131_072],
  ])('build.gradle: %s', (_what, make, n) => {
    expect(deps('build.gradle', make, n)).toEqual([]);
  });

  it.each<[string, (n: number) => string, number]>([
    ['gem then 256 KB of whitespace', (n) => 'gem' + ' '.repeat(n) + 'x', 262_144],
    ['128 KB of comment marks then a lone CR', (n) => ' #'.repeat(n) + '\r', 65_536],
  ])('Gemfile: %s', (_what, make, n) => {
    expect(deps('Gemfile', make, n)).toEqual([]);
  });

  it('pyproject.toml / Cargo.toml / Pipfile (guard): 1 MiB strings, keys and versions', () => {
    expect(
      deps('pyproject.toml', (n) => `[project]\ndependencies = ["a${' '.repeat(n)}\\u0000"]\n`, MiB / 2),
    ).toEqual([]);
    expect(deps('Cargo.toml', (n) => `[dependencies]\nserde = "${'x'.repeat(n)}"\n`, MiB / 2)).toEqual([
      { name: 'serde', version: 'x'.repeat(MiB / 2) },
    ]);
    expect(deps('Pipfile', (n) => `[packages]\n${'a.'.repeat(n)}b = "1"\n`, 65_536)).toEqual([
      { name: 'a', version: null },
    ]);
  });

  it('issues: a marker followed by a 256 KB line of whitespace', () => {
    const value = linear(
      (n) => '// TODO x' + ' '.repeat(n) + 'y */\n',
      (text) => findMarkers('f', Buffer.from(text), 10),
      262_144,
    );
    expect(value.count).toBe(1);
    expect(value.items[0].text).toBe('x'); // the first 200 characters, trimmed
  });

  it('recommendations (guard): 1 MiB versions', () => {
    const run = (pad: string) => {
      const v = '>=' + pad + '1!';
      for (const eco of ['npm', 'pypi', 'maven', 'cargo', 'rubygems', 'packagist'] as const) {
        isUnpinned(eco, v);
        isUnpinned(eco, ',' + pad + ')x');
        isUnpinned(eco, 'a'.repeat(pad.length));
      }
      return recommend(
        {
          issues: { items: [], total: 0 },
          techstack: {
            languages: [],
            manifests: [
              { file: 'package.json', ecosystem: 'npm', dependencies: [{ name: 'a', version: v }] },
            ],
          },
          architecture: { modules: [], edges: [], cycles: [] },
        },
        { sourceFiles: 1, testFiles: 1, lockfiles: new Set() },
      );
    };
    const items = linear((n) => ' '.repeat(n), run, MiB);
    expect(items.length).toBeGreaterThan(0);
  });
});
