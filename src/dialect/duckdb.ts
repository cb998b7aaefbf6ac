import { sqlStringLiteral, type Dialect, type HmacKeyRef } from './dialect.ts';

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  supportsDeclarativeExpectations: false,
  regexpMatches: (expr, pattern) => `regexp_matches(${expr}, ${sqlStringLiteral(pattern)})`,
  regexpReplaceAll: (expr, pattern, replacement) =>
    `regexp_replace(${expr}, ${sqlStringLiteral(pattern)}, ${sqlStringLiteral(replacement)}, 'g')`,
  tryParseDate: (expr, formats) =>
    `CAST(try_strptime(${expr}, [${formats.map(sqlStringLiteral).join(', ')}]) AS DATE)`,
  tryCastDouble: (expr) => `TRY_CAST(${expr} AS DOUBLE)`,
  tryCastInteger: (expr) => `TRY_CAST(${expr} AS INTEGER)`,
  yearMonth: (expr) => `strftime(${expr}, '%Y-%m')`,
  hmacSha256Hex: (expr: string, key: HmacKeyRef) => {
    if (!key.ipadHex || !key.opadHex) throw new Error('the DuckDB dialect needs the padded HMAC key blocks');
    return `sha256(unhex('${key.opadHex}') || unhex(sha256(unhex('${key.ipadHex}') || encode(${expr}))))`;
  },
  argMaxNotNull: (value, order) => `arg_max(${value}, ${order}) FILTER (WHERE ${value} IS NOT NULL)`,
  nonNullList: (items) => `list_filter([${items.join(', ')}], x -> x IS NOT NULL)`,
  listHasAny: (list, values) =>
    values.length === 0
      ? 'FALSE'
      : `len(list_intersect(${list}, [${values.map(sqlStringLiteral).join(', ')}])) > 0`,
  epochSeconds: (expr) => `EPOCH(${expr})`,
  editDistance: (a, b) => `levenshtein(${a}, ${b})`,
  daysBetween: (a, b) => `date_diff('day', ${a}, ${b})`,
  hoursBetween: (a, b) => `(date_diff('second', ${a}, ${b}) / 3600.0)`,
  castText: (expr) => `CAST(${expr} AS VARCHAR)`,
  stableHash: (expr) => `hash(${expr})`,
  jsonObject: (fields) => `json_object(${fields.map(([k, v]) => `${sqlStringLiteral(k)}, ${v}`).join(', ')})`,
  jsonObjectValue: (fields) =>
    `json_object(${fields.map(([k, v]) => `${sqlStringLiteral(k)}, ${v}`).join(', ')})`,
  string: sqlStringLiteral,
  ident: (name) => `"${name.replaceAll('"', '""')}"`,
};
