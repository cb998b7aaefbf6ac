import { strptimeToSpark, type Dialect, type HmacKeyRef } from './dialect.ts';

/**
 * A Spark SQL string literal. Spark unescapes backslashes in literals (`'\.'` would reach a regexp
 * as `.`) and reads `'a''b'` as two adjacent literals, so both are escaped with a backslash.
 */
export const sparkStringLiteral = (value: string): string =>
  `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const sqlStringLiteral = sparkStringLiteral;

/** A text as one Latin-1 character per byte of its UTF-8 form. */
const utf8Bytes = (expr: string): string => `decode(encode(${expr}, 'UTF-8'), 'ISO-8859-1')`;

/** The Unicode space separators (category Zs), each as a `\uXXXX` escape of a Spark SQL string. */
const ZS_ESCAPED = [
  0x20,
  0xa0,
  0x1680,
  ...Array.from({ length: 11 }, (_, i) => 0x2000 + i),
  0x202f,
  0x205f,
  0x3000,
]
  .map((c) => `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`)
  .join('');

/** Databricks SQL (Spark SQL) spelling, used by the bundle renderer. */
export const databricksDialect: Dialect = {
  name: 'databricks',
  supportsDeclarativeExpectations: true,
  regexpMatches: (expr, pattern) => `(${expr} RLIKE ${sqlStringLiteral(pattern)})`,
  regexpReplaceAll: (expr, pattern, replacement) =>
    `regexp_replace(${expr}, ${sqlStringLiteral(pattern)}, ${sqlStringLiteral(replacement)})`,
  regexpGroup: (n) => `$${n}`,
  trim: (expr) => `trim(BOTH '${ZS_ESCAPED}' FROM ${expr})`,
  endsWith: (expr, suffix) => `endswith(${expr}, ${suffix})`,
  lower: (expr) => `lower(replace(${expr}, '\\u0130', 'I'))`,
  upper: (expr) => `upper(replace(${expr}, '\\u00DF', '\\u1E9E'))`,
  tryParseDate: (expr, formats) =>
    `coalesce(${formats.map((f) => `to_date(try_to_timestamp(${expr}, ${sqlStringLiteral(strptimeToSpark(f))}))`).join(', ')})`,
  tryCastDouble: (expr) => `try_cast(${expr} AS DOUBLE)`,
  tryCastInteger: (expr) => `try_cast(${expr} AS INT)`,
  yearMonth: (expr) => `date_format(${expr}, 'yyyy-MM')`,
  hmacSha256Hex: (expr: string, key: HmacKeyRef) => {
    const secret =
      key.keyHexSql ??
      `secret(${sqlStringLiteral(key.secretScope ?? 'carelake')}, ${sqlStringLiteral(key.secretKey ?? 'ssn-hmac-key')})`;
    // RFC 2104 with the key zero-padded to the 64-byte block: the same bytes as the local engine.
    const padded = `rpad(${secret}, 128, '0')`;
    const xorBlock = (byte: string): string =>
      `unhex(concat_ws('', transform(sequence(0, 63), i -> lpad(hex(conv(substr(${padded}, i * 2 + 1, 2), 16, 10) ^ ${byte}), 2, '0'))))`;
    return `sha2(concat(${xorBlock('92')}, unhex(sha2(concat(${xorBlock('54')}, encode(${expr}, 'UTF-8')), 256))), 256)`;
  },
  argMaxNotNull: (value, order) => `max_by(${value}, ${order}) FILTER (WHERE ${value} IS NOT NULL)`,
  nonNullList: (items) => `filter(array(${items.join(', ')}), x -> x IS NOT NULL)`,
  oneOf: (expr, values) => `${expr} IN (${values.map(sqlStringLiteral).join(', ')})`,
  listHasAny: (list, values) =>
    values.length === 0
      ? 'FALSE'
      : `arrays_overlap(${list}, array(${values.map(sqlStringLiteral).join(', ')}))`,
  epochSeconds: (expr) => `UNIX_TIMESTAMP(${expr})`,
  // Counted in UTF-8 bytes, as DuckDB's levenshtein counts them: each byte read back as one Latin-1
  // character (Spark's levenshtein counts characters, so 'josé' and 'jose' would be 1 apart here and 2
  // on the local engine, and the two engines would link accented names differently).
  editDistance: (a, b) => `levenshtein(${utf8Bytes(a)}, ${utf8Bytes(b)})`,
  editDistanceUnits: (expr) => `octet_length(${expr})`,
  daysBetween: (a, b) => `datediff(${b}, ${a})`,
  // A DOUBLE divisor: `/ 3600.0` would be DECIMAL arithmetic in Spark (DuckDB divides as DOUBLE).
  hoursBetween: (a, b) => `((unix_timestamp(${b}) - unix_timestamp(${a})) / CAST(3600 AS DOUBLE))`,
  castText: (expr) => `CAST(${expr} AS STRING)`,
  stableHash: (...exprs) => `xxhash64(${exprs.join(', ')})`,
  // NULL values are kept as `null` (Spark drops them by default), as DuckDB's json_object does.
  jsonObject: (fields) =>
    `to_json(named_struct(${fields.map(([k, v]) => `${sqlStringLiteral(k)}, ${v}`).join(', ')}), map('ignoreNullFields', 'false'))`,
  jsonObjectValue: (fields) =>
    `named_struct(${fields.map(([k, v]) => `${sqlStringLiteral(k)}, ${v}`).join(', ')})`,
  string: sqlStringLiteral,
  ident: (name) => `\`${name.replaceAll('`', '``')}\``,
};
