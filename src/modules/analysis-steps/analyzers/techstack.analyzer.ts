import type { LanguageStat, Manifest, TechstackResult } from './analysis-type';
import { compare, forEachFile, type AnalysisContext, type Analyzer } from './analyzer';
import { COUNTED_LANGUAGE_TYPES, languageOfFile } from './languages';
import { isManifest, parseManifest } from './manifests';
import type { FileEntry } from './walker';

/** The per-file work of techstack: the manifest a wanted file declares (null when it is none). */
export function manifestOf(file: Pick<FileEntry, 'rel'>, content: Buffer): Manifest | null {
  return parseManifest(file.rel, content.toString('utf8')) ?? null;
}

/**
 * Languages from file names alone (linguist's filenames and extensions; no content is read for them), counted
 * when their linguist type is programming, markup or data; bytes are file sizes. Manifests are read and parsed.
 */
export class TechstackAnalyzer implements Analyzer<'techstack'> {
  readonly type = 'techstack';

  async analyze(ctx: AnalysisContext): Promise<TechstackResult> {
    const langs = new Map<string, LanguageStat>();
    const manifests: Manifest[] = [];
    await forEachFile(ctx.files, ctx, {
      visit: (file) => {
        const lang = languageOfFile(file);
        if (lang && COUNTED_LANGUAGE_TYPES.has(lang.type)) {
          let s = langs.get(lang.name);
          if (!s) langs.set(lang.name, (s = { name: lang.name, files: 0, bytes: 0 }));
          s.files++;
          s.bytes += file.size;
        }
        return isManifest(file.rel);
      },
      work: 'techstack',
      compute: (file, content) => manifestOf(file, content),
      result: (_file, m) => {
        if (m) manifests.push(m);
      },
    });
    const languages = [...langs.values()].sort((a, b) => b.files - a.files || compare(a.name, b.name));
    manifests.sort((a, b) => compare(a.file, b.file));
    return { languages, manifests };
  }
}
