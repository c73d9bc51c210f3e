/**
 * The part of TOML that package manifests use (Cargo.toml, pyproject.toml, Pipfile): tables, arrays of tables,
 * dotted and quoted keys, basic/literal/multi-line strings, arrays, inline tables, booleans and numbers.
 * Dates and times come back as their raw text. Tables are null-prototype objects (a `__proto__` key is data).
 */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlError extends Error {
  override readonly name = 'TomlError';
}

export function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const table = (): TomlTable => Object.create(null) as TomlTable;
const BARE = /[A-Za-z0-9_-]/;

export function parseToml(src: string): TomlTable {
  return new Parser(src.replace(/^\uFEFF/, '')).parse();
}

class Parser {
  private i = 0;
  private readonly root = table();
  constructor(private readonly s: string) {}

  parse(): TomlTable {
    let current = this.root;
    for (;;) {
      this.skipBlank(true);
      if (this.i >= this.s.length) return this.root;
      if (this.s[this.i] === '[') {
        const isArray = this.s[this.i + 1] === '[';
        this.i += isArray ? 2 : 1;
        const keys = this.key();
        this.expect(isArray ? ']]' : ']');
        current = isArray ? this.arrayTable(keys) : this.descend(this.root, keys);
      } else {
        const keys = this.key();
        this.skipBlank(false);
        this.expect('=');
        this.skipBlank(false);
        this.assign(current, keys, this.value());
      }
      this.skipBlank(false);
      if (this.i < this.s.length && this.s[this.i] !== '\n' && this.s[this.i] !== '\r')
        this.fail('expected the end of the line');
    }
  }

  private fail(msg: string): never {
    const line = this.s.slice(0, this.i).split('\n').length;
    throw new TomlError(`line ${line}: ${msg}`);
  }

  private expect(tok: string): void {
    if (!this.s.startsWith(tok, this.i)) this.fail(`expected "${tok}"`);
    this.i += tok.length;
  }

  /** Skips spaces, tabs and comments; with `newlines`, line breaks too. */
  private skipBlank(newlines: boolean): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) this.i++;
      else if (c === '#') while (this.i < s.length && s[this.i] !== '\n') this.i++;
      else break;
    }
  }

  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipBlank(false);
      const c = this.s[this.i];
      if (c === '"') parts.push(this.basicString());
      else if (c === "'") parts.push(this.literalString());
      else {
        const start = this.i;
        while (this.i < this.s.length && BARE.test(this.s[this.i])) this.i++;
        if (start === this.i) this.fail('expected a key');
        parts.push(this.s.slice(start, this.i));
      }
      this.skipBlank(false);
      if (this.s[this.i] !== '.') return parts;
      this.i++;
    }
  }

  /** The table at `keys` below `from`, created as needed; an array of tables resolves to its last element. */
  private descend(from: TomlTable, keys: string[]): TomlTable {
    let t = from;
    for (const k of keys) {
      let v = t[k];
      if (v === undefined) v = t[k] = table();
      if (Array.isArray(v)) v = v[v.length - 1];
      if (!isTable(v)) this.fail(`"${k}" is not a table`);
      t = v;
    }
    return t;
  }

  private arrayTable(keys: string[]): TomlTable {
    const parent = this.descend(this.root, keys.slice(0, -1));
    const last = keys[keys.length - 1];
    const arr = (parent[last] ??= []);
    if (!Array.isArray(arr)) this.fail(`"${last}" is not an array of tables`);
    const t = table();
    arr.push(t);
    return t;
  }

  private assign(t: TomlTable, keys: string[], v: TomlValue): void {
    const parent = this.descend(t, keys.slice(0, -1));
    parent[keys[keys.length - 1]] = v;
  }

  private value(): TomlValue {
    const s = this.s;
    const c = s[this.i];
    if (c === '"') return s.startsWith('"""', this.i) ? this.multiline('"""') : this.basicString();
    if (c === "'") return s.startsWith("'''", this.i) ? this.multiline("'''") : this.literalString();
    if (c === '[') {
      this.i++;
      const arr: TomlValue[] = [];
      for (;;) {
        this.skipBlank(true);
        if (s[this.i] === ']') break;
        arr.push(this.value());
        this.skipBlank(true);
        if (s[this.i] === ',') this.i++;
        else if (s[this.i] !== ']') this.fail('expected "," or "]"');
      }
      this.i++;
      return arr;
    }
    if (c === '{') {
      this.i++;
      const t = table();
      this.skipBlank(false);
      if (s[this.i] === '}') {
        this.i++;
        return t;
      }
      for (;;) {
        const keys = this.key();
        this.expect('=');
        this.skipBlank(false);
        this.assign(t, keys, this.value());
        this.skipBlank(false);
        if (s[this.i] === ',') this.i++;
        else if (s[this.i] === '}') {
          this.i++;
          return t;
        } else this.fail('expected "," or "}"');
      }
    }
    const start = this.i;
    while (this.i < s.length && !/[\s,\]}#]/.test(s[this.i])) this.i++;
    const raw = s.slice(start, this.i);
    if (!raw) this.fail('expected a value');
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    if (/^[+-]?(\d[\d_]*)(\.\d[\d_]*)?([eE][+-]?\d+)?$/.test(raw)) return Number(raw.replace(/_/g, ''));
    return raw;
  }

  private literalString(): string {
    const end = this.s.indexOf("'", this.i + 1);
    const nl = this.s.indexOf('\n', this.i + 1);
    if (end === -1 || (nl !== -1 && nl < end)) this.fail('unterminated string');
    const v = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return v;
  }

  /**
   * Plain runs are copied with one slice each, not a character at a time: a 1 MiB string built by `+=` per
   * character is a million-node rope that costs superlinear GC time to build and flatten.
   */
  private basicString(): string {
    const s = this.s;
    this.i++;
    let out = '';
    for (;;) {
      const start = this.i;
      let c = s.charCodeAt(this.i);
      while (c !== 0x22 && c !== 0x5c && c !== 0x0a && this.i < s.length) c = s.charCodeAt(++this.i);
      if (this.i > start) out += s.slice(start, this.i);
      if (this.i >= s.length || c === 0x0a) this.fail('unterminated string');
      this.i++;
      if (c === 0x22) return out;
      out += this.escape();
    }
  }

  private multiline(delim: '"""' | "'''"): string {
    this.i += 3;
    if (this.s[this.i] === '\r') this.i++;
    if (this.s[this.i] === '\n') this.i++;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail('unterminated string');
      if (this.s.startsWith(delim, this.i)) {
        // up to two quotes right before the closing delimiter belong to the string
        let extra = 0;
        while (extra < 2 && this.s[this.i + 3 + extra] === delim[0]) extra++;
        out += delim[0].repeat(extra);
        this.i += 3 + extra;
        return out;
      }
      // a plain run up to the next quote or backslash, in one slice
      const start = this.i;
      while (this.i < this.s.length && this.s[this.i] !== delim[0] && this.s[this.i] !== '\\') this.i++;
      if (this.i > start) {
        out += this.s.slice(start, this.i);
        continue;
      }
      const c = this.s[this.i++];
      if (c === '\\' && delim === '"""') {
        if (/^[ \t]*\r?\n/.test(this.s.slice(this.i, this.i + 64))) {
          while (/\s/.test(this.s[this.i] ?? '')) this.i++;
        } else out += this.escape();
      } else out += c;
    }
  }

  private escape(): string {
    const c = this.s[this.i++];
    switch (c) {
      case 'b':
        return '\b';
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'f':
        return '\f';
      case 'r':
        return '\r';
      case 'e':
        return '\x1b';
      case '"':
        return '"';
      case '\\':
        return '\\';
      case 'x':
      case 'u':
      case 'U': {
        const len = c === 'x' ? 2 : c === 'u' ? 4 : 8;
        const hex = this.s.slice(this.i, this.i + len);
        if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) this.fail('bad escape');
        this.i += len;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('bad escape');
        return String.fromCodePoint(cp);
      }
      default:
        return this.fail('bad escape');
    }
  }
}
