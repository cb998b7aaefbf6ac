import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { dataset } from '../definitions/pipeline.ts';
import type { TransformDataset } from '../definitions/model.ts';
import { ORPHAN_RULE } from '../definitions/datasets/silver-facts.ts';
import { SILVER_PATIENT_COLUMNS } from '../definitions/datasets/silver-patients.ts';
import { yearsBetween } from '../definitions/sql-helpers.ts';
import { IDENTITY_RELATION } from '../definitions/identity-step.ts';
import { patientLookupJoinSql } from '../definitions/stage-sql.ts';
import { sqlString } from '../engine/database.ts';
import { RECORD_PATIENTS, resolveIdentities, type IdentityStats } from '../identity/resolve.ts';
import { thisRunsBronzeSql } from './bronze.ts';
import { SOURCE_RECORD_COLUMNS } from './schema.ts';
import { feedRewriter, upsertWithFeed } from './change-feed.ts';
import { account, addExpectations, flow, type RunContext } from './context.ts';
import { bronzeRowJson, quarantineRejectedSql, stageAndEvaluate } from './stage.ts';

async function perFile(
  ctx: RunContext,
  sql: string,
): Promise<
  { file_name: string; rows_in: number; rows_out: number; rows_quarantined: number; rows_parked: number }[]
> {
  return ctx.db.all(sql);
}

/** The staged columns silver reads of a fact besides its own columns (the latest extract wins, accounting). */
const FACT_READS = ['_file_name', '_line_number', '_extracted_at'];

/**
 * silver_patients: stage this run's bronze patient rows, quarantine the rejected, keep accepted source
 * records, resolve identities, then write the golden row per resolved patient and extract time.
 */
export async function runSilverPatients(ctx: RunContext): Promise<IdentityStats> {
  const ds = dataset('silver_patients') as TransformDataset;
  const run = sqlString(ctx.runId);
  // In bulk mode (a first load, a rebuild) the staged rows are numbered (`_pos`, the working file's row
  // number): identity joins its records and patients back to them on that integer instead of the two
  // source keys. An incremental update's few rows stay a plain working table (numbering them through a
  // view of the table's row ids made the update 0.3-0.5 s slower).
  const pos = ctx.db.bulk ? '_pos' : undefined;
  const results = await stageAndEvaluate(ctx, ds, thisRunsBronzeSql(ctx, 'patients'), {
    read: SOURCE_RECORD_COLUMNS,
    ...(pos === undefined ? {} : { position: pos }),
  });
  await ctx.db.run(quarantineRejectedSql(ctx, ds, '_rejected'));
  // Whether the table held source rows of earlier runs (not on a first load or a full refresh).
  const earlierSources = !(await ctx.db.isEmpty('silver_patient_sources'));
  const columns = SOURCE_RECORD_COLUMNS.map((c) => `e.${c}`).join(', ');
  // An incremental update writes this run's accepted rows first, without their patients: identity
  // records read their values from them (identity_record_values), and resolution sets their patients.
  if (earlierSources)
    await ctx.db.run(`INSERT INTO silver_patient_sources BY NAME
      SELECT ${columns}, CAST(NULL AS VARCHAR) AS patient_id FROM eval_silver_patients e WHERE NOT e._rejected`);
  const identity = await resolveIdentities(ctx.db, {
    // This run's accepted rows, read from the stage.
    sources: 'eval_silver_patients',
    sourceFilter: 'NOT _rejected',
    ...(pos === undefined ? {} : { sourcePosition: pos }),
    runId: ctx.runId,
    resolvedAtSql: ctx.startedAtSql,
    rewriter: feedRewriter(ctx),
  });
  // A first load writes them once resolved, with their patient (every accepted record has its identity
  // record, merges and splits of this run included): an UPDATE of the rows just written made the commit
  // of a first load rewrite the whole column (3.6 s for 2.15 M rows).
  const accepted = `SELECT ${columns}, r.patient_id
    FROM eval_silver_patients e
    LEFT JOIN ${RECORD_PATIENTS} r ON ${
      pos === undefined
        ? 'r.source_system = e.source_system AND r.source_patient_id = e.source_patient_id'
        : `r.${pos} = e.${pos}`
    }
    WHERE NOT e._rejected`;
  if (!earlierSources) await ctx.db.run(`INSERT INTO silver_patient_sources BY NAME ${accepted}`);
  // Identity SLA violations (freshness, confidence, coverage, drift) go to the event log as warnings.
  ctx.warnings.push(...identity.alerts);

  const arg = (col: string, filter = `${col} IS NOT NULL`): string =>
    `arg_max(s.${col}, s._priority) FILTER (WHERE ${filter}) AS ${col}`;
  const risk = SILVER_PATIENT_COLUMNS.find((c) => c.name === 'patient_risk_category')?.sql?.(d) ?? 'NULL';
  const age = yearsBetween('birth_date', 'CAST(t AS DATE)');
  // An incremental update gathers the source rows of the patients it touched first (one pass over
  // silver_patient_sources); a first load reads them all, from the stage.
  let sources = 'silver_patient_sources';
  if (ctx.db.bulk && !earlierSources) {
    // The rows just written, read again from where they came from: a table written in the open
    // transaction is scanned by one thread, the stage by all (only the narrow join side is the table's).
    sources = 'golden_patient_sources';
    await ctx.db.defineView(sources, accepted);
  } else if (!ctx.db.bulk) {
    sources = 'golden_patient_sources';
    await ctx.db.materialize(
      sources,
      `SELECT patient_id, _extracted_at, _run_id, source_system, mrn, birth_date, sex, region, bmi, smoker, children,
        charges, insurance_plan, coverage_start_date, ssn_hash, data_quality_score, _priority
      FROM silver_patient_sources
      WHERE patient_id IN (SELECT patient_id FROM silver_patient_sources WHERE _run_id = ${run}
        UNION SELECT patient_id FROM identity_touched_patients)`,
    );
  }
  const aggregates = `${arg('mrn', "s.mrn IS NOT NULL AND s.source_system = 'EHR_SYSTEM'")},
        ${arg('birth_date')}, ${arg('sex', "s.sex <> 'U'")}, ${arg('region')}, ${arg('bmi')}, ${arg('smoker')},
        ${arg('children')}, ${arg('charges')}, ${arg('insurance_plan')}, ${arg('coverage_start_date')},
        ${arg('ssn_hash')}, arg_max(s.data_quality_score, s._priority) AS data_quality_score`;
  /** The state of each patient as of each target (patient_id, t): its source rows extracted up to t. */
  const asOfTargets = (targets: string): string => `WITH targets AS (${targets})
    SELECT tg.patient_id, tg.t, ${aggregates}
    FROM targets tg JOIN ${sources} s ON s.patient_id = tg.patient_id AND s._extracted_at <= tg.t
    GROUP BY tg.patient_id, tg.t`;
  let agg: string;
  if (earlierSources) {
    // This run's extracts, and the patients whose records identity moved, merged or split this run:
    // their state as of now.
    agg = asOfTargets(`SELECT DISTINCT patient_id, _extracted_at AS t FROM ${sources} WHERE _run_id = ${run}
      UNION
      SELECT patient_id, MAX(_extracted_at) FROM ${sources}
      WHERE patient_id IN (SELECT patient_id FROM identity_touched_patients) GROUP BY patient_id`);
  } else {
    // Every source row is this run's (a first load, a rebuild). A patient whose rows all come from one
    // extract has one state, aggregated over its rows in one pass; only patients with several extracts
    // are joined to their earlier rows (1M-people first load: the join of every patient's extract to its
    // rows took 1.7-2.2 s).
    const byPatient = `SELECT s.patient_id, MIN(s._extracted_at) AS t0, MAX(s._extracted_at) AS t, ${aggregates}
      FROM ${sources} s GROUP BY s.patient_id`;
    // With one extract time among the rows no patient has several: the second part is empty, yet
    // planned it read and joined every source row twice more (0.6-0.9 s of a 1M-people first load).
    const extracts = await ctx.db.one<{ n: number }>(
      'SELECT COUNT(DISTINCT _extracted_at) AS n FROM eval_silver_patients WHERE NOT _rejected',
    );
    agg =
      (extracts?.n ?? 0) <= 1
        ? `SELECT * EXCLUDE (t0) FROM (${byPatient})`
        : `WITH by_patient AS MATERIALIZED (${byPatient})
      SELECT * EXCLUDE (t0) FROM by_patient WHERE t0 = t
      UNION ALL BY NAME
      SELECT * FROM (${asOfTargets(`SELECT DISTINCT patient_id, _extracted_at AS t FROM ${sources}
        WHERE patient_id IN (SELECT patient_id FROM by_patient WHERE t0 < t)`)})`;
  }
  await ctx.db.materialize(
    'golden_patients',
    `WITH agg AS (${agg}),
    aged AS (SELECT *, CASE WHEN ${age} >= 89 THEN 90 ELSE ${age} END AS age_years FROM agg)
    SELECT patient_id, mrn, CAST(age_years AS INTEGER) AS age_years, COALESCE(sex, 'U') AS sex, region, bmi, smoker,
      children, charges, insurance_plan, coverage_start_date, ssn_hash, ${risk} AS patient_risk_category,
      data_quality_score, t AS effective_date, ${ctx.startedAtSql} AS processed_at
    FROM aged`,
  );
  // A golden row for a (patient, extract time) already in silver replaces it (pre/post image in the feed).
  await upsertWithFeed(ctx, 'silver_patients', 'golden_patients', ds.keys);

  const f = flow(ctx, ds.name);
  addExpectations(f, results);
  const rows = await perFile(
    ctx,
    `SELECT e._file_name AS file_name, COUNT(*) AS rows_in,
       (SELECT COUNT(*) FROM silver_patient_sources s WHERE s._run_id = ${run} AND s._file_name = e._file_name) AS rows_out,
       (SELECT COUNT(*) FROM quarantine q WHERE q.run_id = ${run} AND q.dataset = 'silver_patients' AND q.file_name = e._file_name) AS rows_quarantined,
       0 AS rows_parked
     FROM eval_silver_patients e GROUP BY e._file_name ORDER BY 1`,
  );
  for (const r of rows) {
    account(ctx, { dataset: ds.name, ...r });
    f.rowsIn += r.rows_in;
    f.rowsOut += r.rows_out;
    f.rowsQuarantined += r.rows_quarantined;
  }
  return identity;
}

/**
 * silver_claims / silver_medical_events: stage this run's bronze rows plus parked ones, quarantine the
 * rejected, resolve the patient; unknown patients are parked until the grace period ends, then
 * quarantined as orphans. Accepted rows are upserted by key (the latest extract wins).
 */
export async function runSilverFacts(
  ctx: RunContext,
  name: 'silver_claims' | 'silver_medical_events',
): Promise<void> {
  const ds = dataset(name) as TransformDataset;
  const bronze = `bronze_${ds.entity}`;
  const run = sqlString(ctx.runId);
  // Parked rows come back from their stored bronze rows (bronze itself is not read), staged once
  // together with this update's rows into a small table that the duplicate check and the stage read.
  const bronzeColumns = dataset(bronze).columns;
  const parked = await ctx.db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM parked_rows WHERE dataset = '${name}'`,
  );
  let source = thisRunsBronzeSql(ctx, ds.entity);
  if (parked?.n) {
    const shape = JSON.stringify(Object.fromEntries(bronzeColumns.map((c) => [c.name, c.type])));
    await ctx.db.materialize(
      `source_${name}`,
      `${source}
      UNION ALL
      SELECT unnest(json_transform(p.record, ${sqlString(shape)})) FROM parked_rows p WHERE p.dataset = '${name}'`,
    );
    source = `SELECT * FROM source_${name}`;
  }
  const grace = `INTERVAL ${Math.max(0, ctx.orphanGraceHours * 3600).toFixed(0)} SECOND`;
  const results = await stageAndEvaluate(ctx, ds, source, {
    joins: `${patientLookupJoinSql(d, ds, IDENTITY_RELATION)}
      LEFT JOIN parked_rows p ON p.dataset = '${name}' AND p.file_name = s1._file_name AND p.line_number = s1._line_number`,
    columns: [
      'm.patient_id AS _resolved_patient_id',
      `COALESCE(p.first_parked_at, ${ctx.startedAtSql}) AS _first_parked_at`,
      'COALESCE(p.attempts, 0) AS _attempts',
    ],
    outer: `CASE WHEN _rejected THEN 'quarantined'
           WHEN _resolved_patient_id IS NOT NULL THEN 'out'
           WHEN _first_parked_at + ${grace} <= ${ctx.startedAtSql} THEN 'orphan'
           ELSE 'parked' END AS _outcome`,
    keepBronzeRow: `_outcome <> 'out'`,
    read: FACT_READS,
  });
  await ctx.db.run(quarantineRejectedSql(ctx, ds, `_outcome = 'quarantined'`, undefined, `eval_${name}`));
  await ctx.db.run(quarantineRejectedSql(ctx, ds, `_outcome = 'orphan'`, ORPHAN_RULE, `eval_${name}`));
  // Every parked row of this dataset was staged again above: those that left (resolved, quarantined)
  // are deleted, those still waiting count one more attempt, and only rows parked for the first time
  // are written with their record (rewriting every waiting record put megabytes of JSON in each
  // update's log).
  await ctx.db.run(`DELETE FROM parked_rows p WHERE p.dataset = '${name}' AND NOT EXISTS (
      SELECT 1 FROM eval_${name} e WHERE e._outcome = 'parked' AND e._attempts > 0
        AND e._file_name = p.file_name AND e._line_number = p.line_number)`);
  await ctx.db.run(`UPDATE parked_rows SET attempts = attempts + 1 WHERE dataset = '${name}'`);
  // A row that did not go out keeps its bronze row in the stage (`_bronze`).
  await ctx.db.run(`INSERT INTO parked_rows
    SELECT '${name}', e._file_name, e._line_number, e._first_parked_at, 1, ${bronzeRowJson('e')}
    FROM eval_${name} e WHERE e._outcome = 'parked' AND e._attempts = 0`);

  const key = ds.keys[0] ?? '';
  const outCols = ds.columns.map((c) =>
    c.name === 'patient_id'
      ? '_resolved_patient_id AS patient_id'
      : c.name === 'processed_at'
        ? `${ctx.startedAtSql} AS processed_at`
        : d.ident(c.name),
  );
  // The latest extract of a key wins; the window runs only on keys delivered more than once in this update.
  // Within a file a repeated key is already rejected (duplicate_record), so with one file there is none.
  const files =
    (await ctx.db.one<{ n: number }>(`SELECT COUNT(DISTINCT _file_name) AS n FROM eval_${name}`))?.n ?? 0;
  if (files > 1)
    await ctx.db.materialize(
      'multi_keys',
      `SELECT ${key} FROM eval_${name} WHERE _outcome = 'out' GROUP BY ${key} HAVING COUNT(*) > 1`,
    );
  const repeated =
    files > 1 ? ((await ctx.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM multi_keys'))?.n ?? 0) : 0;
  const once = `SELECT ${outCols.join(', ')} FROM eval_${name} e WHERE _outcome = 'out'${
    repeated ? ` AND NOT EXISTS (SELECT 1 FROM multi_keys m WHERE m.${key} = e.${key})` : ''
  }`;
  const latest = `SELECT ${outCols.join(', ')} FROM eval_${name} e WHERE _outcome = 'out' AND EXISTS (SELECT 1 FROM multi_keys m WHERE m.${key} = e.${key})
    QUALIFY ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY _extracted_at DESC, _file_name DESC, _line_number DESC) = 1`;
  await upsertWithFeed(ctx, name, repeated ? `${once} UNION ALL ${latest}` : once, [key]);

  const f = flow(ctx, name);
  addExpectations(f, results);
  const rows = await perFile(
    ctx,
    `SELECT r._file_name AS file_name, COUNT(*) AS rows_in, COUNT(*) FILTER (WHERE _outcome = 'out') AS rows_out,
       (SELECT COUNT(*) FROM quarantine q WHERE q.run_id = ${run} AND q.dataset = '${name}' AND q.file_name = r._file_name) AS rows_quarantined,
       (SELECT COUNT(*) FROM parked_rows p WHERE p.dataset = '${name}' AND p.file_name = r._file_name) AS rows_parked
     FROM eval_${name} r GROUP BY r._file_name ORDER BY 1`,
  );
  for (const r of rows) {
    account(ctx, { dataset: name, ...r });
    f.rowsIn += r.rows_in;
    f.rowsOut += r.rows_out;
    f.rowsQuarantined += r.rows_quarantined;
    f.rowsParked += r.rows_parked;
  }
}
