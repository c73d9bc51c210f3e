import { insertStatements, joinStatements, placeholders } from './sql';

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
      { sql: 'INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING', params: [1, 'x', 2, null] },
    ]);
    expect(insertStatements('t', ['a'], [[1]], '', 'INSERT IGNORE INTO')).toEqual([
      { sql: 'INSERT IGNORE INTO t (a) VALUES (?)', params: [1] },
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
