import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { LANDING_COLUMNS } from '../definitions/entities.ts';
import { duplicateKeysSql, stageSql } from '../definitions/stage-sql.ts';
import type { TransformDataset } from '../definitions/model.ts';
import { sqlString } from '../engine/database.ts';
import type { RunContext } from './context.ts';
import { evaluateExpectations, type ExpectationResult } from './expectations.ts';

/** The raw landing value of `column` in a staged silver row (shadowed raw columns get a `_raw_` prefix). */
export function rawName(ds: TransformDataset, column: string): string {
  return ds.derived.some((x) => x.name === column) ? `_raw_${column}` : column;
}

/** JSON of the raw record of a staged row, for the quarantine (the SSN is never in it: it was hashed on read). */
export function rawRecordJson(ds: TransformDataset): string {
  const cols = LANDING_COLUMNS[ds.entity].filter((c) => c !== 'ssn');
  const extra = ds.entity === 'patients' ? ['ssn_hash'] : [];
  return `json_object(${[...cols.map((c) => `'${c}', ${d.ident(rawName(ds, c))}`), ...extra.map((c) => `'${c}', ${c}`)].join(', ')})`;
}

/**
 * Stages `source` (rows with bronze columns) for a silver dataset: derived values computed, lookups
 * joined, duplicates flagged, then every expectation evaluated into `eval_<dataset>`.
 */
export async function stageAndEvaluate(
  ctx: RunContext,
  ds: TransformDataset,
  source: string,
  /** Extra joins on the staged row `s1` and the columns they add (e.g. the resolved patient). */
  extra: { joins?: string; columns?: readonly string[]; outer?: string } = {},
): Promise<ExpectationResult[]> {
  // A repeat of a key within a file: found by aggregation (cheaper than a window over every row), into
  // a small table of its own first, so the source is read once for the stage and never materialised.
  const dups = `dups_${ds.name}`;
  await ctx.db.materialize(dups, `${duplicateKeysSql(d, ds, `(${source})`)}`);
  const staged = stageSql(d, ds, source, {
    runStartedAt: ctx.startedAtSql,
    // Every bronze column is in the staged row (raw or as `_raw_<name>`), so a parked row's bronze
    // row is rebuilt from it (silver.ts).
    metadata: [
      '_file_name',
      '_line_number',
      '_extracted_at',
      '_run_id',
      '_rescued_data',
      '_ingested_at',
      '_file_path',
    ],
    dups,
    ...(extra.joins === undefined ? {} : { joins: extra.joins }),
    ...(extra.columns === undefined ? {} : { columns: extra.columns }),
  });
  return evaluateExpectations(ctx.db, ds.name, staged, `eval_${ds.name}`, ds.expectations, extra.outer);
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
