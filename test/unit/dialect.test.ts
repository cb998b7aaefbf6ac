import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { databricksDialect } from '../../src/dialect/databricks.ts';
import { strptimeToSpark, type Dialect } from '../../src/dialect/dialect.ts';

/** Expected SQL per dialect: a new dialect cannot be added without saying what each case renders to. */
const cases: { name: string; render: (d: Dialect) => string; expected: Record<Dialect['name'], string> }[] = [
  {
    name: 'regexp match',
    render: (d) => d.regexpMatches('code', '^[A-Z]$'),
    expected: { duckdb: "regexp_matches(code, '^[A-Z]$')", databricks: "(code RLIKE '^[A-Z]$')" },
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
        "coalesce(to_date(try_to_timestamp(x, 'yyyy-MM-dd')), to_date(try_to_timestamp(x, 'dd-MMM-yyyy')))",
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
    expected: { duckdb: 'levenshtein(l.fn, r.fn)', databricks: 'levenshtein(l.fn, r.fn)' },
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
  assert.equal(strptimeToSpark('%m/%d/%Y'), 'MM/dd/yyyy');
  assert.equal(strptimeToSpark('%Y%m%d'), 'yyyyMMdd');
  assert.equal(strptimeToSpark('%Y-%m-%dT%H:%M:%SZ'), "yyyy-MM-dd'T'HH:mm:ss'Z'");
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
