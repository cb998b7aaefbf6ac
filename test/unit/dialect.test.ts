import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { databricksDialect } from '../../src/dialect/databricks.ts';
import { strptimeToSpark, type Dialect } from '../../src/dialect/dialect.ts';
import { Database } from '../../src/engine/database.ts';

/** Expected SQL per dialect: a new dialect cannot be added without saying what each case renders to. */
const cases: { name: string; render: (d: Dialect) => string; expected: Record<Dialect['name'], string> }[] = [
  {
    name: 'regexp match',
    render: (d) => d.regexpMatches('code', '^[A-Z]$'),
    expected: { duckdb: "regexp_matches(code, '^[A-Z]$')", databricks: "(code RLIKE '^[A-Z]$')" },
  },
  {
    name: 'regexp group in a replacement',
    render: (d) => d.regexpReplaceAll('x', '(a)', `${d.regexpGroup(1)}!`),
    expected: {
      duckdb: "regexp_replace(x, '(a)', '\\1!', 'g')",
      databricks: "regexp_replace(x, '(a)', '$1!')",
    },
  },
  {
    name: 'trim spaces (Unicode space separators)',
    render: (d) => d.trim('x'),
    expected: {
      duckdb: 'TRIM(x)',
      databricks:
        "trim(BOTH '\\u0020\\u00A0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008\\u2009\\u200A\\u202F\\u205F\\u3000' FROM x)",
    },
  },
  {
    name: 'lower and upper case, one character for one',
    render: (d) => `${d.lower('x')} ${d.upper('y')}`,
    expected: {
      duckdb: 'LOWER(x) UPPER(y)',
      databricks: "lower(replace(x, '\\u0130', 'I')) upper(replace(y, '\\u00DF', '\\u1E9E'))",
    },
  },
  {
    name: 'regexp replace all',
    render: (d) => d.regexpReplaceAll('phone', '[^0-9]', ''),
    expected: {
      duckdb: "regexp_replace(phone, '[^0-9]', '', 'g')",
      databricks: "regexp_replace(phone, '[^0-9]', '')",
    },
  },
  {
    name: 'date parsing',
    render: (d) => d.tryParseDate('x', ['%Y-%m-%d', '%d-%b-%Y']),
    expected: {
      duckdb: "CAST(try_strptime(x, ['%Y-%m-%d', '%d-%b-%Y']) AS DATE)",
      databricks:
        "coalesce(to_date(try_to_timestamp(x, 'yyyy-M-d')), to_date(try_to_timestamp(x, 'd-MMM-yyyy')))",
    },
  },
  {
    name: 'ISO date fast path',
    render: (d) => (d.isoDate ? `${d.isoDate.test('x')} ${d.isoDate.parse('x')}` : 'none'),
    expected: {
      duckdb: "x GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' TRY_CAST(x AS DATE)",
      databricks: 'none',
    },
  },
  {
    name: 'one of a set of texts',
    render: (d) => d.oneOf('LOWER(smoker)', ['yes', "y'"]),
    expected: {
      duckdb: "list_contains(['yes', 'y'''], LOWER(smoker))",
      databricks: "LOWER(smoker) IN ('yes', 'y\\'')",
    },
  },
  {
    name: 'year-month',
    render: (d) => d.yearMonth('claim_date'),
    expected: { duckdb: "strftime(claim_date, '%Y-%m')", databricks: "date_format(claim_date, 'yyyy-MM')" },
  },
  {
    name: 'string literal escaping',
    render: (d) => d.string("O'Brien"),
    expected: { duckdb: "'O''Brien'", databricks: "'O\\'Brien'" },
  },
  {
    name: 'backslashes reach a regexp intact',
    render: (d) => d.regexpMatches('x', '^\\s+\\.$'),
    expected: { duckdb: "regexp_matches(x, '^\\s+\\.$')", databricks: "(x RLIKE '^\\\\s+\\\\.$')" },
  },
  {
    name: 'list of the non-NULL values',
    render: (d) => d.nonNullList(['a', 'b']),
    expected: {
      duckdb: 'list_filter([a, b], x -> x IS NOT NULL)',
      databricks: 'filter(array(a, b), x -> x IS NOT NULL)',
    },
  },
  {
    name: 'list holds any of some values',
    render: (d) => d.listHasAny('l', ['r1', 'r2']),
    expected: {
      duckdb: "len(list_intersect(l, ['r1', 'r2'])) > 0",
      databricks: "arrays_overlap(l, array('r1', 'r2'))",
    },
  },
  {
    name: 'list holds any of no values',
    render: (d) => d.listHasAny('l', []),
    expected: { duckdb: 'FALSE', databricks: 'FALSE' },
  },
  {
    name: 'epoch seconds',
    render: (d) => d.epochSeconds('t'),
    expected: { duckdb: 'EPOCH(t)', databricks: 'UNIX_TIMESTAMP(t)' },
  },
  {
    name: 'identifier quoting',
    render: (d) => d.ident('we"ird`name'),
    expected: { duckdb: '"we""ird`name"', databricks: '`we"ird``name`' },
  },
  {
    name: 'arg max of non-null values',
    render: (d) => d.argMaxNotNull('bmi', 'p'),
    expected: {
      duckdb: 'arg_max(bmi, p) FILTER (WHERE bmi IS NOT NULL)',
      databricks: 'max_by(bmi, p) FILTER (WHERE bmi IS NOT NULL)',
    },
  },
  {
    name: 'edit distance',
    render: (d) => d.editDistance('l.fn', 'r.fn'),
    expected: {
      duckdb: 'levenshtein(l.fn, r.fn)',
      databricks:
        "levenshtein(decode(encode(l.fn, 'UTF-8'), 'ISO-8859-1'), decode(encode(r.fn, 'UTF-8'), 'ISO-8859-1'))",
    },
  },
  {
    name: 'edit distance units',
    render: (d) => d.editDistanceUnits('l.fn'),
    expected: { duckdb: 'strlen(l.fn)', databricks: 'octet_length(l.fn)' },
  },
  {
    name: 'days between dates',
    render: (d) => d.daysBetween('a', 'b'),
    expected: { duckdb: "date_diff('day', a, b)", databricks: 'datediff(b, a)' },
  },
  {
    name: 'hours between timestamps',
    render: (d) => d.hoursBetween('a', 'b'),
    expected: {
      duckdb: "(date_diff('second', a, b) / 3600.0)",
      databricks: '((unix_timestamp(b) - unix_timestamp(a)) / CAST(3600 AS DOUBLE))',
    },
  },
  {
    name: 'cast to text',
    render: (d) => d.castText('dob'),
    expected: { duckdb: 'CAST(dob AS VARCHAR)', databricks: 'CAST(dob AS STRING)' },
  },
  {
    name: 'stable hash',
    render: (d) => d.stableHash('rid'),
    expected: { duckdb: 'hash(rid)', databricks: 'xxhash64(rid)' },
  },
  {
    name: 'stable hash of several values',
    render: (d) => d.stableHash('t.ln', 'year(t.dob)'),
    expected: { duckdb: 'hash(t.ln, year(t.dob))', databricks: 'xxhash64(t.ln, year(t.dob))' },
  },
  {
    name: 'json object',
    render: (d) =>
      d.jsonObject([
        ['a', 'x'],
        ['b', '1'],
      ]),
    expected: {
      duckdb: "json_object('a', x, 'b', 1)",
      databricks: "to_json(named_struct('a', x, 'b', 1), map('ignoreNullFields', 'false'))",
    },
  },
  {
    name: 'json object nested in another',
    render: (d) => d.jsonObjectValue([['a', 'x']]),
    expected: { duckdb: "json_object('a', x)", databricks: "named_struct('a', x)" },
  },
];

for (const dialect of [duckdbDialect, databricksDialect]) {
  for (const c of cases) {
    test(`${dialect.name}: ${c.name}`, () => {
      assert.equal(c.render(dialect), c.expected[dialect.name]);
    });
  }
}

test('strptime formats convert to Spark patterns', () => {
  assert.equal(strptimeToSpark('%m/%d/%Y'), 'M/d/yyyy');
  assert.equal(strptimeToSpark('%Y%m%d'), 'yyyyMMdd');
  assert.equal(strptimeToSpark('%d-%b-%Y'), 'd-MMM-yyyy');
  assert.equal(strptimeToSpark('%Y-%m-%dT%H:%M:%SZ'), "yyyy-M-d'T'H:m:s'Z'");
  assert.equal(strptimeToSpark('%y%m%d_%H%M'), "yyMMdd'_'HHmm");
});

test('the DuckDB HMAC needs the padded key blocks', () => {
  assert.throws(() => duckdbDialect.hmacSha256Hex('x', {}), /padded HMAC key/);
  assert.match(
    databricksDialect.hmacSha256Hex('x', { secretScope: 's', secretKey: 'k' }),
    /secret\('s', 'k'\)/,
  );
});

test('the Databricks HMAC can read its key from an SQL expression instead of a secret', () => {
  const sql = databricksDialect.hmacSha256Hex('x', { keyHexSql: "'00ff'" });
  assert.doesNotMatch(sql, /secret\(/);
  assert.match(sql, /rpad\('00ff', 128, '0'\)/);
});

test('DuckDB: oneOf means IN (NULL for NULL) and is evaluated per row, not planned as a join against the set', async () => {
  const db = await Database.open(':memory:');
  try {
    const set = ['99281', '99282', '99283', '99284', '99285', '99221'];
    const rows = await db.all<{ v: string | null; one_of: boolean | null; in_list: boolean | null }>(
      `SELECT v, ${duckdbDialect.oneOf('v', set)} AS one_of, v IN (${set.map(duckdbDialect.string).join(', ')}) AS in_list
       FROM (VALUES ('99283'), ('99221'), ('99286'), (''), (NULL)) t(v) ORDER BY v NULLS LAST`,
    );
    assert.deepEqual(
      rows.map((r) => [r.v, r.one_of]),
      [
        ['', false],
        ['99221', true],
        ['99283', true],
        ['99286', false],
        [null, null],
      ],
    );
    for (const r of rows) assert.equal(r.one_of, r.in_list, `the same as IN for ${String(r.v)}`);
    // The engine plans an IN list of five or more constants as a join; oneOf stays an expression.
    const plan = async (expr: string): Promise<string> =>
      (
        await db.all<{ explain_value: string }>(
          `EXPLAIN SELECT CASE WHEN ${expr} THEN 1 END FROM range(10) r(x)`,
        )
      )
        .map((r) => r.explain_value)
        .join('\n');
    const text = 'CAST(x AS VARCHAR)';
    assert.match(await plan(`${text} IN (${set.map(duckdbDialect.string).join(', ')})`), /HASH_JOIN/);
    assert.doesNotMatch(await plan(duckdbDialect.oneOf(text, set)), /HASH_JOIN/);
  } finally {
    db.close();
  }
});
