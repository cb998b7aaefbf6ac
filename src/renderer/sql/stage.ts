import type { Dialect } from '../../dialect/dialect.ts';
import { stageSql } from '../../definitions/stage-sql.ts';
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
  return stageSql(d, ds, source, {
    runStartedAt: opts.runStartedAt,
    metadata: ['_file_name', '_line_number', '_extracted_at', '_ingested_at', '_rescued_data'],
    dups: 'inline',
    ...(opts.joins === undefined ? {} : { joins: opts.joins }),
    ...(opts.columns === undefined ? {} : { columns: opts.columns }),
  });
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
