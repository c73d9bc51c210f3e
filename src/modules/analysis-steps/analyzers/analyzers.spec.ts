import { symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { AnalysisAbortedError } from './analysis-errors';
import type { AnalysisResults, AnalysisType } from './analysis-type';
import type { AnalysisContext } from './analyzer';
import { makeTree, removeTree } from './fixture.spec-helper';
import { ANALYSIS_TYPES, ANALYZERS, analyzerFor } from './registry';
import { MAX_FILE_BYTES, walkFiles, type FileEntry } from './walker';

const SECRET = 'SECRET-CONTENT-9f3a';

describe('analyzers on a fixture tree', () => {
  let outside: string;
  let dir: string;
  let files: FileEntry[];
  const results: Partial<AnalysisResults> = {};

  const run = async <T extends AnalysisType>(type: T, extra: Partial<AnalysisContext> = {}) => {
    const progress: [number, number][] = [];
    const result = await analyzerFor(type).analyze({
      dir,
      files,
      onProgress: (c, t) => progress.push([c, t]),
      ...extra,
    });
    return { result, progress };
  };

  beforeAll(async () => {
    outside = makeTree({
      'secret.ts': `// TODO: ${SECRET}\nimport '../alpha/x';\n`,
      'pkg/package.json': JSON.stringify({ dependencies: { [SECRET]: '1.0.0' } }),
      'pkg/evil.ts': `// FIXME ${SECRET}\n`,
    });
    dir = makeTree({
      '.gitignore': 'ignored/\n',
      'ignored/todo.ts': `// TODO: ${SECRET} must not be read\n`,
      'README.md': '# Proj\nTODO: write docs\n',
      'top.ts': "import './alpha/index';\nimport '../outside';\n// TODO top-level\n",
      'alpha/index.ts': [
        "import { x } from './util';",
        "import { b } from '../beta/b';",
        "import _ from 'lodash';",
        "import * as fs from 'fs';",
        '// TODOS and todo and myTODO and TODO_LIST are not markers, nor \'TODO\' or "FIXME" as values',
        '/* FIXME: broken thing */',
        '// TODO: first FIXME: second',
        'export const y = x + b;',
      ].join('\n'),
      'alpha/util.ts': "export const x = 1; // HACK(bob): temporary\nconst b = require('../beta');\n",
      'beta/b.ts': "import { x } from '../alpha/util';\nexport const b = x; /* XXX nothing */\r\n",
      'beta/index.ts': "export * from './b';\nexport { y } from '../alpha';\n",
      'gamma/app.py': [
        'import beta.b, alpha',
        'from alpha.util import (',
        '    x,  # comment',
        '    y,',
        ')',
        'from . import sibling',
        '"""',
        'import delta',
        '"""',
        "s = 'import delta'",
        'def f():',
        '    import os; from beta import b',
      ].join('\n'),
      'gamma/sibling.py': '',
      'gamma/sub/deep.py': 'from .. import app\nfrom ...alpha import z\nfrom .... import nothing\n',
      'delta/data.bin': Buffer.concat([Buffer.from('TODO: binary\n'), Buffer.from([0, 1, 2, 3])]),
      'delta/huge.ts': Buffer.alloc(MAX_FILE_BYTES + 10, '// TODO: huge\n'),
      'delta/Dockerfile': 'FROM node:20\n',
      'node_modules/x/index.js': `// TODO ${SECRET}\n`,
      'package.json': JSON.stringify({
        name: 'proj',
        dependencies: { 'a-dep': '^1.2.3', star: '*' },
        devDependencies: { jest: '30.0.0' },
        peerDependencies: { react: '>=18' },
      }),
      'requirements.txt': '# comment\nrequests==2.31.0\nflask>=2.0  # web\n-r other.txt\nnumpy\n',
    });
    symlinkSync(path.join(outside, 'secret.ts'), path.join(dir, 'alpha', 'linked-secret.ts'));
    symlinkSync(path.join(outside, 'pkg'), path.join(dir, 'linked-pkg'));
    files = (await walkFiles(dir)).files;
    for (const type of ANALYSIS_TYPES) (results as Record<string, unknown>)[type] = (await run(type)).result;
  });
  afterAll(() => {
    removeTree(dir);
    removeTree(outside);
  });

  it('registers one analyzer per type, in the default order', () => {
    expect(ANALYSIS_TYPES).toEqual(['issues', 'techstack', 'architecture', 'recommendations']);
    for (const t of ANALYSIS_TYPES) expect(ANALYZERS[t].type).toBe(t);
  });

  it('never reads through a symlink, nor ignored, skipped, binary or oversized files', () => {
    expect(files.map((f) => f.rel)).not.toContain('alpha/linked-secret.ts');
    expect(JSON.stringify(results)).not.toContain(SECRET);
    expect(JSON.stringify(results)).not.toMatch(/binary|huge/);
  });

  it('issues: markers with file, line, kind and text, one per line, whole upper-case words', () => {
    expect(results.issues).toEqual({
      items: [
        { file: 'README.md', line: 2, kind: 'TODO', text: 'write docs' },
        { file: 'alpha/index.ts', line: 6, kind: 'FIXME', text: 'broken thing' },
        { file: 'alpha/index.ts', line: 7, kind: 'TODO', text: 'first FIXME: second' },
        { file: 'alpha/util.ts', line: 1, kind: 'HACK', text: '(bob): temporary' },
        { file: 'beta/b.ts', line: 2, kind: 'XXX', text: 'nothing' },
        { file: 'top.ts', line: 3, kind: 'TODO', text: 'top-level' },
      ],
      total: 6,
    });
  });

  it('issues: items are capped, total stays exact', async () => {
    const { result } = await run('issues', { limits: { maxIssueItems: 2 } });
    expect(result).toEqual({ items: results.issues!.items.slice(0, 2), total: 6 });
  });

  it('issues: text is cut at 200 characters', async () => {
    const long = makeTree({ 'a.txt': `x\n  TODO:   ${'é'.repeat(300)}\n` });
    try {
      const r = await analyzerFor('issues').analyze({ dir: long, files: (await walkFiles(long)).files });
      expect(r).toEqual({
        items: [{ file: 'a.txt', line: 2, kind: 'TODO', text: 'é'.repeat(200) }],
        total: 1,
      });
    } finally {
      removeTree(long);
    }
  });

  it('techstack: languages by files and bytes, manifests with their declared dependencies', () => {
    const bytesOf = (re: RegExp): number =>
      files.filter((f) => re.test(f.rel)).reduce((a, f) => a + f.size, 0);
    expect(bytesOf(/\.ts$/)).toBeGreaterThan(300);
    expect(results.techstack).toEqual({
      languages: [
        { name: 'TypeScript', files: 5, bytes: bytesOf(/\.ts$/) },
        { name: 'Python', files: 3, bytes: bytesOf(/\.py$/) },
        { name: 'Dockerfile', files: 1, bytes: 13 },
        { name: 'Ignore List', files: 1, bytes: 9 },
        { name: 'JSON', files: 1, bytes: bytesOf(/^package\.json$/) },
        { name: 'Pip Requirements', files: 1, bytes: 64 },
      ],
      manifests: [
        {
          file: 'package.json',
          ecosystem: 'npm',
          dependencies: [
            { name: 'a-dep', version: '^1.2.3' },
            { name: 'star', version: '*' },
            { name: 'jest', version: '30.0.0' },
          ],
        },
        {
          file: 'requirements.txt',
          ecosystem: 'pypi',
          dependencies: [
            { name: 'requests', version: '==2.31.0' },
            { name: 'flask', version: '>=2.0' },
            { name: 'numpy', version: null },
          ],
        },
      ],
    });
  });

  it('architecture: top-level folders, import edges between them counted per statement, cycles', () => {
    expect(results.architecture).toEqual({
      modules: [
        { name: 'alpha', files: 2 },
        { name: 'beta', files: 2 },
        { name: 'delta', files: 2 },
        { name: 'gamma', files: 3 },
      ],
      edges: [
        // '../beta/b' in index.ts and require('../beta') in util.ts
        { from: 'alpha', to: 'beta', imports: 2 },
        // '../alpha/util' in b.ts, '../alpha' in index.ts
        { from: 'beta', to: 'alpha', imports: 2 },
        // app.py: `import beta.b, alpha` (once each), `from alpha.util import`; deep.py: `from ...alpha import z`
        { from: 'gamma', to: 'alpha', imports: 3 },
        // app.py: `import beta.b, alpha`, `from beta import b` (inside a function)
        { from: 'gamma', to: 'beta', imports: 2 },
      ],
      cycles: [['alpha', 'beta']],
    });
  });

  it('recommendations: derived from the three results, each with a reason, most severe first', () => {
    const items = results.recommendations!.items;
    expect(items.map((i) => [i.severity, i.title])).toEqual([
      ['warning', 'Break the dependency cycle between alpha, beta'],
      ['warning', 'Resolve FIXME, HACK and XXX markers'],
      ['warning', 'Pin 1 npm dependency'],
      ['warning', 'Pin 2 pypi dependencies'],
      ['warning', 'Add automated tests'],
      ['info', 'Triage TODO markers'],
      ['info', 'Commit a lockfile for npm'],
    ]);
    const reason = (title: string): string => items.find((i) => i.title === title)!.reason;
    expect(reason('Break the dependency cycle between alpha, beta')).toMatch(
      /^alpha → beta \(2 imports\), beta → alpha \(2 imports\): /,
    );
    expect(reason('Resolve FIXME, HACK and XXX markers')).toMatch(/^1 FIXME, 1 HACK, 1 XXX markers flag/);
    expect(reason('Pin 1 npm dependency')).toMatch(
      /^star \* in package\.json: .* and no lockfile pins them\.$/,
    );
    expect(reason('Pin 2 pypi dependencies')).toMatch(
      /^flask >=2\.0 in requirements\.txt, numpy \(no version\) in/,
    );
    expect(reason('Add automated tests')).toMatch(
      /^9 source files \(TypeScript, Python, Dockerfile\) and no test/,
    );
    expect(reason('Triage TODO markers')).toMatch(/^3 TODO markers in 3 files /);
  });

  it('recommendations: the same whether it is given the other results or computes them', async () => {
    const given = await run('recommendations', {
      prior: { issues: results.issues, techstack: results.techstack, architecture: results.architecture },
    });
    expect(given.result).toEqual(results.recommendations);
    expect(given.progress).toEqual([[files.length, files.length]]);
    const alone = await run('recommendations', { prior: { techstack: results.techstack } });
    expect(alone.result).toEqual(results.recommendations);
    // issues and architecture computed (2 × files), then the pass over file names
    const total = files.length * 3;
    expect(alone.progress.every(([, t]) => t === total)).toBe(true);
    expect(alone.progress.map(([c]) => c)).toEqual([...alone.progress.map(([c]) => c)].sort((a, b) => a - b));
    expect(alone.progress[alone.progress.length - 1]).toEqual([total, total]);
  });

  it('reports progress per file, ending at files.length', async () => {
    for (const type of ['issues', 'techstack', 'architecture'] as const) {
      const { progress } = await run(type);
      expect(progress[0]).toEqual([0, files.length]);
      expect(progress[progress.length - 1]).toEqual([files.length, files.length]);
      expect(progress).toHaveLength(files.length + 1);
    }
  });
});

describe('an empty directory', () => {
  it('gives empty results and no progress calls', async () => {
    const dir = makeTree({});
    try {
      const files = (await walkFiles(dir)).files;
      expect(files).toEqual([]);
      const out: Record<string, unknown> = {};
      let calls = 0;
      for (const t of ANALYSIS_TYPES)
        out[t] = await analyzerFor(t).analyze({ dir, files, onProgress: () => calls++ });
      expect(out).toEqual({
        issues: { items: [], total: 0 },
        techstack: { languages: [], manifests: [] },
        architecture: { modules: [], edges: [], cycles: [] },
        recommendations: { items: [] },
      });
      expect(calls).toBe(0);
    } finally {
      removeTree(dir);
    }
  });
});

describe('cancellation', () => {
  let dir: string;
  let files: FileEntry[];

  beforeAll(async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 2000; i++)
      tree[`m${i % 10}/f${i}.ts`] = `import '../m${(i + 1) % 10}/x';\n// TODO ${i}\n`;
    dir = makeTree(tree);
    files = (await walkFiles(dir)).files;
  });
  afterAll(() => removeTree(dir));

  it.each(['issues', 'techstack', 'architecture', 'recommendations'] as const)(
    '%s stops promptly once the signal fires',
    async (type) => {
      const ac = new AbortController();
      let examined = 0;
      const err: unknown = await analyzerFor(type)
        .analyze({
          dir,
          files,
          signal: ac.signal,
          onProgress: (current) => {
            examined = current;
            if (current >= 1) ac.abort(new Error('workflow cancelled'));
          },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AnalysisAbortedError);
      expect((err as Error).name).toBe('AbortError');
      // at most the reads already in flight finish after the abort
      expect(examined).toBeLessThan(50);
      expect(files).toHaveLength(2000);
    },
  );

  it('an already aborted signal stops before any file', async () => {
    const ac = new AbortController();
    ac.abort();
    let calls = 0;
    await expect(
      analyzerFor('issues').analyze({ dir, files, signal: ac.signal, onProgress: () => calls++ }),
    ).rejects.toBeInstanceOf(AnalysisAbortedError);
    expect(calls).toBe(0);
  });
});
