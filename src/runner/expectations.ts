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
  /** Columns computed after `_rejected` is known (they may use it). */
  outer?: string,
): Promise<ExpectationResult[]> {
  const checks = expectations.map(
    (e) => `CASE WHEN COALESCE((${e.sql(d)}), FALSE) THEN NULL ELSE '${e.name}' END`,
  );
  const rejecting = expectations.filter((e) => e.action !== 'warn').map((e) => `'${e.name}'`);
  const failedList = checks.length
    ? `list_filter([${checks.join(', ')}], x -> x IS NOT NULL)`
    : 'CAST([] AS VARCHAR[])';
  const evaluated = `SELECT *, ${rejecting.length ? `len(list_intersect(_failed, [${rejecting.join(', ')}])) > 0` : 'FALSE'} AS _rejected
    FROM (SELECT *, ${failedList} AS _failed FROM (${stageSql}))`;
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${target} AS ${outer ? `SELECT *, ${outer} FROM (${evaluated})` : evaluated}`,
  );
  const total = (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${target}`))?.n ?? 0;
  const counts = await db.all<{ name: string; n: number }>(
    `SELECT name, COUNT(*) AS n FROM (SELECT UNNEST(_failed) AS name FROM ${target}) GROUP BY name`,
  );
  const failedBy = new Map(counts.map((c) => [c.name, c.n]));
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
