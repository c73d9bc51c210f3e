import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A scratch directory under the OS temp dir (realpath'd), filled from `{ 'a/b.ts': 'content' }`. */
export function makeTree(files: Record<string, string | Buffer>, prefix = 'stepline-analysis-'): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), prefix)));
  writeTree(dir, files);
  return dir;
}

export function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

export function removeTree(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
