import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { LANDING_COLUMNS } from '../definitions/entities.ts';
import { BUSINESS_KEY } from '../definitions/entities.ts';
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
  const landing = LANDING_COLUMNS[ds.entity];
  const derivedNames = new Set(ds.derived.map((x) => x.name));
  const passThrough = landing.map((c) =>
    derivedNames.has(c) ? `s0.${d.ident(c)} AS ${d.ident(`_raw_${c}`)}` : `s0.${d.ident(c)}`,
  );
  const metadata = ['_file_name', '_line_number', '_extracted_at', '_run_id', '_rescued_data'];
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
  // A repeat of a key within a file: found by aggregation (cheaper than a window over every row), into
  // a small table of its own first, so the source is read once for the stage and never materialised.
  const dups = `dups_${ds.name}`;
  await ctx.db.run(`CREATE OR REPLACE TEMP TABLE ${dups} AS
    SELECT ${keyCols.map((k, i) => `${k} AS _dup_key${i}`).join(', ')}, _file_name AS _dup_file, MIN(_line_number) AS _first_line
    FROM (${source}) GROUP BY ${keyCols.join(', ')}, _file_name HAVING COUNT(*) > 1`);
  const stageSql = `WITH s0 AS (${source}),
    s1 AS (
      SELECT ${[...passThrough, ...metadata.map((m) => `s0.${m}`), ...patientExtras.map((m) => `s0.${m}`)].join(', ')},
        ${ds.derived.map((x) => `${x.sql(d)} AS ${d.ident(x.name)}`).join(',\n        ')},
        ${ctx.startedAtSql} AS _run_started_at,
        COALESCE(s0._line_number > dups._first_line, FALSE) AS _is_duplicate
      FROM s0 LEFT JOIN ${dups} dups ON ${keyCols.map((k, i) => `s0.${k} IS NOT DISTINCT FROM dups._dup_key${i}`).join(' AND ')}
        AND s0._file_name = dups._dup_file)
    SELECT s1.*${lookupCols.length ? `, ${lookupCols.join(', ')}` : ''}${extra.columns?.length ? `, ${extra.columns.join(', ')}` : ''}
    FROM s1 ${lookups} ${extra.joins ?? ''}`;
  return evaluateExpectations(ctx.db, ds.name, stageSql, `eval_${ds.name}`, ds.expectations, extra.outer);
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
