import type { Dialect } from '../dialect/dialect.ts';
import { BUSINESS_KEY, LANDING_COLUMNS } from './entities.ts';
import type { TransformDataset } from './model.ts';

/**
 * The staging SELECT of a silver dataset, shared by the DuckDB runner (`runner/stage.ts`) and the
 * Databricks renderer (`renderer/sql/stage.ts`): derived values over the bronze row (raw columns a
 * derived value shadows are kept as `_raw_<name>`), reference lookups, and repeats of a business key
 * within one file flagged as `_is_duplicate`.
 */
export interface StageSqlOptions {
  /** The update's start time as SQL. */
  readonly runStartedAt: string;
  /** Bronze metadata columns carried into the staged row. */
  readonly metadata: readonly string[];
  /**
   * Where the repeated keys come from: `'inline'` computes them in a CTE over the source; otherwise
   * the name of a relation built with `duplicateKeysSql` (the runner materialises it once).
   */
  readonly dups: 'inline' | string;
  /** Extra joins on the staged row `s1` and the columns they add (the resolved patient). */
  readonly joins?: string;
  readonly columns?: readonly string[];
}

/**
 * The repeats of a business key within one file of `source`: keys, file and first line. With
 * `hashFirst` (the DuckDB runner) the repeated values of one 64-bit hash of key and file are found first,
 * by sorting the hashes and comparing neighbours, and only the rows with such a hash (every repeat, and
 * the rare collision, which the grouping on the values then drops) are grouped on the values. Grouping
 * every row on its values took 1.40-1.53 s for the three checks of a 1M-people first load, grouping the
 * hashes first 1.23-1.28 s; sorting the hashes instead of grouping them (a grouping keeps a state for
 * each of millions of distinct hashes) took the whole check, four runs of each, from 2.9-3.3 CPU-s to
 * 1.8-2.0 for the 5.5 M events and from 1.8-2.0 to 1.0 for the 3.5 M claims. The rendered pipeline groups
 * once: an engine that distributes the grouping gains nothing from reading its source a second time.
 */
export function duplicateKeysSql(
  d: Dialect,
  ds: TransformDataset,
  source: string,
  options: { hashFirst?: boolean } = {},
): string {
  const keyCols = BUSINESS_KEY[ds.entity].map((k) => d.ident(k));
  const hash = d.stableHash(...keyCols, '_file_name');
  const repeatedHashes = options.hashFirst
    ? ` WHERE ${hash} IN (SELECT DISTINCT _h FROM (SELECT _h, LEAD(_h) OVER (ORDER BY _h) AS _next
      FROM (SELECT ${hash} AS _h FROM ${source})) WHERE _h = _next)`
    : '';
  return `SELECT ${keyCols.map((k, i) => `${k} AS _dup_key${i}`).join(', ')}, _file_name AS _dup_file, MIN(_line_number) AS _first_line
  FROM ${source}${repeatedHashes} GROUP BY ${keyCols.join(', ')}, _file_name HAVING COUNT(*) > 1`;
}

/**
 * The join of a staged fact row `s1` to its patient's resolved record in `relation` (alias `m`). Only
 * the systems the reference can name are read, so the hash table holds those systems' records only
 * (figures in src/definitions/CONTEXT.md).
 */
export function patientLookupJoinSql(d: Dialect, ds: TransformDataset, relation: string): string {
  const ref = ds.patientReference;
  if (!ref) throw new Error(`${ds.name} has no patient reference`);
  return `LEFT JOIN (SELECT source_system, source_patient_id, patient_id FROM ${relation}
      WHERE ${d.oneOf('source_system', ref.systems)}) m
    ON m.source_system = ${ref.sourceSystem(d).replace(/\bsource_system\b/, 's1.source_system')} AND m.source_patient_id = s1.${ref.sourceId}`;
}

/** The raw landing value of `column` in a staged row (a raw column a derived value shadows gets `_raw_`). */
export function rawName(ds: TransformDataset, column: string): string {
  return ds.derived.some((x) => x.name === column) ? `_raw_${column}` : column;
}

/** Bronze columns a staged patient row carries besides the landing columns (the SSN hashed on read). */
const patientExtras = (ds: TransformDataset): string[] =>
  ds.entity === 'patients' ? ['ssn_hash', '_ssn_key_id'] : [];

/** Staged values that only the expectations read. */
const RUN_STARTED_AT = '_run_started_at';
const IS_DUPLICATE = '_is_duplicate';

/** A column of a staged row: where it comes from, and its name there (a landing column's may be `_raw_`). */
type StagedColumn =
  | { readonly kind: 'landing'; readonly column: string; readonly name: string }
  | { readonly kind: 'carried' | 'derived' | 'flag' | 'lookup'; readonly name: string };

/** The columns `stageSql` gives a staged row, in order, the options' extra `columns` aside. */
function stagedColumns(ds: TransformDataset, metadata: readonly string[]): StagedColumn[] {
  return [
    ...LANDING_COLUMNS[ds.entity].map((c): StagedColumn => ({
      kind: 'landing',
      column: c,
      name: rawName(ds, c),
    })),
    ...[...metadata, ...patientExtras(ds)].map((name): StagedColumn => ({ kind: 'carried', name })),
    ...ds.derived.map((x): StagedColumn => ({ kind: 'derived', name: x.name })),
    { kind: 'flag', name: RUN_STARTED_AT },
    { kind: 'flag', name: IS_DUPLICATE },
    ...ds.lookups.map((l): StagedColumn => ({ kind: 'lookup', name: l.name })),
  ];
}

/** The names of the columns `stageSql` gives a staged row, the options' extra `columns` aside. */
export function stagedColumnNames(ds: TransformDataset, metadata: readonly string[]): string[] {
  return stagedColumns(ds, metadata).map((c) => c.name);
}

/**
 * The layer of each derived value: 0 when its SQL names no other derived value, else one more than the
 * highest layer of those it names. A name that is also a landing column is the landing value there
 * (a column of the row's source wins over an alias of the same SELECT, on both engines), so it is no
 * dependency.
 */
function derivedLayers(
  ds: TransformDataset,
  sqls: readonly string[],
  landing: ReadonlySet<string>,
): number[] {
  const layers: number[] = [];
  sqls.forEach((sql, i) => {
    let layer = 0;
    ds.derived.slice(0, i).forEach((y, j) => {
      if (!landing.has(y.name) && new RegExp(`\\b${y.name}\\b`).test(sql))
        layer = Math.max(layer, (layers[j] ?? 0) + 1);
    });
    layers.push(layer);
  });
  return layers;
}

export function stageSql(d: Dialect, ds: TransformDataset, source: string, opts: StageSqlOptions): string {
  const landing = LANDING_COLUMNS[ds.entity];
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
  const dupsCte = opts.dups === 'inline' ? `\ndups AS (\n  ${duplicateKeysSql(d, ds, 's0')}),` : '';
  const dupsRef = opts.dups === 'inline' ? 'dups' : `${opts.dups} dups`;
  const carried = [...opts.metadata, ...patientExtras(ds)];
  const fromSource = `FROM s0 LEFT JOIN ${dupsRef} ON ${keyCols.map((k, i) => `s0.${k} IS NOT DISTINCT FROM dups._dup_key${i}`).join(' AND ')}
    AND s0._file_name = dups._dup_file`;
  const flags = `${opts.runStartedAt} AS ${RUN_STARTED_AT},
    COALESCE(s0._line_number > dups._first_line, FALSE) AS ${IS_DUPLICATE}`;
  const landingSet = new Set<string>(landing);
  const sqls = ds.derived.map((x) => x.sql(d));
  const layers = derivedLayers(ds, sqls, landingSet);
  const top = Math.max(0, ...layers);
  // Derived values that name others are computed a layer later, from columns: an alias named in the
  // same SELECT is its expression copied in (the birth date's ten times into the patient's age and data
  // quality score), which the engine then plans and evaluates as often. Until the last layer the landing
  // columns keep their names (derived SQL names the landing value so) and a derived value of the same
  // name is carried as `_d_<name>`.
  const carriedName = (name: string): string => d.ident(landingSet.has(name) ? `_d_${name}` : name);
  const layerSql = (k: number): string => {
    const own = ds.derived.flatMap((x, i) =>
      layers[i] === k ? [`${sqls[i] ?? ''} AS ${carriedName(x.name)}`] : [],
    );
    return k === 0
      ? `SELECT ${[...landing.map((c) => `s0.${d.ident(c)}`), ...carried.map((m) => `s0.${m}`), ...own].join(', ')},
    ${flags}
  ${fromSource}`
      : `SELECT *, ${own.join(',\n    ')} FROM s1_${k - 1}`;
  };
  const inner = Array.from({ length: top + 1 }, (_, k) => `s1_${k} AS (\n  ${layerSql(k)})`).join(',\n');
  // The last layer's columns under their staged names (the lookups join in after it).
  const final = stagedColumns(ds, opts.metadata).flatMap((c): string[] => {
    if (c.kind === 'landing')
      return [c.name === c.column ? d.ident(c.column) : `${d.ident(c.column)} AS ${d.ident(c.name)}`];
    if (c.kind === 'derived')
      return [landingSet.has(c.name) ? `${carriedName(c.name)} AS ${d.ident(c.name)}` : d.ident(c.name)];
    return c.kind === 'lookup' ? [] : [c.name];
  });
  return `WITH s0 AS (${source}),${dupsCte}
${inner},
s1 AS (
  SELECT ${final.join(', ')} FROM s1_${top})
SELECT s1.*${extra.length ? `, ${extra.join(', ')}` : ''}
FROM s1 ${lookups} ${opts.joins ?? ''}`.trimEnd();
}
