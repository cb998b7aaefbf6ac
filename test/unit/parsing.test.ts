/**
 * Numbers and dates as the silver stages parse them (`parseNumber`, `parseWholeNumber`, `parseDate`), on
 * DuckDB. Dates: every supported spelling, month and
 * day with or without their leading zero, two-digit years pivoted on the extract's year, and dates
 * before 1900 refused. The Spark spelling of the same definition is compared by the Spark parity test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duckdbDialect as d } from '../../src/dialect/duckdb.ts';
import type { Dialect } from '../../src/dialect/dialect.ts';
import { parseDate, parseNumber, parseWholeNumber } from '../../src/definitions/sql-helpers.ts';
import { Database } from '../../src/engine/database.ts';

const CASES: readonly (readonly [string, string | null])[] = [
  ['2024-01-05', '2024-01-05'],
  [' 2024-01-05 ', '2024-01-05'],
  ['2024-1-5', '2024-01-05'],
  ['01/05/2024', '2024-01-05'],
  ['1/5/2024', '2024-01-05'],
  ['20240105', '2024-01-05'],
  ['05-Jan-2024', '2024-01-05'],
  ['5-JAN-2024', '2024-01-05'],
  ['2024-01-05T10:20:30Z', '2024-01-05'],
  ['2024-01-05 10:20:30', '2024-01-05'],
  // two-digit years: the latest year ending so that is not after the extract's year (2026)
  ['05-Jan-24', '2024-01-05'],
  ['1/5/26', '2026-01-05'],
  ['12/31/27', '1927-12-31'],
  ['05-JAN-99', '1999-01-05'],
  ['3/4/00', '2000-03-04'],
  // before 1900: a typo or a lost century, not a date
  ['0024-01-05', null],
  ['0000-01-01', null],
  ['9999-12-31', '9999-12-31'],
  ['1899-12-31', null],
  ['1900-01-01', '1900-01-01'],
  ['1/5/202', null],
  // not dates
  ['2024-02-30', null],
  ['2023-02-29', null],
  ['2024-02-29', '2024-02-29'],
  ['2024-13-01', null],
  ['2024-00-10', null],
  ['2024-01-00', null],
  ['13/01/2024', null],
  ['1/5/2', null],
  ['unknown', null],
  ['Infinity', null], // DuckDB's reader alone would give 1900-01-01 for these
  ['-infinity', null],
  ['epoch', null],
  ['2024-01-05\t', null], // Spark's reader refuses what follows a date; DuckDB's would skip it
  ['\u00a01/5/2024\u3000', '2024-01-05'], // Unicode spaces are trimmed on both engines
  ['', null],
];

test('dates parse from every supported spelling, two-digit years pivot on the extract year', async () => {
  const db = await Database.open(':memory:');
  try {
    const values = CASES.map(([v]) => `(${d.string(v)})`).join(', ');
    const rows = await db.all<{ v: string; p: string | null }>(
      `SELECT v, CAST(${parseDate(d, 'v', '_extracted_at')} AS VARCHAR) AS p
       FROM (SELECT v, TIMESTAMP '2026-03-01 09:30:00' AS _extracted_at FROM (VALUES ${values}) t(v))`,
    );
    const got = new Map(rows.map((r) => [r.v, r.p]));
    for (const [v, expected] of CASES) assert.equal(got.get(v), expected, `'${v}'`);
  } finally {
    db.close();
  }
});

test('the ISO fast path reads every YYYY-MM-DD text as the list of formats does', async () => {
  const db = await Database.open(':memory:');
  try {
    assert.ok(d.isoDate, 'the DuckDB dialect reads ISO dates by a fast path');
    const general: Dialect = Object.fromEntries(
      Object.entries(d).filter(([k]) => k !== 'isoDate'),
    ) as unknown as Dialect;
    assert.equal(general.isoDate, undefined);
    // Every month 00-13 and day 00-32 of leap, common and out-of-range years, and near misses.
    const texts = `SELECT printf('%04d-%02d-%02d', y, m, dd) AS v FROM (VALUES (0), (1899), (1900), (2000), (2023), (2024), (2100), (9999)) y(y),
        range(0, 14) m(m), range(0, 33) dd(dd)
      UNION ALL SELECT v FROM (VALUES ('2024-1-05'), ('2024-01-5'), ('20240-1-05'), ('2024/01/05'), ('2024-01-05 '), (NULL)) t(v)`;
    const differ = await db.all<{ v: string | null; fast: string | null; slow: string | null }>(
      `SELECT v, CAST(${parseDate(d, 'v', '_extracted_at')} AS VARCHAR) AS fast,
         CAST(${parseDate(general, 'v', '_extracted_at')} AS VARCHAR) AS slow
       FROM (SELECT v, TIMESTAMP '2026-03-01 09:30:00' AS _extracted_at FROM (${texts}))
       WHERE fast IS DISTINCT FROM slow`,
    );
    assert.deepEqual(differ, []);
    const counted = await db.one<{ n: number; dates: number }>(
      `SELECT COUNT(*) AS n, COUNT(${parseDate(d, 'v', '_extracted_at')}) AS dates
       FROM (SELECT v, TIMESTAMP '2026-03-01 09:30:00' AS _extracted_at FROM (${texts}))`,
    );
    // 8 years x 14 months x 33 days + 6 near misses; the dates are the days of the 6 years from 1900 on
    // (2000 and 2024 leap, 1900 and 2100 not) and 3 near misses (one-digit month or day, a trailing space)
    assert.equal(Number(counted?.n), 8 * 14 * 33 + 6);
    assert.equal(Number(counted?.dates), 6 * 365 + 2 + 3);
  } finally {
    db.close();
  }
});

/** Text, its number and its whole number (NULL: not one). */
const NUMBERS: readonly (readonly [string, number | null, number | null])[] = [
  ['24', 24, 24],
  [' 24.5 ', 24.5, null],
  ['\u00a024.5', 24.5, null],
  ['+3', 3, 3],
  ['-0', -0, 0],
  ['2.0', 2, 2],
  ['2.', 2, 2],
  ['.5', 0.5, null],
  ['2.5', 2.5, null], // DuckDB's own cast would round it to 3
  ['1e3', null, null],
  ['0x1A', null, null], // DuckDB's own cast reads hexadecimal
  ['1F', null, null], // Spark's own cast reads a float suffix
  ['NaN', null, null],
  ['Infinity', null, null],
  ['2,5', null, null],
  ['１２', null, null],
  ['9999999999', 9999999999, null],
  ['-', null, null],
  ['', null, null],
];

test('numbers are read only when written plainly; a whole number may end in .0', async () => {
  const db = await Database.open(':memory:');
  try {
    const values = NUMBERS.map(([v]) => `(${d.string(v)})`).join(', ');
    const rows = await db.all<{ v: string; n: number | null; w: number | null }>(
      `SELECT v, ${parseNumber(d, 'v')} AS n, ${parseWholeNumber(d, 'v')} AS w FROM (VALUES ${values}) t(v)`,
    );
    const got = new Map(rows.map((r) => [r.v, r]));
    for (const [v, n, w] of NUMBERS) {
      assert.equal(got.get(v)?.n ?? null, n, `number '${v}'`);
      assert.equal(got.get(v)?.w ?? null, w, `whole number '${v}'`);
    }
  } finally {
    db.close();
  }
});
