import type { RowRewriter } from '../identity/review.ts';
import { duckdbDialect as d, storedType } from '../dialect/duckdb.ts';
import { DATASETS, dataset } from '../definitions/pipeline.ts';
import type { Dataset } from '../definitions/model.ts';
import type { Database } from '../engine/database.ts';
import type { RunContext } from './context.ts';

/**
 * The change data feed of silver and gold tables, like Delta's `table_changes()` (D5).
 *
 * Storage: live rows carry `_commit_version` and `_change_type` (`insert` or `update_postimage`), so an
 * insert costs nothing extra. A row that is replaced or deleted moves to `<table>__changes` with its
 * own version and kind, plus `_end_version` and `_end_type` (`update_preimage` or `delete`): the feed is
 * the union of both. Versions are per table, in `table_versions`, one per update that changed the table,
 * allocated inside the update's transaction (a rolled-back update leaves no version).
 *
 * Gold facts are views over silver in the DuckDB engine: their feed is their silver table's, with the
 * view's columns.
 */
export type ChangeType = 'insert' | 'update_preimage' | 'update_postimage' | 'delete';

/** Tables whose changes are stored: every silver and gold dataset kept as a table. */
export const FEED_TABLES: readonly string[] = DATASETS.filter(
  (ds) => ds.layer !== 'bronze' && ds.kind !== 'fact',
).map((ds) => ds.name);

/** Datasets whose feed can be read: the feed tables and the gold fact views over them. */
export const FEED_DATASETS: readonly string[] = DATASETS.filter((ds) => ds.layer !== 'bronze').map(
  (ds) => ds.name,
);

export const changesTable = (table: string): string => `${table}__changes`;

/** The change types of live rows (a replaced or deleted row moves to the change table). */
export const LIVE_CHANGE_TYPES: readonly ChangeType[] = ['insert', 'update_postimage'];

/**
 * The columns every live feed table carries besides its defined columns. The change type is one of two,
 * stored as an enumeration (every row of a first load carries one: 11 M texts to write at 1M people).
 */
export const LIVE_FEED_COLUMNS = [
  '_commit_version BIGINT',
  `_change_type ${storedType('VARCHAR', false, LIVE_CHANGE_TYPES)}`,
] as const;

const columnList = (ds: Dataset): string => ds.columns.map((c) => `${d.ident(c.name)} ${c.type}`).join(', ');

/** DDL of the change table of a feed table. */
export function changesTableDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${changesTable(table)} (${columnList(dataset(table))},
    _commit_version BIGINT, _change_type VARCHAR, _end_version BIGINT, _end_type VARCHAR)`;
}

export const TABLE_VERSIONS_DDL = `CREATE TABLE IF NOT EXISTS table_versions (
  table_name VARCHAR, version BIGINT, commit_timestamp TIMESTAMP, run_id VARCHAR, operation VARCHAR,
  PRIMARY KEY (table_name, version))`;

/** The version this update writes to `table` (allocated on first use, then reused within the update). */
export async function commitVersion(ctx: RunContext, table: string): Promise<number> {
  const known = ctx.versions.get(table);
  if (known !== undefined) return known;
  const row = await ctx.db.one<{ v: number }>(
    `INSERT INTO table_versions
     SELECT ?, COALESCE(MAX(version), 0) + 1, ${ctx.startedAtSql}, ?, ? FROM table_versions WHERE table_name = ?
     RETURNING version AS v`,
    [table, ctx.runId, ctx.fullRefresh ? 'FULL REFRESH' : 'UPDATE', table],
  );
  const v = row?.v ?? 1;
  ctx.versions.set(table, v);
  return v;
}

/**
 * Moves the rows of `table` that `where` selects (over alias `t`; callers name rows by `rowid`, stable
 * within the update's transaction) into its change table, ending as `endType` at `version`.
 */
async function retire(
  db: Database,
  table: string,
  where: string,
  endType: 'update_preimage' | 'delete',
  version: number,
): Promise<void> {
  await db.run(`INSERT INTO ${changesTable(table)} BY NAME
    SELECT t.*, ${version} AS _end_version, '${endType}' AS _end_type FROM ${table} t WHERE ${where}`);
  await db.run(`DELETE FROM ${table} t WHERE ${where}`);
}

/** Full refresh: every row of every feed table ends as a `delete`; the rebuilt rows follow as inserts. */
export async function retireAllRows(ctx: RunContext): Promise<void> {
  for (const table of FEED_TABLES) {
    if (await ctx.db.isEmpty(table)) continue;
    await retire(ctx.db, table, 'TRUE', 'delete', await commitVersion(ctx, table));
  }
}

const keyMatch = (keys: readonly string[], a: string, b: string): string =>
  keys.map((k) => `${a}.${d.ident(k)} = ${b}.${d.ident(k)}`).join(' AND ');

/** Gives back a version allocated in this update when nothing was written with it. */
async function releaseIfUnused(ctx: RunContext, table: string, version: number): Promise<number> {
  const n =
    (await ctx.db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE _commit_version = ${version}`))
      ?.n ?? 0;
  const ended =
    n > 0 ||
    !(await ctx.db.isEmpty(`(SELECT 1 FROM ${changesTable(table)} WHERE _end_version = ${version})`));
  if (!ended) {
    await ctx.db.run(`DELETE FROM table_versions WHERE table_name = '${table}' AND version = ${version}`);
    ctx.versions.delete(table);
  }
  return n;
}

/**
 * Upserts `rows` (a temp table or a SELECT with the table's defined columns, one row per key) into
 * `table` by `keys`: an existing key ends as an `update_preimage` and its new row is an
 * `update_postimage`; a new key is an `insert`. Only this update's keys are probed; into an empty table
 * (first load, full refresh) the rows go straight in. Returns how many rows were written and how many
 * of them replaced a row.
 */
export async function upsertWithFeed(
  ctx: RunContext,
  table: string,
  rows: string,
  keys: readonly string[],
): Promise<{ written: number; updated: number }> {
  const cols = dataset(table)
    .columns.map((c) => `r.${d.ident(c.name)}`)
    .join(', ');
  const source = /^\s*select\b/i.test(rows) ? `(${rows})` : rows;
  const hadVersion = ctx.versions.has(table);
  const v = await commitVersion(ctx, table);
  if (await ctx.db.isEmpty(table)) {
    await ctx.db.run(`INSERT INTO ${table} BY NAME
      SELECT ${cols}, ${v} AS _commit_version, 'insert' AS _change_type FROM ${source} r`);
    const written = hadVersion
      ? ((await ctx.db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0)
      : await releaseIfUnused(ctx, table, v);
    return { written, updated: 0 };
  }
  await ctx.db.materialize('feed_rows', `SELECT * FROM ${source}`);
  await ctx.db.materialize(
    'feed_replaced',
    `SELECT t.rowid AS _rid, ${keys.map((k) => `t.${d.ident(k)}`).join(', ')} FROM ${table} t
    JOIN (SELECT DISTINCT ${keys.map((k) => d.ident(k)).join(', ')} FROM feed_rows) k ON ${keyMatch(keys, 'k', 't')}`,
  );
  const counts = await ctx.db.one<{ written: number; updated: number }>(
    'SELECT (SELECT COUNT(*) FROM feed_rows) AS written, (SELECT COUNT(*) FROM feed_replaced) AS updated',
  );
  const written = counts?.written ?? 0;
  const updated = counts?.updated ?? 0;
  if (updated > 0)
    await retire(ctx.db, table, 't.rowid IN (SELECT _rid FROM feed_replaced)', 'update_preimage', v);
  if (written > 0)
    await ctx.db.run(`INSERT INTO ${table} BY NAME
      SELECT ${cols}, ${v} AS _commit_version,
        ${updated > 0 ? `CASE WHEN EXISTS (SELECT 1 FROM feed_replaced k WHERE ${keyMatch(keys, 'k', 'r')}) THEN 'update_postimage' ELSE 'insert' END` : "'insert'"} AS _change_type
      FROM feed_rows r`);
  else if (!hadVersion) await releaseIfUnused(ctx, table, v);
  return { written, updated };
}

/**
 * Replaces the rows of `table` that `replacedWhere` selects (over alias `t`) with `rows` (a temp table
 * or SELECT with the defined columns): a replaced row whose key comes back ends as an
 * `update_preimage` (its successor is an `update_postimage`), otherwise as a `delete`; a row with a new
 * key is an `insert`. The caller says which rows change, so unchanged rows produce no change rows.
 */
export async function replaceWithFeed(
  ctx: RunContext,
  table: string,
  replacedWhere: string,
  rows: string,
  keys: readonly string[],
): Promise<void> {
  const source = /^\s*select\b/i.test(rows) ? `(${rows})` : rows;
  await ctx.db.materialize('feed_rows', `SELECT * FROM ${source}`);
  await ctx.db.materialize(
    'feed_replaced',
    `SELECT t.rowid AS _rid, ${keys.map((k) => `t.${d.ident(k)}`).join(', ')},
      EXISTS (SELECT 1 FROM feed_rows r WHERE ${keyMatch(keys, 'r', 't')}) AS _returns
    FROM ${table} t WHERE ${replacedWhere}`,
  );
  const counts = await ctx.db.one<{ updated: number; deleted: number; written: number }>(
    `SELECT (SELECT COUNT(*) FILTER (WHERE _returns) FROM feed_replaced) AS updated,
       (SELECT COUNT(*) FILTER (WHERE NOT _returns) FROM feed_replaced) AS deleted,
       (SELECT COUNT(*) FROM feed_rows) AS written`,
  );
  const updated = counts?.updated ?? 0;
  const deleted = counts?.deleted ?? 0;
  if (updated + deleted + (counts?.written ?? 0) > 0) {
    const v = await commitVersion(ctx, table);
    for (const [returns, endType, n] of [
      [true, 'update_preimage', updated],
      [false, 'delete', deleted],
    ] as const) {
      if (n > 0)
        await retire(
          ctx.db,
          table,
          `t.rowid IN (SELECT _rid FROM feed_replaced WHERE ${returns ? '' : 'NOT '}_returns)`,
          endType,
          v,
        );
    }
    const cols = dataset(table)
      .columns.map((c) => `r.${d.ident(c.name)}`)
      .join(', ');
    await ctx.db.run(`INSERT INTO ${table} BY NAME
      SELECT ${cols}, ${v} AS _commit_version,
        CASE WHEN EXISTS (SELECT 1 FROM feed_replaced k WHERE ${keyMatch(keys, 'k', 'r')}) THEN 'update_postimage' ELSE 'insert' END AS _change_type
      FROM feed_rows r`);
  }
}

/** A request for changes the feed cannot answer (unknown table, versions out of range). */
export class ChangeFeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChangeFeedError';
  }
}

export interface ChangeRange {
  readonly fromVersion: number;
  readonly toVersion?: number;
}

/** The latest version of a dataset's feed (0 when it never changed). */
export async function latestVersion(db: Database, name: string): Promise<number> {
  const table = feedSource(name).table;
  const row = await db.one<{ v: number }>(
    `SELECT COALESCE(MAX(version), 0) AS v FROM table_versions WHERE table_name = '${table}'`,
  );
  return row?.v ?? 0;
}

function feedSource(name: string): { table: string; columns: string[]; keys: readonly string[] } {
  if (!FEED_DATASETS.includes(name))
    throw new ChangeFeedError(
      `no change feed for "${name}"; tables with a change feed: ${FEED_DATASETS.join(', ')}`,
    );
  const ds = dataset(name);
  if (ds.kind === 'fact') {
    // A gold fact view: its upstream silver table's feed, with the view's columns.
    const table = ds.upstream[0] ?? '';
    return {
      table,
      columns: ds.columns.map((c) => `${c.sql ? c.sql(d) : d.ident(c.name)} AS ${d.ident(c.name)}`),
      keys: ds.keys,
    };
  }
  return { table: name, columns: ds.columns.map((c) => d.ident(c.name)), keys: ds.keys };
}

/**
 * The changes of a silver or gold dataset between two versions (inclusive; to the latest when `toVersion`
 * is absent), oldest first; within a version deletes come first, then each key's pre-image before its
 * post-image, then inserts. Every row has the dataset's columns plus `_change_type`, `_commit_version`
 * and `_commit_timestamp`.
 */
export async function readChanges(
  db: Database,
  name: string,
  range: ChangeRange,
): Promise<Record<string, unknown>[]> {
  return db.all(await changesSql(db, name, range));
}

/** The query of readChanges, for a reader that streams its rows (checks the range like readChanges). */
export async function changesSql(db: Database, name: string, range: ChangeRange): Promise<string> {
  const { table, columns, keys } = feedSource(name);
  const latest = await latestVersion(db, name);
  const from = range.fromVersion;
  const to = range.toVersion ?? latest;
  if (!Number.isSafeInteger(from) || from < 0)
    throw new ChangeFeedError(`the start version must be a whole number ≥ 0, got ${from}`);
  if (from > latest)
    throw new ChangeFeedError(
      `${name} has no version ${from}: its latest version is ${latest}${table !== name ? ` (the version of ${table})` : ''}`,
    );
  if (!Number.isSafeInteger(to) || to < from)
    throw new ChangeFeedError(`the end version (${to}) is before the start version (${from})`);
  const names = dataset(table).columns.map((c) => d.ident(c.name));
  const between = (col: string): string => `${col} BETWEEN ${from} AND ${to}`;
  const rank = `CASE f._change_type WHEN 'delete' THEN 0 WHEN 'update_preimage' THEN 1 WHEN 'update_postimage' THEN 2 ELSE 3 END`;
  return `
    WITH f AS (
      SELECT ${names.join(', ')}, _change_type, _commit_version FROM ${table} WHERE ${between('_commit_version')}
      UNION ALL
      SELECT ${names.join(', ')}, _change_type, _commit_version FROM ${changesTable(table)} WHERE ${between('_commit_version')}
      UNION ALL
      SELECT ${names.join(', ')}, _end_type, _end_version FROM ${changesTable(table)} WHERE ${between('_end_version')})
    SELECT ${columns.join(', ')}, f._change_type, f._commit_version, v.commit_timestamp AS _commit_timestamp
    FROM f LEFT JOIN table_versions v ON v.table_name = '${table}' AND v.version = f._commit_version
    ORDER BY f._commit_version, f._change_type = 'delete' DESC, ${keys.map((k) => `f.${d.ident(k)}`).join(', ')}, ${rank}`;
}

/**
 * A row rewriter for identity merges that records the change feed: rewritten rows end as
 * `update_preimage` with an `update_postimage` successor, removed rows as `delete`.
 */
export function feedRewriter(ctx: RunContext): RowRewriter {
  return {
    update: (table, where, set) =>
      replaceWithFeed(
        ctx,
        table,
        where,
        `SELECT * REPLACE (${Object.entries(set)
          .map(([c, e]) => `${e} AS ${d.ident(c)}`)
          .join(', ')}) FROM ${table} t WHERE ${where}`,
        dataset(table).keys,
      ),
    remove: (table, where) =>
      replaceWithFeed(ctx, table, where, `SELECT * FROM ${table} t WHERE FALSE`, dataset(table).keys),
  };
}
