/** One import statement: `import a.b, c` or `from ..pkg import x, y`. */
export type PythonImport =
  { kind: 'import'; modules: string[] } | { kind: 'from'; level: number; module: string; names: string[] };

const ID_START = /[A-Za-z_\u0080-\uffff]/;
const ID_PART = /[A-Za-z0-9_\u0080-\uffff]/;

/**
 * The import statements of Python source, found by a small tokenizer: strings (also triple-quoted, so
 * docstrings are skipped), comments, bracket nesting, backslash continuations and `;` are honoured, and only
 * `import`/`from` at the start of a logical line count — also inside functions and `if`/`try` blocks.
 */
export function pythonImports(src: string): PythonImport[] {
  const out: PythonImport[] = [];
  const n = src.length;
  let i = 0;
  let depth = 0;
  let lineStart = true;
  while (i < n) {
    const c = src[i];
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      i = skipString(src, i);
      lineStart = false;
    } else if (c === '\n') {
      if (depth === 0) lineStart = true;
      i++;
    } else if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      i += src[i + 1] === '\n' ? 2 : 3;
    } else if (c === ';' && depth === 0) {
      lineStart = true;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
    } else if (ID_START.test(c)) {
      let j = i + 1;
      while (j < n && ID_PART.test(src[j])) j++;
      const word = src.slice(i, j);
      // a string prefix (r"", b'', f"""…""", …) belongs to the string that follows
      if (j < n && (src[j] === '"' || src[j] === "'") && /^[rRbBuUfF]{1,2}$/.test(word)) {
        i = skipString(src, j);
        lineStart = false;
        continue;
      }
      if (lineStart && depth === 0 && (word === 'import' || word === 'from')) {
        const end = statementEnd(src, j);
        const stmt = parseStatement(word, src.slice(j, end));
        if (stmt) out.push(stmt);
        i = end;
        continue;
      }
      lineStart = false;
      i = j;
    } else {
      if (c === '(' || c === '[' || c === '{') depth++;
      else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
      lineStart = false;
      i++;
    }
  }
  return out;
}

function skipString(src: string, i: number): number {
  const q = src[i];
  const triple = src.startsWith(q + q + q, i);
  const close = triple ? q + q + q : q;
  let j = i + close.length;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') j += 2;
    else if (src.startsWith(close, j)) return j + close.length;
    else if (!triple && c === '\n')
      return j; // unterminated: stop at the line end
    else j++;
  }
  return j;
}

/** End of the statement that starts at `i`: a newline outside brackets (continuations and comments skipped). */
function statementEnd(src: string, i: number): number {
  let depth = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '\\' && (src[i + 1] === '\n' || src[i + 1] === '\r')) i += src[i + 1] === '\r' ? 3 : 2;
    else if ((c === '\n' || c === ';') && depth === 0) return i;
    else {
      if (c === '(') depth++;
      else if (c === ')') depth = Math.max(0, depth - 1);
      i++;
    }
  }
  return i;
}

const DOTTED = /^[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*(\.[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)*$/;

function names(list: string): string[] {
  return list
    .split(',')
    .map((x) =>
      x
        .trim()
        .split(/\s+as\s+/)[0]
        .trim(),
    )
    .filter((x) => x === '*' || DOTTED.test(x));
}

function parseStatement(word: 'import' | 'from', rest: string): PythonImport | undefined {
  const text = rest
    .replace(/#[^\n]*/g, ' ')
    .replace(/\\\r?\n/g, ' ')
    .replace(/[()]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (word === 'import') {
    const modules = names(text);
    return modules.length ? { kind: 'import', modules } : undefined;
  }
  // `from <dots> <module> import <names>`, read left to right: the dots and the module are both runs that may
  // hold dots, so one pattern for both would try every split of a run of dots (quadratic)
  let level = 0;
  while (text[level] === '.') level++;
  const head = /\s*([\w.\u0080-\uffff]+)/y;
  const tail = /\s+import\s+(.+)$/y;
  head.lastIndex = level;
  let module = head.exec(text)?.[1] ?? '';
  tail.lastIndex = module ? head.lastIndex : level;
  let m = tail.exec(text);
  if (!m && module) {
    // `from . import x`: what looked like the module was the keyword
    module = '';
    tail.lastIndex = level;
    m = tail.exec(text);
  }
  if (!m || (!level && !module)) return undefined;
  return { kind: 'from', level, module, names: names(m[1]) };
}
