import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { LANDING_COLUMNS } from '../definitions/entities.ts';
import { duplicateKeysSql, rawName, stagedColumnNames, stageSql } from '../definitions/stage-sql.ts';
import { dataset } from '../definitions/pipeline.ts';
import type { TransformDataset } from '../definitions/model.ts';
import { sqlString } from '../engine/database.ts';
import type { RunContext } from './context.ts';
import { evaluateExpectations, type ExpectationResult } from './expectations.ts';

/**
 * The bronze row of a staged row, as JSON in the column `_bronze` of `eval_<dataset>`: kept only for
 * the rows that leave through the quarantine or wait in parked_rows, which store it. Every other row
 * carries the values silver reads and a NULL instead of its raw columns. Writing the raw columns again
 * took a fifth of the stage of 5.5 M medical events (9.0–10.7 s with them, 7.5 s with the JSON; a
 * STRUCT of them, NULL on almost every row, still cost 8.6–9.2 s).
 */
const BRONZE_ROW = '_bronze';

/** The bronze columns of a silver dataset's entity, in bronze order. */
const bronzeColumns = (ds: TransformDataset): readonly string[] =>
  dataset(`bronze_${ds.entity}`).columns.map((c) => c.name);

/** Bronze metadata columns carried into the staged row (every bronze column is in it, see BRONZE_ROW). */
const METADATA = [
  '_file_name',
  '_line_number',
  '_extracted_at',
  '_run_id',
  '_rescued_data',
  '_ingested_at',
  '_file_path',
];

/**
 * The staged columns left out of `eval_<dataset>`: every staged column that is neither one of the
 * dataset's own columns nor in `read` (what the caller reads besides them). Raw bronze values come back
 * through `_bronze`; helper values (`_procedure`, a lookup's flag), the run start and the duplicate flag
 * only served the expectations; a fact's source reference is replaced by its resolved patient.
 * Writing them cost about a sixth of the stage of 5.5 M medical events (8.0-9.0 s with them,
 * 6.6-7.9 s without, interleaved); in a traced 1M-people first load the claims stage went from 6.2 to
 * 4.3 s and the events stage from 6.1 to 4.6 s.
 */
function leftOutColumns(ds: TransformDataset, read: readonly string[]): string[] {
  // The resolved patient replaces a fact's raw patient reference (silver.ts reads `_resolved_patient_id`).
  const kept = new Set([...ds.columns.map((c) => c.name).filter((c) => c !== 'patient_id'), ...read]);
  return stagedColumnNames(ds, METADATA).filter((c) => !kept.has(c));
}

/** SQL of `_bronze`: every bronze column of the staged row by its bronze name, where `when` holds. */
function bronzeRowSql(ds: TransformDataset, when: string): string {
  return `CASE WHEN ${when} THEN to_json({${bronzeColumns(ds)
    .map((c) => `${d.string(c)}: ${d.ident(rawName(ds, c))}`)
    .join(', ')}}) END AS ${BRONZE_ROW}`;
}

/** JSON of a staged row's stored bronze row, as parked_rows keeps it. */
export const bronzeRowJson = (alias: string): string => `${alias}.${BRONZE_ROW}`;

/** JSON of the raw record of a staged row, for the quarantine (the SSN is never in it: it was hashed on read). */
export function rawRecordJson(ds: TransformDataset): string {
  const cols = LANDING_COLUMNS[ds.entity].filter((c) => c !== 'ssn');
  const extra = ds.entity === 'patients' ? ['ssn_hash'] : [];
  return `json_object(${[...cols, ...extra].map((c) => `'${c}', ${BRONZE_ROW}->>'${c}'`).join(', ')})`;
}

/**
 * Stages `source` (rows with bronze columns) for a silver dataset: derived values computed, lookups
 * joined, duplicates flagged, then every expectation evaluated into `eval_<dataset>`.
 */
export async function stageAndEvaluate(
  ctx: RunContext,
  ds: TransformDataset,
  source: string,
  /**
   * Extra joins on the staged row `s1` and the columns they add (e.g. the resolved patient), columns
   * computed once `_rejected` is known (`outer`), and which rows keep their bronze row (`_bronze`):
   * those the quarantine or parked_rows store (the rejected ones by default), and which staged columns
   * the caller reads (the others are left out, see leftOutColumns).
   */
  extra: {
    joins?: string;
    columns?: readonly string[];
    outer?: string;
    keepBronzeRow?: string;
    /** The staged columns the caller reads from `eval_<dataset>` besides the dataset's own columns. */
    read?: readonly string[];
    /** A column numbering the rows of `eval_<dataset>` (unique within it), for joins on one integer. */
    position?: string;
  } = {},
): Promise<ExpectationResult[]> {
  // A repeat of a key within a file (duplicateKeysSql), into a small table of its own first, so the
  // source is read once for the stage and never materialised.
  const dups = `dups_${ds.name}`;
  await ctx.db.materialize(dups, duplicateKeysSql(d, ds, `(${source})`, { hashFirst: true }));
  const staged = stageSql(d, ds, source, {
    runStartedAt: ctx.startedAtSql,
    // Every bronze column is in the staged row (raw or as `_raw_<name>`), so the bronze row of a row
    // that is quarantined or parked is rebuilt from it (`_bronze`).
    metadata: METADATA,
    dups,
    ...(extra.joins === undefined ? {} : { joins: extra.joins }),
    ...(extra.columns === undefined ? {} : { columns: extra.columns }),
  });
  return evaluateExpectations(ctx.db, ds.name, staged, `eval_${ds.name}`, ds.expectations, {
    outer: extra.outer,
    exclude: leftOutColumns(ds, extra.read ?? []),
    add: bronzeRowSql(ds, extra.keepBronzeRow ?? '_rejected'),
    ...(extra.position === undefined ? {} : { position: extra.position }),
  });
}

/** The quarantine insert for rejected staged rows of a silver dataset. */
export function quarantineRejectedSql(
  ctx: RunContext,
  ds: TransformDataset,
  where: string,
  extraRule?: string,
  table = `eval_${ds.name}`,
): string {
  const rejecting = ds.expectations.filter((e) => e.action !== 'warn').map((e) => sqlString(e.name));
  const rules = `list_filter(_failed, x -> x IN (${rejecting.join(', ')}))`;
  return `INSERT INTO quarantine SELECT ${sqlString(ctx.runId)}, ${sqlString(ds.name)},
      ${extraRule ? `list_append(${rules}, ${sqlString(extraRule)})` : rules}, _file_name, _line_number,
      ${rawRecordJson(ds)}, ${ctx.startedAtSql}
    FROM ${table} WHERE ${where}`;
}
