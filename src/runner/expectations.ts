import { duckdbDialect as d } from '../dialect/duckdb.ts';
import type { Expectation, ExpectationAction } from '../definitions/model.ts';
import type { Database } from '../engine/database.ts';

export interface ExpectationResult {
  readonly name: string;
  readonly dataset: string;
  readonly action: ExpectationAction;
  readonly passed_records: number;
  readonly failed_records: number;
}

/** A fail-action expectation was violated: the update stops and rolls back. */
export class ExpectationFailedError extends Error {
  constructor(
    readonly dataset: string,
    readonly expectation: string,
    readonly failedRecords: number,
  ) {
    super(
      `expectation ${expectation} (fail) on ${dataset} was violated by ${failedRecords} record(s); the update was rolled back`,
    );
    this.name = 'ExpectationFailedError';
  }
}

/** A row passes an expectation only when its expression is TRUE (NULL fails). */
export const passesSql = (e: Expectation): string => `COALESCE((${e.sql(d)}), FALSE)`;

/** TRUE when the row fails a drop or fail expectation (it is not written to the target). */
export function rejectedSql(expectations: readonly Expectation[]): string {
  const rejecting = expectations.filter((e) => e.action !== 'warn');
  return rejecting.length ? `NOT (${rejecting.map(passesSql).join(' AND ')})` : 'FALSE';
}

/**
 * The names of every rule the row failed. The list is built only for rows that fail something; every
 * other row gets one constant empty list (building a list per row costs more than the checks).
 */
export function failedRulesSql(expectations: readonly Expectation[]): string {
  if (!expectations.length) return 'CAST([] AS VARCHAR[])';
  const checks = expectations.map((e) => `CASE WHEN ${passesSql(e)} THEN NULL ELSE '${e.name}' END`);
  return `CASE WHEN ${expectations.map(passesSql).join(' AND ')} THEN CAST([] AS VARCHAR[])
    ELSE list_filter([${checks.join(', ')}], x -> x IS NOT NULL) END`;
}

/**
 * Evaluates `expectations` over every row of `stageSql`, materialised once into `target`, which gets `_failed` (names of every
 * rule the row failed) and `_rejected` (a drop or fail rule failed). Outcomes are data; only a fail
 * action throws.
 */
export async function evaluateExpectations(
  db: Database,
  dataset: string,
  /** A SELECT producing the staged rows. */
  stageSql: string,
  target: string,
  expectations: readonly Expectation[],
  options: {
    /** Columns computed after `_rejected` is known (they may use it). */
    readonly outer?: string | undefined;
    /** Columns the materialised row leaves out. */
    readonly exclude?: readonly string[];
    /** Columns added last, once `outer` is known (they may use it). */
    readonly add?: string;
    /** A column numbering the materialised rows (unique; see Database.materialize). */
    readonly position?: string;
  } = {},
): Promise<ExpectationResult[]> {
  const { outer, exclude = [], add, position } = options;
  const failedList = failedRulesSql(expectations);
  // Rejected = a drop or fail rule is among the failed ones: read off the list (empty for almost every
  // row) instead of evaluating the rules a second time.
  const rejecting = expectations.filter((e) => e.action !== 'warn').map((e) => e.name);
  const evaluated = `SELECT *, CASE WHEN len(_failed) = 0 THEN FALSE ELSE ${d.listHasAny('_failed', rejecting)} END AS _rejected
    FROM (SELECT *, ${failedList} AS _failed FROM (${stageSql}))`;
  const withOuter = outer ? `SELECT *, ${outer} FROM (${evaluated})` : evaluated;
  const leaveOut = exclude.length ? ` EXCLUDE (${exclude.map((c) => d.ident(c)).join(', ')})` : '';
  await db.materialize(
    target,
    leaveOut || add ? `SELECT *${leaveOut}${add ? `, ${add}` : ''} FROM (${withOuter})` : withOuter,
    position === undefined ? {} : { position },
  );
  const total = (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${target}`))?.n ?? 0;
  const counts = await db.all<{ name: string; n: number }>(
    `SELECT name, COUNT(*) AS n FROM (SELECT UNNEST(_failed) AS name FROM ${target}) GROUP BY name`,
  );
  return expectationResults(dataset, expectations, total, new Map(counts.map((c) => [c.name, c.n])));
}

/** Pass/fail counts per expectation from the failure counts; throws when a fail-action rule was violated. */
export function expectationResults(
  dataset: string,
  expectations: readonly Expectation[],
  total: number,
  failedBy: ReadonlyMap<string, number>,
): ExpectationResult[] {
  const results = expectations.map((e) => {
    const failed = failedBy.get(e.name) ?? 0;
    return {
      name: e.name,
      dataset,
      action: e.action,
      passed_records: total - failed,
      failed_records: failed,
    };
  });
  const violated = results.find((r) => r.action === 'fail' && r.failed_records > 0);
  if (violated) throw new ExpectationFailedError(dataset, violated.name, violated.failed_records);
  return results;
}
