import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { AnalysisAbortedError, AnalysisPathError } from './analysis-errors';
import { makeTree, removeTree } from './fixture.spec-helper';
import { MAX_FILE_BYTES, readTextInto, resolveAnalysisPath, walkFiles } from './walker';

describe('resolveAnalysisPath', () => {
  let outside: string;
  let root: string;

  beforeAll(() => {
    outside = makeTree({ 'secret.txt': 'TOP SECRET', 'dir/inner.txt': 'x' });
    root = makeTree({ 'proj/src/a.ts': 'export {}', 'proj/README.md': '# hi', 'file.txt': 'x' });
    symlinkSync(outside, path.join(root, 'link-to-outside'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret-link'));
    symlinkSync(path.join(root, 'proj'), path.join(root, 'link-to-proj'));
  });
  afterAll(() => {
    removeTree(root);
    removeTree(outside);
  });

  const rejects = async (rel: string, message: RegExp): Promise<void> => {
    const err: unknown = await resolveAnalysisPath(root, rel).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnalysisPathError);
    expect((err as AnalysisPathError).field).toBe('path');
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain(root);
  };

  it('accepts a subdirectory and the root itself, answering real paths', async () => {
    await expect(resolveAnalysisPath(root, 'proj')).resolves.toBe(path.join(root, 'proj'));
    await expect(resolveAnalysisPath(root, 'proj/src/')).resolves.toBe(path.join(root, 'proj', 'src'));
    await expect(resolveAnalysisPath(root, '')).resolves.toBe(root);
    await expect(resolveAnalysisPath(root, '.')).resolves.toBe(root);
  });

  it('accepts a symlink that stays inside, resolved to its target', async () => {
    await expect(resolveAnalysisPath(root, 'link-to-proj')).resolves.toBe(path.join(root, 'proj'));
  });

  it('rejects "..", even when it would land inside again', async () => {
    await rejects('..', /"\.\." segments/);
    await rejects('../' + path.basename(outside), /"\.\." segments/);
    await rejects('proj/../proj', /"\.\." segments/);
  });

  it('rejects absolute paths, also ones inside the root', async () => {
    await rejects('/etc', /relative/);
    await rejects(path.join(root, 'proj'), /relative/);
    await rejects('C:\\Windows', /relative/);
  });

  const REFUSED = /^path must name an existing directory inside ANALYSIS_ROOT$/;

  it('rejects symlinks that lead outside', async () => {
    await rejects('link-to-outside', REFUSED);
    await rejects('link-to-outside/dir', REFUSED);
  });

  it('rejects what does not exist or is not a directory', async () => {
    await rejects('nope', REFUSED);
    await rejects('file.txt', REFUSED);
    await rejects('file.txt/x', REFUSED);
    await rejects('secret-link', REFUSED);
    await rejects('a'.repeat(300), REFUSED); // ENAMETOOLONG is a refusal too, not a server error
  });

  it('answers alike whether a path outside exists or not, so that nothing outside can be probed', async () => {
    await rejects('link-to-outside/secret.txt', REFUSED);
    await rejects('link-to-outside/no-such-file', REFUSED);
  });

  it('names no path when ANALYSIS_ROOT itself cannot be read (a server error, not a refusal)', async () => {
    const err: unknown = await resolveAnalysisPath(path.join(root, 'gone'), 'proj').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(AnalysisPathError);
    expect((err as Error).message).toBe('ANALYSIS_ROOT cannot be read');
  });
});

describe('walkFiles', () => {
  let outside: string;
  let dir: string;

  beforeAll(() => {
    outside = makeTree({ 'secret.txt': 'TOP SECRET', 'd/x.ts': 'TOP SECRET' });
    dir = makeTree({
      '.gitignore': 'build/\n*.log\n!keep.log\n/only-root.txt\n',
      'a.ts': 'a',
      'app.log': 'ignored',
      'keep.log': 'kept by negation',
      'only-root.txt': 'ignored at the root only',
      'build/out.js': 'ignored dir',
      'src/only-root.txt': 'not ignored: the rule is anchored',
      'src/b.ts': 'b',
      'src/.gitignore': 'generated.ts\n!important.log\n',
      'src/generated.ts': 'ignored by the nested .gitignore',
      'src/important.log': 're-included by the nested .gitignore',
      'other/generated.ts': 'the nested rule does not apply here',
      'node_modules/dep/index.js': 'skipped',
      'src/node_modules/dep/index.js': 'skipped',
      '.git/config': 'skipped',
      'big.txt': Buffer.alloc(MAX_FILE_BYTES + 1, 'a'),
      'exactly-max.txt': Buffer.alloc(MAX_FILE_BYTES, 'a'),
    });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'secret-link.txt'));
    symlinkSync(outside, path.join(dir, 'outside-dir'));
    symlinkSync(path.join(dir, 'src'), path.join(dir, 'src-link'));
    mkdirSync(path.join(dir, 'empty'));
    execFileSync('mkfifo', [path.join(dir, 'a-fifo')]);
  });
  afterAll(() => {
    removeTree(dir);
    removeTree(outside);
  });

  it('lists regular files, sorted, honouring .gitignore at every level and skipping what it must', async () => {
    const r = await walkFiles(dir);
    expect(r.files.map((f) => f.rel)).toEqual([
      '.gitignore',
      'a.ts',
      'exactly-max.txt',
      'keep.log',
      'other/generated.ts',
      'src/.gitignore',
      'src/b.ts',
      'src/important.log',
      'src/only-root.txt',
    ]);
    expect(r.truncated).toBeNull();
    // secret-link.txt, outside-dir, src-link
    expect(r.skipped.symlinks).toBe(3);
    expect(r.skipped.tooLarge).toBe(1);
    expect(r.skipped.other).toBe(1); // the FIFO
    // app.log, only-root.txt, build/, node_modules/, src/node_modules/, .git/, src/generated.ts
    expect(r.skipped.ignored).toBe(7);
    const a = r.files.find((f) => f.rel === 'a.ts')!;
    expect(a).toEqual({ rel: 'a.ts', abs: path.join(dir, 'a.ts'), size: 1 });
  });

  it('reads text files, but not through a symlink that replaced a walked file, nor FIFOs or binaries', async () => {
    const buf = Buffer.alloc(MAX_FILE_BYTES);
    const n = await readTextInto({ rel: 'a.ts', abs: path.join(dir, 'a.ts'), size: 1 }, buf);
    expect(buf.toString('utf8', 0, n)).toBe('a');
    const link = { rel: 'secret-link.txt', abs: path.join(dir, 'secret-link.txt'), size: 10 };
    expect(await readTextInto(link, buf)).toBe(-1);
    expect(await readTextInto({ rel: 'a-fifo', abs: path.join(dir, 'a-fifo'), size: 10 }, buf)).toBe(-1);
    const bin = makeTree({ 'x.bin': Buffer.from([65, 0, 66]) });
    try {
      expect(await readTextInto({ rel: 'x.bin', abs: path.join(bin, 'x.bin'), size: 3 }, buf)).toBe(-1);
    } finally {
      removeTree(bin);
    }
  });

  it('never reads outside through a directory swapped for a symlink after the walk', async () => {
    const outsideDir = makeTree({ 'inner.txt': 'TOP SECRET' });
    const tree = makeTree({ 'sub/inner.txt': 'harmless' });
    try {
      const walked = await walkFiles(tree);
      expect(walked.files.map((f) => f.rel)).toEqual(['sub/inner.txt']);
      // sub/ becomes a symlink to a directory outside holding a file of the same name
      execFileSync('mv', [path.join(tree, 'sub'), path.join(tree, 'old-sub')]);
      symlinkSync(outsideDir, path.join(tree, 'sub'));
      const buf = Buffer.alloc(MAX_FILE_BYTES);
      expect(await readTextInto(walked.files[0], buf)).toBe(-1);
      // and a new walk does not enter it
      expect((await walkFiles(tree)).files.map((f) => f.rel)).toEqual(['old-sub/inner.txt']);
    } finally {
      removeTree(tree);
      removeTree(outsideDir);
    }
  });

  it('may be pointed at a node_modules directory itself (only nested ones are skipped)', async () => {
    const r = await walkFiles(path.join(dir, 'node_modules'));
    expect(r.files.map((f) => f.rel)).toEqual(['dep/index.js']);
  });

  it('stops at maxFiles and says so', async () => {
    const r = await walkFiles(dir, { maxFiles: 3 });
    expect(r.files).toHaveLength(3);
    expect(r.truncated).toBe('maxFiles');
  });

  it('stops when the time is up and says so', async () => {
    const r = await walkFiles(dir, { maxMs: -1 });
    expect(r.truncated).toBe('maxMs');
    expect(r.files.length).toBeLessThan(9);
  });

  it('rejects with AnalysisAbortedError when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled'));
    const err: unknown = await walkFiles(dir, { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnalysisAbortedError);
    expect((err as Error).name).toBe('AbortError');
    expect((err as Error).cause).toEqual(new Error('cancelled'));
  });
});
