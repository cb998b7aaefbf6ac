import type { Dialect } from '../../dialect/dialect.ts';
import { BUSINESS_KEY, LANDING_COLUMNS } from '../../definitions/entities.ts';
import type { Expectation, TransformDataset } from '../../definitions/model.ts';

/**
 * The portable staging of a silver dataset, the same steps the DuckDB runner takes
 * (`src/runner/stage.ts`): derived values over the bronze row (raw columns a derived value shadows
 * are kept as `_raw_<name>`), reference lookups, repeats of a business key within one file flagged,
 * then every expectation evaluated into `_failed` (names of the rules the row failed) and
 * `_rejected` (a drop or fail rule failed). Expectations pass only when TRUE (NULL fails).
 */
export interface StageOptions {
  /** The SQL for the update's start time (`current_timestamp()` on Databricks). */
  readonly runStartedAt: string;
  /** Extra joins on the staged row `s1` and the columns they add (the resolved patient). */
  readonly joins?: string;
  readonly columns?: readonly string[];
}

export function stagedSql(d: Dialect, ds: TransformDataset, source: string, opts: StageOptions): string {
  const landing = LANDING_COLUMNS[ds.entity];
  const derivedNames = new Set(ds.derived.map((x) => x.name));
  const passThrough = landing.map((c) =>
    derivedNames.has(c) ? `s0.${d.ident(c)} AS ${d.ident(`_raw_${c}`)}` : `s0.${d.ident(c)}`,
  );
  const metadata = ['_file_name', '_line_number', '_extracted_at', '_ingested_at', '_rescued_data'];
  const patientExtras = ds.entity === 'patients' ? ['ssn_hash', '_ssn_key_id'] : [];
  const keyCols = BUSINESS_KEY[ds.entity].map((k) => d.ident(k));
  const lookups = ds.lookups
    .map(
      (l, i) =>
        `LEFT JOIN (SELECT DISTINCT ${l.column}${l.value ? `, ${l.value}` : ''} FROM ${l.table}) l${i} ON l${i}.${l.column} = s1.${l.on}`,
    )
    .join('\n');
  const lookupCols = ds.lookups.map((l, i) =>
    l.value ? `l${i}.${l.value} AS ${l.name}` : `l${i}.${l.column} IS NOT NULL AS ${l.name}`,
  );
  const extra = [...lookupCols, ...(opts.columns ?? [])];
  return `WITH s0 AS (${source}),
dups AS (
  SELECT ${keyCols.map((k, i) => `${k} AS _dup_key${i}`).join(', ')}, _file_name AS _dup_file, MIN(_line_number) AS _first_line
  FROM s0 GROUP BY ${keyCols.join(', ')}, _file_name HAVING COUNT(*) > 1),
s1 AS (
  SELECT ${[...passThrough, ...metadata.map((m) => `s0.${m}`), ...patientExtras.map((m) => `s0.${m}`)].join(', ')},
    ${ds.derived.map((x) => `${x.sql(d)} AS ${d.ident(x.name)}`).join(',\n    ')},
    ${opts.runStartedAt} AS _run_started_at,
    COALESCE(s0._line_number > dups._first_line, FALSE) AS _is_duplicate
  FROM s0 LEFT JOIN dups ON ${keyCols.map((k, i) => `s0.${k} IS NOT DISTINCT FROM dups._dup_key${i}`).join(' AND ')}
    AND s0._file_name = dups._dup_file)
SELECT s1.*${extra.length ? `, ${extra.join(', ')}` : ''}
FROM s1 ${lookups} ${opts.joins ?? ''}`.trimEnd();
}

/** The names of the rules that reject a row (drop and fail; warn rules only count). */
export const rejectingRules = (expectations: readonly Expectation[]): string[] =>
  expectations.filter((e) => e.action !== 'warn').map((e) => e.name);

/** A NULL-safe expectation: TRUE or FALSE for every row (NULL counts as a failure). */
export const expectationSql = (d: Dialect, e: Expectation): string => `COALESCE((${e.sql(d)}), FALSE)`;

/** `staged` plus `_failed` and `_rejected`. */
export function checkedSql(d: Dialect, expectations: readonly Expectation[], staged: string): string {
  const failed = d.nonNullList(
    expectations.map((e) => `CASE WHEN ${expectationSql(d, e)} THEN NULL ELSE ${d.string(e.name)} END`),
  );
  return `SELECT c.*, ${d.listHasAny('c._failed', rejectingRules(expectations))} AS _rejected
FROM (SELECT t.*, ${failed} AS _failed FROM (
${staged}
) t) c`;
}
