import { sqlStringLiteral, type Dialect, type HmacKeyRef } from './dialect.ts';

/**
 * The stored type of a column in this engine. Text whose values nearly all differ (ids, hashes,
 * normalised phone numbers and addresses) is stored uncompressed: DuckDB analyses every string column
 * for a dictionary when it writes it, and on such text the analysis costs a third of the write and finds
 * nothing to compress. Measured on 2.15 M identity records: the insert took 3.1 s instead of 4.5 s,
 * fetching 40,000 scattered records 175 ms instead of 270 ms, and the table took a third more blocks.
 * JSON is text too: the match evidence of 2.15 M resolved records was written in 3.0-3.6 CPU-s instead of
 * 3.4-5.0 (four runs each). Text that can hold only the given `values` (a closed set) is an enumeration
 * of them (`enumType`).
 */
export function storedType(type: string, distinctValues = false, values?: readonly string[]): string {
  if (values !== undefined && values.length > 0 && type === 'VARCHAR') return enumType(values);
  return distinctValues && (type === 'VARCHAR' || type === 'JSON')
    ? `${type} USING COMPRESSION uncompressed`
    : type;
}

/**
 * An enumeration of `values`, declared in text order so that the engine, which orders an enumeration by
 * its declaration, sorts and compares its values as it does the texts. A value outside the set fails
 * the write (a conversion error), never stored as something else.
 */
export function enumType(values: readonly string[]): string {
  const sorted = [...new Set(values)].sort();
  return `ENUM(${sorted.map(sqlStringLiteral).join(', ')})`;
}

/** `storedType` of text whose values nearly all differ. */
export const DISTINCT_TEXT = storedType('VARCHAR', true);

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  supportsDeclarativeExpectations: false,
  regexpMatches: (expr, pattern) => `regexp_matches(${expr}, ${sqlStringLiteral(pattern)})`,
  regexpReplaceAll: (expr, pattern, replacement) =>
    `regexp_replace(${expr}, ${sqlStringLiteral(pattern)}, ${sqlStringLiteral(replacement)}, 'g')`,
  regexpGroup: (n) => `\\${n}`,
  trim: (expr) => `TRIM(${expr})`,
  endsWith: (expr, suffix) => `suffix(${expr}, ${suffix})`,
  lower: (expr) => `LOWER(${expr})`,
  upper: (expr) => `UPPER(${expr})`,
  tryParseDate: (expr, formats) =>
    `CAST(try_strptime(${expr}, [${formats.map(sqlStringLiteral).join(', ')}]) AS DATE)`,
  // A glob and a cast instead of trimming and trying a list of formats: 0.3 CPU-s instead of 1.5 for the
  // 3.5 M claim dates of a 1M-people data set (99.9 % of the dates there are ISO).
  isoDate: {
    test: (expr) => `${expr} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'`,
    parse: (expr) => `TRY_CAST(${expr} AS DATE)`,
  },
  tryCastDouble: (expr) => `TRY_CAST(${expr} AS DOUBLE)`,
  tryCastInteger: (expr) => `TRY_CAST(${expr} AS INTEGER)`,
  yearMonth: (expr) => `strftime(${expr}, '%Y-%m')`,
  hmacSha256Hex: (expr: string, key: HmacKeyRef) => {
    if (!key.ipadHex || !key.opadHex) throw new Error('the DuckDB dialect needs the padded HMAC key blocks');
    return `sha256(unhex('${key.opadHex}') || unhex(sha256(unhex('${key.ipadHex}') || encode(${expr}))))`;
  },
  argMaxNotNull: (value, order) => `arg_max(${value}, ${order}) FILTER (WHERE ${value} IS NOT NULL)`,
  nonNullList: (items) => `list_filter([${items.join(', ')}], x -> x IS NOT NULL)`,
  // Not `IN (...)`: the engine plans an IN list of five or more constants as a join of every row against
  // a table of them, even inside a CASE branch the row never reaches (figures in src/dialect/CONTEXT.md).
  oneOf: (expr, values) => `list_contains([${values.map(sqlStringLiteral).join(', ')}], ${expr})`,
  listHasAny: (list, values) =>
    values.length === 0
      ? 'FALSE'
      : `len(list_intersect(${list}, [${values.map(sqlStringLiteral).join(', ')}])) > 0`,
  epochSeconds: (expr) => `EPOCH(${expr})`,
  editDistance: (a, b) => `levenshtein(${a}, ${b})`,
  editDistanceUnits: (expr) => `strlen(${expr})`,
  daysBetween: (a, b) => `date_diff('day', ${a}, ${b})`,
  hoursBetween: (a, b) => `(date_diff('second', ${a}, ${b}) / 3600.0)`,
  castText: (expr) => `CAST(${expr} AS VARCHAR)`,
  stableHash: (...exprs) => `hash(${exprs.join(', ')})`,
  jsonObject: (fields) => `json_object(${fields.map(([k, v]) => `${sqlStringLiteral(k)}, ${v}`).join(', ')})`,
  jsonObjectValue: (fields) =>
    `json_object(${fields.map(([k, v]) => `${sqlStringLiteral(k)}, ${v}`).join(', ')})`,
  string: sqlStringLiteral,
  ident: (name) => `"${name.replaceAll('"', '""')}"`,
};
