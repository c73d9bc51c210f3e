import { RawJson } from '../common/json/raw-json';
import { insertStatements, joinStatements, MAX_STATEMENT_BYTES, placeholders } from './sql';

describe('insertStatements', () => {
  it('writes one multi-row statement with the rows’ values in order', () => {
    expect(
      insertStatements(
        't',
        ['a', 'b'],
        [
          [1, 'x'],
          [2, null],
        ],
        ' ON CONFLICT DO NOTHING',
      ),
    ).toEqual([
      {
        sql: 'INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING',
        params: [1, 'x', 2, null],
        paramBytes: 8 + 1 + 8 + 8,
      },
    ]);
    expect(insertStatements('t', ['a'], [[1]], '', 'INSERT IGNORE INTO')).toEqual([
      { sql: 'INSERT IGNORE INTO t (a) VALUES (?)', params: [1], paramBytes: 8 },
    ]);
  });

  it('writes nothing for no rows', () => {
    expect(insertStatements('t', ['a', 'b'], [])).toEqual([]);
  });

  it('splits the rows so that no statement has more than 12,000 placeholders', () => {
    const columns = ['a', 'b', 'c', 'd', 'e', 'f', 'g']; // 1,714 rows a statement
    const rows = Array.from({ length: 4000 }, (_, i) => columns.map((_c, j) => i * 10 + j));
    const out = insertStatements('t', columns, rows);
    expect(out.map((st) => st.params.length / columns.length)).toEqual([1714, 1714, 572]);
    for (const st of out) expect(st.sql.split('?').length - 1).toBe(st.params.length);
    expect(out.flatMap((st) => st.params)).toEqual(rows.flat());
  });
});

describe('insertStatements by size', () => {
  it('ends a statement once its values pass MAX_STATEMENT_BYTES, keeping every row once and in order', () => {
    const big = 'x'.repeat(900 * 1024);
    // 20 rows of ~1.8 MB (a step result and its event's copy): 36 MB in one statement before
    const rows = Array.from({ length: 20 }, (_, i) => [i, big, new RawJson(`"${big}"`)]);
    const out = insertStatements('t', ['n', 's', 'j'], rows);
    expect(out.length).toBeGreaterThan(1);
    for (const st of out) {
      const bytes = st.params.reduce(
        (n: number, v) => n + (typeof v === 'string' ? v.length : v instanceof RawJson ? v.text.length : 8),
        0,
      );
      // past the limit by at most the row that crossed it
      expect(bytes).toBeLessThanOrEqual(MAX_STATEMENT_BYTES + 2 * big.length + 16);
      // the size the round trip's cut reads instead of counting the values again
      expect(st.paramBytes).toBe(bytes);
      expect(st.sql.split('(?, ?, ?)').length - 1).toBe(st.params.length / 3);
    }
    expect(out.flatMap((st) => st.params.filter((_, k) => k % 3 === 0))).toEqual(rows.map((r) => r[0]));
  });

  it('keeps a single row over the limit as one statement of its own', () => {
    const huge = 'y'.repeat(MAX_STATEMENT_BYTES + 10);
    const out = insertStatements('t', ['a'], [[huge], ['small']]);
    expect(out.map((st) => st.params)).toEqual([[huge], ['small']]);
  });
});

describe('placeholders', () => {
  it('lists n placeholders', () => {
    expect(placeholders(0)).toBe('');
    expect(placeholders(1)).toBe('?');
    expect(placeholders(3)).toBe('?, ?, ?');
  });
});

describe('joinStatements', () => {
  it('joins the statements between head and tail, with their params in order', () => {
    expect(
      joinStatements(
        ['START TRANSACTION'],
        [
          { sql: 'SELECT ?', params: [1] },
          { sql: 'UPDATE t SET a = ? WHERE b = ?', params: ['x', null] },
        ],
        ['COMMIT'],
      ),
    ).toEqual({
      sql: 'START TRANSACTION;\nSELECT ?;\nUPDATE t SET a = ? WHERE b = ?;\nCOMMIT',
      params: [1, 'x', null],
    });
  });

  it('sends one statement as it is', () => {
    expect(joinStatements([], [{ sql: 'SELECT ?', params: [1] }])).toEqual({ sql: 'SELECT ?', params: [1] });
    expect(joinStatements([], [], ['COMMIT'])).toEqual({ sql: 'COMMIT', params: [] });
  });
});
