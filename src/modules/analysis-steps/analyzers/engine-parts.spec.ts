import { execFileSync } from 'node:child_process';
import { findCycles, jsTarget, pythonTargets } from './architecture.analyzer';
import { findMarkers } from './issues.analyzer';
import { languageOf, loadLinguist } from './languages';
import { pythonImports } from './python-imports';
import { fileFacts, isTestFile, isUnpinned, recommend } from './recommendations.analyzer';

describe('languages (linguist-languages)', () => {
  it('the table this process loads is the package the server loads with require()', () => {
    // Node >= 20.19 require()s the ESM package natively (the server's path); Jest on Node 20 cannot, and
    // languages.ts then evaluates the package's data modules. Both must give the same languages.
    const viaRequire = JSON.parse(
      execFileSync(
        process.execPath,
        ['-e', "process.stdout.write(JSON.stringify(Object.values(require('linguist-languages'))))"],
        { cwd: __dirname, maxBuffer: 64 * 1024 * 1024 },
      ).toString(),
    );
    const here = loadLinguist();
    expect(here.length).toBeGreaterThan(500);
    const byName = (xs: { name: string }[]) => [...xs].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(byName(here)).toEqual(byName(viaRequire));
  });

  it.each([
    ['src/a.ts', 'TypeScript'],
    ['types/x.d.ts', 'TypeScript'],
    ['a.tsx', 'TSX'],
    ['lib/x.mjs', 'JavaScript'],
    ['x.PY', 'Python'],
    ['Dockerfile', 'Dockerfile'],
    ['sub/Makefile', 'Makefile'],
    ['x.h', 'C'],
    ['x.rs', 'Rust'],
    ['x.md', 'Markdown'],
    ['a.yaml', 'YAML'],
    ['a.yml', 'YAML'],
    ['schema.sql', 'SQL'],
    ['cfg.json.example', 'JSON'],
    ['tsconfig.json', 'JSON with Comments'],
    ['go.mod', 'Go Module'],
  ])('%s is %s', (file, name) => {
    expect(languageOf(file)?.name).toBe(name);
  });

  it('files without a known name or extension have no language', () => {
    expect(languageOf('image.png-not-known')).toBeUndefined();
    expect(languageOf('.bashrc-unknown')).toBeUndefined();
    expect(languageOf('noext')).toBeUndefined();
  });
});

describe('findMarkers', () => {
  it('counts whole-word markers, one per line, but not a marker word quoted on its own', () => {
    const src = [
      "const kinds = ['TODO', 'FIXME'];",
      '{ "XXX": 1 }',
      'log("TODO: implement")\r',
      '',
      '# HACK - works around bug 12 -->',
      'x = 1 # XXX',
      '\t* FIXME:see above',
    ].join('\n');
    expect(findMarkers('f', Buffer.from(src), 10)).toEqual({
      count: 4,
      items: [
        { file: 'f', line: 3, kind: 'TODO', text: 'implement")' },
        { file: 'f', line: 5, kind: 'HACK', text: '- works around bug 12' },
        { file: 'f', line: 6, kind: 'XXX', text: '' },
        { file: 'f', line: 7, kind: 'FIXME', text: 'see above' },
      ],
    });
    expect(findMarkers('f', Buffer.from(src), 1).count).toBe(4);
    expect(findMarkers('f', Buffer.from(src), 1).items).toHaveLength(1);
  });
});

describe('python imports', () => {
  it('finds import statements with a tokenizer, not inside strings or comments', () => {
    const src = [
      'import os, sys as system',
      'from . import a, b as c',
      'from ..pkg.mod import (x,',
      '    y)  # trailing',
      '# import commented',
      's = "import not_a_statement"',
      'r"""',
      'import in_docstring',
      '"""',
      'x = 1; import after_semicolon',
      'if True:',
      '    from deep import *',
      'value = imported_name',
      'from \\',
      '    continued import thing',
    ].join('\n');
    expect(pythonImports(src)).toEqual([
      { kind: 'import', modules: ['os', 'sys'] },
      { kind: 'from', level: 1, module: '', names: ['a', 'b'] },
      { kind: 'from', level: 2, module: 'pkg.mod', names: ['x', 'y'] },
      { kind: 'import', modules: ['after_semicolon'] },
      { kind: 'from', level: 0, module: 'deep', names: ['*'] },
      { kind: 'from', level: 0, module: 'continued', names: ['thing'] },
    ]);
  });

  it('resolves targets against the importing file', () => {
    expect(pythonTargets('app/views.py', { kind: 'import', modules: ['core.models', 'os'] })).toEqual([
      'core',
      'os',
    ]);
    expect(pythonTargets('app/sub/x.py', { kind: 'from', level: 3, module: 'core', names: ['m'] })).toEqual([
      'core',
    ]);
    expect(
      pythonTargets('app/sub/x.py', { kind: 'from', level: 3, module: '', names: ['core', '*'] }),
    ).toEqual(['core']);
    expect(pythonTargets('app/x.py', { kind: 'from', level: 3, module: 'core', names: ['m'] })).toEqual([]);
  });
});

describe('JS/TS import targets', () => {
  it.each([
    ['alpha/a.ts', './b', 'alpha'],
    ['alpha/a.ts', '../beta/x', 'beta'],
    ['alpha/deep/a.ts', '../../beta', 'beta'],
    ['alpha/a.ts', '..', undefined],
    ['alpha/a.ts', '../../outside', undefined],
    ['alpha/a.ts', 'lodash/fp', 'lodash'],
    ['alpha/a.ts', '@scope/pkg', '@scope'],
    ['alpha/a.ts', 'fs', undefined],
    ['alpha/a.ts', 'fs/promises', undefined],
    ['alpha/a.ts', 'node:test', undefined],
    ['alpha/a.ts', 'https://cdn/x.js', undefined],
    ['alpha/a.ts', '/abs/x', undefined],
  ])('%s imports %s → %s', (from, spec, to) => {
    expect(jsTarget(from, spec)).toBe(to);
  });
});

describe('findCycles', () => {
  it('returns strongly connected components of two or more modules, sorted', () => {
    const e = (from: string, to: string) => ({ from, to, imports: 1 });
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const edges = [e('b', 'a'), e('a', 'b'), e('c', 'd'), e('d', 'e'), e('e', 'c'), e('e', 'f'), e('g', 'g')];
    expect(findCycles(nodes, edges)).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
    expect(findCycles(nodes, [])).toEqual([]);
  });

  it('copes with a long chain (no recursion limit)', () => {
    const nodes = Array.from({ length: 20000 }, (_, i) => `m${i}`);
    const edges = nodes.map((n, i) => ({ from: n, to: nodes[(i + 1) % nodes.length], imports: 1 }));
    const cycles = findCycles(nodes, edges);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(20000);
  });
});

describe('recommendation rules', () => {
  it('tells unpinned specs per ecosystem', () => {
    const cases: [Parameters<typeof isUnpinned>[0], string | null, boolean][] = [
      ['npm', null, true],
      ['npm', '*', true],
      ['npm', 'latest', true],
      ['npm', '>=1.2', true],
      ['npm', '^1.2.3', false],
      ['npm', '>=1 <2', false],
      ['npm', 'workspace:*', false],
      ['pypi', null, true],
      ['pypi', '>=2.0', true],
      ['pypi', '==2.0', false],
      ['pypi', '~=2.0', false],
      ['pypi', '>=2,<3', false],
      ['pypi', '^2.0', false],
      ['pypi', 'https://x/y.tar.gz', false],
      ['cargo', '1.0', false],
      ['cargo', '*', true],
      ['go', null, false],
      ['maven', null, false],
      ['maven', 'LATEST', true],
      ['maven', '[1.0,)', true],
      ['maven', '1.0', false],
      ['rubygems', null, true],
      ['rubygems', '~> 7.1', false],
    ];
    for (const [eco, v, want] of cases) expect([eco, v, isUnpinned(eco, v)]).toEqual([eco, v, want]);
  });

  it('recognises test files', () => {
    for (const f of [
      'a.test.ts',
      'src/x.spec.js',
      'test/e2e.ts',
      'pkg/tests/x.py',
      'test_x.py',
      'x_test.go',
      'FooTest.java',
    ])
      expect([f, isTestFile(f)]).toEqual([f, true]);
    for (const f of ['src/latest.ts', 'contest/x.ts', 'testing.py', 'attest.go'])
      expect([f, isTestFile(f)]).toEqual([f, false]);
  });

  it('hot spots, critical cycles, lockfiles beside or above a manifest, thin tests', () => {
    const files = [
      'package-lock.json',
      'packages/a/package.json',
      'svc/Cargo.toml',
      ...Array.from({ length: 60 }, (_, i) => `src/f${i}.ts`),
      'src/one.test.ts',
    ].map((rel) => ({ rel, abs: `/x/${rel}`, size: 1 }));
    const facts = fileFacts(files);
    expect(facts.sourceFiles).toBe(60);
    expect(facts.testFiles).toBe(1);
    const items = recommend(
      {
        issues: {
          items: Array.from({ length: 6 }, (_, i) => ({
            file: 'src/f1.ts',
            line: i + 1,
            kind: 'TODO' as const,
            text: '',
          })),
          total: 6,
        },
        techstack: {
          languages: [{ name: 'TypeScript', files: 61, bytes: 61 }],
          manifests: [
            {
              file: 'packages/a/package.json',
              ecosystem: 'npm',
              dependencies: [{ name: 'x', version: 'latest' }],
            },
            { file: 'svc/Cargo.toml', ecosystem: 'cargo', dependencies: [{ name: 'serde', version: '1' }] },
          ],
        },
        architecture: {
          modules: [],
          edges: [
            { from: 'a', to: 'b', imports: 3 },
            { from: 'b', to: 'c', imports: 1 },
            { from: 'c', to: 'a', imports: 2 },
          ],
          cycles: [['a', 'b', 'c']],
        },
      },
      facts,
    );
    expect(items.map((i) => [i.severity, i.title])).toEqual([
      ['critical', 'Break the dependency cycle between a, b, c'],
      ['warning', 'Marker hot spot: src/f1.ts'],
      ['info', 'Triage TODO markers'],
      // ecosystems in name order; the root package-lock.json pins packages/a: info, not warning, and no
      // lockfile item for npm
      ['info', 'Commit a lockfile for cargo'],
      ['info', 'Pin 1 npm dependency'],
      ['info', 'Add tests where coverage is thin'],
    ]);
    expect(items[0].reason).toMatch(/b → c has the fewest imports to cut\.$/);
    expect(items[1].reason).toMatch(/^6 markers \(6 TODO\) in one file, 100% of those found/);
  });
});
