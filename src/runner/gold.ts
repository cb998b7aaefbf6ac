import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { dataset } from '../definitions/pipeline.ts';
import type { FactDataset, Scd2Dataset, TableCheck } from '../definitions/model.ts';
import { account, addExpectations, flow, type RunContext } from './context.ts';
import { evaluateExpectations } from './expectations.ts';
import { replaceWithFeed } from './change-feed.ts';

/** A table-level check with the fail action was violated: the update stops and gold keeps its last state. */
export class TableCheckFailedError extends Error {
  constructor(
    readonly dataset: string,
    readonly check: string,
    readonly violations: number,
  ) {
    super(
      `table check ${check} on ${dataset} failed with ${violations} violation(s); the update was rolled back`,
    );
    this.name = 'TableCheckFailedError';
  }
}

export async function runChecks(
  ctx: RunContext,
  datasetName: string,
  checks: readonly TableCheck[],
  /** The keys this update touched: checks read only those (the whole table when absent). */
  scope?: string,
): Promise<void> {
  for (const check of checks) {
    const row = await ctx.db.one<{ n: number }>(`SELECT (${check.violations(d, scope)}) AS n`);
    const n = row?.n ?? 0;
    if (n > 0) throw new TableCheckFailedError(datasetName, check.name, n);
  }
}

/**
 * gold_patients as SCD type 2: this run's silver rows are sequenced after each patient's current version;
 * a change in a tracked column closes the current version and opens a new one. Rows older than the
 * current version are late data: they stay in silver and are reported, not applied.
 */
export async function runGoldPatients(ctx: RunContext): Promise<void> {
  const ds = dataset('gold_patients') as Scd2Dataset;
  const started = Date.now();
  const tracked = ds.trackedColumns;
  const hash = `md5(to_json(struct_pack(${tracked.map((c) => `${c} := ${c}`).join(', ')})))`;
  const carried = ['age_years', 'patient_risk_category', ...tracked];
  // This update's silver rows are those of its silver_patients version (not a clock: two updates may
  // start within the same second).
  const thisRun = `_commit_version = ${ctx.versions.get('silver_patients') ?? -1}`;
  // An incremental update reads the current versions of its patients once (one pass over gold); a
  // first load reads gold as it is (empty, or every patient).
  let current = 'gold_patients';
  if (!ctx.db.bulk) {
    current = 'gold_current_touched';
    await ctx.db.materialize(
      current,
      `SELECT patient_id, effective_from, is_current, ${carried.join(', ')} FROM gold_patients
      WHERE is_current AND patient_id IN (SELECT patient_id FROM silver_patients WHERE ${thisRun})`,
    );
  }
  await ctx.db.materialize(
    'scd_input',
    `SELECT s.* FROM silver_patients s
    LEFT JOIN ${current} g ON g.patient_id = s.patient_id AND g.is_current
    WHERE s.${thisRun} AND (g.effective_from IS NULL OR s.effective_date >= g.effective_from)`,
  );
  // This update's silver rows, those to apply, their patients, and how many of those have a version
  // already.
  const shape = await ctx.db.one<{ input: number; rows: number; patients: number; earlier: number }>(
    `SELECT (SELECT COUNT(*) FROM silver_patients WHERE ${thisRun}) AS input,
      COUNT(*) AS rows, COUNT(DISTINCT patient_id) AS patients,
      (SELECT COUNT(*) FROM ${current} WHERE is_current AND patient_id IN (SELECT patient_id FROM scd_input)) AS earlier
    FROM scd_input`,
  );
  const input = shape?.input ?? 0;
  const lateRows = input - (shape?.rows ?? 0);
  if (lateRows > 0)
    ctx.warnings.push(
      `gold_patients: ${lateRows} late silver row(s) older than the current version were not applied`,
    );
  // A patient with one new row and no version yet (every patient of a first load from one extract)
  // gets that row as its one current version: no sequencing needed (the windows below sorted all 1M
  // patients of a first load, 1.6-1.8 s of it).
  const firstVersions = shape !== undefined && shape.earlier === 0 && shape.rows === shape.patients;
  await ctx.db.materialize(
    'stage_gold_patients',
    firstVersions
      ? `SELECT patient_id, ${carried.join(', ')}, effective_date AS effective_from,
          CASE WHEN FALSE THEN effective_date END AS effective_to, TRUE AS is_current, 1 AS is_new
        FROM scd_input`
      : `WITH seq AS (
      SELECT patient_id, effective_from, ${carried.join(', ')}, 0 AS is_new
      FROM ${current} WHERE is_current AND patient_id IN (SELECT patient_id FROM scd_input)
      UNION ALL
      SELECT patient_id, effective_date AS effective_from, ${carried.join(', ')}, 1 AS is_new FROM scd_input),
    dedup AS (SELECT * FROM seq QUALIFY ROW_NUMBER() OVER (PARTITION BY patient_id, effective_from ORDER BY is_new DESC) = 1),
    chg AS (SELECT *, ${hash} AS h FROM dedup),
    marked AS (SELECT *, LAG(h) OVER (PARTITION BY patient_id ORDER BY effective_from) AS prev_h FROM chg),
    kept AS (SELECT * FROM marked WHERE is_new = 0 OR prev_h IS NULL OR h <> prev_h)
    SELECT patient_id, ${carried.join(', ')}, effective_from,
      LEAD(effective_from) OVER (PARTITION BY patient_id ORDER BY effective_from) AS effective_to,
      LEAD(effective_from) OVER (PARTITION BY patient_id ORDER BY effective_from) IS NULL AS is_current, is_new
    FROM kept`,
  );
  const results = await evaluateExpectations(
    ctx.db,
    ds.name,
    'SELECT * FROM stage_gold_patients',
    'eval_gold_patients',
    ds.expectations,
  );
  // Only versions that change are rewritten: a current version the new rows leave open stays as it is
  // (no change rows); a closed one gives a pre- and post-image, a new version an insert.
  const unchanged = (alias: string): string =>
    `EXISTS (SELECT 1 FROM eval_gold_patients e WHERE e.is_new = 0 AND e.effective_to IS NULL
       AND e.patient_id = ${alias}.patient_id AND e.effective_from = ${alias}.effective_from)`;
  await replaceWithFeed(
    ctx,
    ds.name,
    `t.is_current AND t.patient_id IN (SELECT patient_id FROM scd_input) AND NOT ${unchanged('t')}`,
    `SELECT * FROM eval_gold_patients g WHERE NOT (g.is_new = 0 AND g.effective_to IS NULL)`,
    ds.keys,
  );
  await runChecks(ctx, ds.name, ds.checks, 'SELECT patient_id FROM scd_input');
  const versions = await ctx.db.one<{ n: number }>(
    'SELECT COUNT(*) AS n FROM eval_gold_patients WHERE is_new = 1',
  );
  const f = flow(ctx, ds.name);
  addExpectations(f, results);
  f.rowsIn += input;
  f.rowsOut += versions?.n ?? 0;
  f.seconds += (Date.now() - started) / 1000;
  // Unchanged states do not open versions: they are absorbed, neither lost nor quarantined.
  account(ctx, {
    dataset: ds.name,
    file_name: '*',
    rows_in: input,
    rows_out: input,
    rows_quarantined: 0,
    rows_parked: 0,
  });
}

/**
 * A gold fact. In the DuckDB engine it is a view over its silver table (schema.ts), so there is nothing
 * to write: this step checks the rows silver wrote in this update against the dimension and accounts
 * for them.
 */
export async function runGoldFact(
  ctx: RunContext,
  name: 'gold_claims' | 'gold_medical_events',
): Promise<void> {
  const ds = dataset(name) as FactDataset;
  const started = Date.now();
  const upstream = ds.upstream[0] ?? '';
  const key = ds.keys[0] ?? '';
  const version = ctx.versions.get(upstream);
  const changed = `SELECT ${key} FROM ${upstream} WHERE _commit_version = ${version ?? -1}`;
  const counts =
    version === undefined
      ? undefined
      : await ctx.db.one<{ n: number; total: number }>(
          `SELECT COUNT(*) FILTER (WHERE _commit_version = ${version}) AS n, COUNT(*) AS total FROM ${upstream}`,
        );
  const n = counts?.n ?? 0;
  // Checks read only the keys this update wrote; when it wrote every row (first load, full refresh), the table.
  if (n > 0) await runChecks(ctx, name, ds.checks, n === counts?.total ? undefined : changed);
  const f = flow(ctx, name);
  f.rowsIn += n;
  f.rowsOut += n;
  f.seconds += (Date.now() - started) / 1000;
  account(ctx, {
    dataset: name,
    file_name: '*',
    rows_in: n,
    rows_out: n,
    rows_quarantined: 0,
    rows_parked: 0,
  });
}
