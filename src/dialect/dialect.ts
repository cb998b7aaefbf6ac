/**
 * How one SQL engine spells the few things that differ between engines. Definitions build their
 * expressions through a Dialect, so the same definition renders for DuckDB and for Databricks.
 * Capability flags say what an engine can do natively instead of scattered `if`s.
 */
export interface Dialect {
  readonly name: 'duckdb' | 'databricks';
  /** True when the engine enforces expectations itself (Lakeflow `CONSTRAINT … EXPECT`). */
  readonly supportsDeclarativeExpectations: boolean;
  /** `expr` matches the regular expression `pattern` (anywhere; anchor it yourself). */
  regexpMatches(expr: string, pattern: string): string;
  /** Replaces every match of `pattern` in `expr`. */
  regexpReplaceAll(expr: string, pattern: string, replacement: string): string;
  /** How a `regexpReplaceAll` replacement names the text of capture group `n` of the match. */
  regexpGroup(n: number): string;
  /**
   * `expr` without leading and trailing spaces: U+0020 and the other Unicode space separators (category
   * Zs: no-break, em, ideographic, ...), not tabs or line breaks. DuckDB's TRIM strips exactly those;
   * Spark's strips U+0020 only.
   */
  trim(expr: string): string;
  /** TRUE when text `expr` ends with text `suffix`. */
  endsWith(expr: string, suffix: string): string;
  /**
   * Lower case, one character for one (simple case mapping, DuckDB's). Spark maps İ to two characters
   * (i and a combining dot); a final Σ becomes ς in Spark and σ in DuckDB (left: rewriting it would
   * break lower-case Greek, which spells its final sigma ς).
   */
  lower(expr: string): string;
  /** Upper case, one character for one (DuckDB's: ß becomes ẞ; Spark's would be SS). */
  upper(expr: string): string;
  /** Parses text as a DATE, trying the given strptime-style formats in order; NULL when none fits. */
  tryParseDate(expr: string, formats: readonly string[]): string;
  /**
   * Where the engine has a cheaper way to read the common case: `test` is TRUE when text `expr` is
   * exactly `YYYY-MM-DD` in digits (NULL or FALSE otherwise), `parse` reads such a text as a DATE (NULL
   * when it is no date, as `2024-02-30`), as `tryParseDate` with `%Y-%m-%d` would.
   */
  readonly isoDate?: { test(expr: string): string; parse(expr: string): string };
  /** Casts text to DOUBLE, NULL when it is not a number. */
  tryCastDouble(expr: string): string;
  /** Casts text to INTEGER, NULL when it is not a whole number. */
  tryCastInteger(expr: string): string;
  /** The 'YYYY-MM' text of a date. */
  yearMonth(expr: string): string;
  /** Lower-case hex HMAC-SHA256 of text `expr` under the key held in `keyRef` (dialect-specific reference). */
  hmacSha256Hex(expr: string, keyRef: HmacKeyRef): string;
  /** The value of `value` on the row with the largest `order` among rows where `value` is not NULL. */
  argMaxNotNull(value: string, order: string): string;
  /** The list of the given expressions that are not NULL (in order). */
  nonNullList(items: readonly string[]): string;
  /**
   * TRUE when `expr` is one of the given texts, FALSE when it is none, NULL when `expr` is NULL (the
   * meaning of `expr IN (...)`). Every test of a value against a fixed set of texts in the definitions
   * goes through it.
   */
  oneOf(expr: string, values: readonly string[]): string;
  /** TRUE when the text list `list` holds any of the given string values. */
  listHasAny(list: string, values: readonly string[]): string;
  /** Seconds since the Unix epoch of a TIMESTAMP. */
  epochSeconds(expr: string): string;
  /**
   * The edit distance (insertions, deletions, substitutions) between two texts (identity comparisons),
   * in bytes of their UTF-8 form on both engines (DuckDB's levenshtein counts bytes).
   */
  editDistance(a: string, b: string): string;
  /** The length of a text in the units `editDistance` counts (UTF-8 bytes). */
  editDistanceUnits(expr: string): string;
  /** Whole days from date `a` to date `b` (b − a). */
  daysBetween(a: string, b: string): string;
  /** Hours (fractional) from timestamp `a` to timestamp `b` (b − a). */
  hoursBetween(a: string, b: string): string;
  /** A value cast to text (dates as 'YYYY-MM-DD'). */
  castText(expr: string): string;
  /**
   * A deterministic 64-bit hash of a value, or of several values together (random but repeatable
   * sampling, tie-breaks, blocking keys). Typed values are hashed as they are: no text is built.
   */
  stableHash(...exprs: string[]): string;
  /** A JSON object text from key/value SQL expressions (NULL values kept as `null`). */
  jsonObject(fields: readonly (readonly [string, string])[]): string;
  /** A JSON object as a value to nest inside `jsonObject` (an object there, not an escaped string). */
  jsonObjectValue(fields: readonly (readonly [string, string])[]): string;
  /** A string literal. */
  string(value: string): string;
  /** A quoted identifier. */
  ident(name: string): string;
}

/** Where a dialect finds the HMAC key: padded inner/outer key blocks as hex (DuckDB) or a secret (Databricks). */
export interface HmacKeyRef {
  readonly ipadHex?: string;
  readonly opadHex?: string;
  readonly secretScope?: string;
  readonly secretKey?: string;
  /** Databricks only: an SQL expression giving the key as hex instead of `secret(scope, key)`. */
  readonly keyHexSql?: string;
}

export function sqlStringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Converts strptime-style formats (%Y %m %d %b %H %M %S %y) to Spark datetime patterns that read the
 * same texts. DuckDB's reader takes a month, day, hour, minute or second with or without its leading
 * zero; Spark's two-letter fields take exactly two digits and its one-letter fields one or two. So a
 * field set off by separators becomes one letter (`%m/%d/%Y` → `M/d/yyyy` reads 1/5/2024 and
 * 01/05/2024), and one run together with another field keeps two (`%Y%m%d` → `yyyyMMdd`).
 */
export function strptimeToSpark(format: string): string {
  const fixed: Record<string, string> = {
    Y: 'yyyy',
    m: 'MM',
    d: 'dd',
    b: 'MMM',
    H: 'HH',
    M: 'mm',
    S: 'ss',
    y: 'yy',
  };
  const variable: Record<string, string> = { m: 'M', d: 'd', H: 'H', M: 'm', S: 's' };
  const parts: ({ spec: string } | { literal: string })[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i] ?? '';
    if (c === '%' && i + 1 < format.length) parts.push({ spec: format[++i] ?? '' });
    else {
      const last = parts[parts.length - 1];
      if (last && 'literal' in last) last.literal += c;
      else parts.push({ literal: c });
    }
  }
  return parts
    .map((p, i) => {
      if ('literal' in p) return /^[-/: ]+$/.test(p.literal) ? p.literal : `'${p.literal}'`;
      const runTogether = [parts[i - 1], parts[i + 1]].some((n) => n !== undefined && 'spec' in n);
      return (runTogether ? undefined : variable[p.spec]) ?? fixed[p.spec] ?? p.spec;
    })
    .join('');
}
