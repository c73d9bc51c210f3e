import type { IssueItem, IssuesResult, MarkerKind } from './analysis-type';
import { forEachFile, type AnalysisContext, type Analyzer } from './analyzer';

export const DEFAULT_MAX_ISSUE_ITEMS = 1000;
export const MAX_MARKER_TEXT = 200;

// Upper-case TODO, FIXME, HACK and XXX as whole words (`\b`: not in TODOS, TODO_LIST or fooTODO), anywhere in
// a text file: comments are not told apart from code, as that would need every language's grammar; a word
// quoted on its own ('TODO', "FIXME": …) is a value, not a marker, and is left out. One marker
// per line (the first). `text` is the rest of that line after the marker, without leading `:`/whitespace or a
// trailing comment closer (`*/`, `-->`), trimmed, at most MAX_MARKER_TEXT characters.
const MARKER = /(["'`]?)\b(TODO|FIXME|HACK|XXX)\b(["'`]?)/g;
const MARKER_WORDS = ['TODO', 'FIXME', 'HACK', 'XXX'].map((w) => Buffer.from(w, 'latin1'));

/** Markers of one file (decoded as latin1 to search, one char per byte, so indexes are byte offsets). */
export function findMarkers(
  file: string,
  content: Buffer,
  limit: number,
): { items: IssueItem[]; count: number } {
  const items: IssueItem[] = [];
  let count = 0;
  // most files have none: native substring searches spare them the decode and the regex
  if (!MARKER_WORDS.some((w) => content.includes(w))) return { items, count };
  const s = content.toString('latin1');
  MARKER.lastIndex = 0;
  let line = 1;
  let counted = 0; // offset up to which newlines are counted into `line`
  for (let m = MARKER.exec(s); m; m = MARKER.exec(s)) {
    if (m[1] && m[3]) continue; // 'TODO' quoted on its own is a value
    const at = m.index + m[1].length;
    for (let nl = s.indexOf('\n', counted); nl !== -1 && nl < at; nl = s.indexOf('\n', nl + 1)) line++;
    let end = s.indexOf('\n', at);
    if (end === -1) end = s.length;
    counted = end;
    count++;
    if (items.length < limit) {
      let text = content
        .toString('utf8', at + m[2].length, end)
        .replace(/^[:\s]+/, '')
        .trimEnd();
      // a trailing comment closer, without a pattern that would retry at every space of a long line
      if (text.endsWith('*/')) text = text.slice(0, -2);
      else if (text.endsWith('-->')) text = text.slice(0, -3);
      text = text.trim();
      if (text.length > MAX_MARKER_TEXT) text = Array.from(text).slice(0, MAX_MARKER_TEXT).join('').trimEnd();
      items.push({ file, line, kind: m[2] as MarkerKind, text });
    }
    MARKER.lastIndex = end;
  }
  return { items, count };
}

export class IssuesAnalyzer implements Analyzer<'issues'> {
  readonly type = 'issues';

  async analyze(ctx: AnalysisContext): Promise<IssuesResult> {
    const cap = ctx.limits?.maxIssueItems ?? DEFAULT_MAX_ISSUE_ITEMS;
    const files = ctx.files;
    const perFile: (IssueItem[] | undefined)[] = new Array(files.length);
    let total = 0;
    // Once the files before some index hold `cap` items, later files only add to `total`.
    let prefixDone = 0;
    let prefixItems = 0;
    let keepBelow = files.length;
    const done: boolean[] = new Array(files.length).fill(false);

    await forEachFile(files, ctx, {
      visit: () => true,
      work: 'issues',
      arg: (i) => (i < keepBelow ? cap : 0),
      compute: (file, content, limit) => findMarkers(file.rel, content, limit),
      result: (_file, { items, count }, i) => {
        total += count;
        // a later file may have been handed out before keepBelow moved below it
        if (items.length && i < keepBelow) perFile[i] = items;
      },
      done: (_file, i) => {
        done[i] = true;
        while (prefixDone < files.length && done[prefixDone]) {
          prefixItems += perFile[prefixDone]?.length ?? 0;
          prefixDone++;
          if (prefixItems >= cap && keepBelow === files.length) keepBelow = prefixDone;
        }
      },
    });

    const items: IssueItem[] = [];
    for (const list of perFile) {
      if (!list) continue;
      for (const it of list) {
        if (items.length >= cap) break;
        items.push(it);
      }
    }
    return { items, total };
  }
}
