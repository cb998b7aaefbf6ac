import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { DATASETS } from '../definitions/pipeline.ts';
import type { IngestDataset } from '../definitions/model.ts';
import { Database, sqlString } from '../engine/database.ts';
import { makeDirectory } from '../support/files.ts';

/**
 * Bronze storage in the DuckDB runner. Each landing file's bronze rows are one Parquet file (a segment)
 * in a folder beside the database (`<db>.bronze/<dataset>/`), written by the very read that stages the
 * file; `bronze_<entity>` is a view over the segments that `bronze_segments` lists. Written into a table
 * instead, every bronze row was written twice (staged, then inserted), and the insert was the costliest
 * write of a first load (1M people, interleaved: 13.5 s of 90 on average).
 *
 * Consistency is the database's: a segment is written before its `bronze_segments` row, in the update's
 * transaction, and synced to the disk before the commit; a segment no committed row lists (an update
 * killed or rolled back, or replaced by a full refresh) is deleted by the next update (sweepSegments).
 * Rows the bronze expectations reject stay in the file and are hidden by the view: their positions are
 * the segment's `dropped` list (their records are in the quarantine). A file whose line numbers are
 * not its record positions (blank lines, quoted line breaks, not read as CSV) is written again with its
 * line numbers and without its rejected rows.
 */

/** Columns a segment holds besides the dataset's: what the check pass reads and the view leaves out. */
function segmentExtras(ds: IngestDataset): readonly (readonly [string, string])[] {
  return [
    ['_field_count', 'INTEGER'],
    ['_raw_line', 'VARCHAR'],
    ...(ds.entity === 'patients' ? [['_ssn_present', 'BOOLEAN'] as const] : []),
  ];
}

/** The columns of a segment, in order, with their types. */
export function segmentColumns(ds: IngestDataset): readonly (readonly [string, string])[] {
  return [...ds.columns.map((c) => [c.name, c.type] as const), ...segmentExtras(ds)];
}

/**
 * A segment's columns over `from`, a relation with the dataset's columns (a bronze table or view): the
 * check pass's columns are NULL (a merged or migrated segment holds no rejected row).
 */
function asSegmentSql(ds: IngestDataset, from: string): string {
  const own = new Set(ds.columns.map((c) => c.name));
  const cols = segmentColumns(ds).map(
    ([c, type]) => `CAST(${own.has(c) ? d.ident(c) : 'NULL'} AS ${type}) AS ${d.ident(c)}`,
  );
  return `SELECT ${cols.join(', ')} FROM ${from}`;
}

/**
 * Lists a segment in `bronze_segments` (in the update's transaction, after the file is written).
 * `dropped` is SQL of the positions of its rejected rows (default: none); `fileName` NULL for a segment
 * of several landing files.
 */
export async function listSegment(
  db: Database,
  segment: {
    dataset: string;
    name: string;
    fileName: string | null;
    runId: string;
    rows: number;
    dropped?: string;
    writtenAt?: string;
  },
): Promise<void> {
  await db.run(
    `INSERT INTO bronze_segments SELECT ?, ?, ?, ?, ?, ${segment.dropped ?? 'CAST([] AS BIGINT[])'}, ${segment.writtenAt ?? 'now()::TIMESTAMP'}`,
    [segment.dataset, segment.name, segment.fileName, segment.runId, segment.rows],
  );
}

/** In-memory databases keep their segments in a temporary folder of the process, deleted when it exits. */
let memoryDir: string | undefined;

/** The folder of the segments of the database at `dbPath`. */
export function segmentsDir(dbPath: string): string {
  if (dbPath !== ':memory:') return Database.filesDir(dbPath);
  if (memoryDir === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bronze-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    memoryDir = dir;
  }
  return memoryDir;
}

/**
 * A new segment's file (absolute) and the name `bronze_segments` keeps: relative to the segments folder
 * (the engine looks for relative paths there, see Database.filesDir), so the lakehouse can move.
 */
export function newSegment(
  dbPath: string,
  dataset: string,
  runId: string,
  seq: number,
): { file: string; name: string } {
  const dir = path.join(segmentsDir(dbPath), dataset);
  makeDirectory(dir);
  const file = path.join(dir, `${runId}-${seq}.parquet`);
  const name = dbPath === ':memory:' ? file : path.relative(segmentsDir(dbPath), file);
  return { file, name };
}

/**
 * The rows of `segments` (names as `bronze_segments` keeps them) as the dataset's columns: the rows the
 * expectations rejected left out, and a row's line number its position (header = line 1) unless the
 * segment holds it. No segment: no rows, typed.
 */
export function segmentRowsSql(ds: IngestDataset, segments: readonly string[]): string {
  if (segments.length === 0)
    return `SELECT ${ds.columns.map((c) => `CAST(NULL AS ${c.type}) AS ${d.ident(c.name)}`).join(', ')} WHERE false`;
  const cols = ds.columns.map((c) =>
    c.name === '_line_number'
      ? `COALESCE(s._line_number, s.file_row_number + 2) AS _line_number`
      : `s.${d.ident(c.name)}`,
  );
  return `SELECT ${cols.join(', ')}
    FROM read_parquet([${segments.map(sqlString).join(', ')}], file_row_number = true) s
    ANTI JOIN (SELECT file_name, UNNEST(dropped) AS pos FROM bronze_segments
      WHERE dataset = ${sqlString(ds.name)} AND len(dropped) > 0) x
      ON x.file_name = s._file_name AND x.pos = s.file_row_number`;
}

const ingestDatasets = (): IngestDataset[] =>
  DATASETS.filter((ds): ds is IngestDataset => ds.kind === 'ingest');

/**
 * (Re)defines each bronze view over the segments `bronze_segments` lists for it. `temporary`: as
 * temporary views that name each segment by its full path (they hide the stored views for this
 * connection; see restrictToLakehouse).
 */
export async function defineBronzeViews(db: Database, temporary = false): Promise<void> {
  const rows = await db.all<{ dataset: string; segments: string[] | null }>(
    `SELECT dataset, list(segment ORDER BY written_at, segment) AS segments FROM bronze_segments GROUP BY dataset`,
  );
  const dir = segmentsDir(db.path);
  const byDataset = new Map(
    rows.map((r) => [r.dataset, (r.segments ?? []).map((s) => (temporary ? path.resolve(dir, s) : s))]),
  );
  for (const ds of ingestDatasets())
    await db.run(
      `CREATE OR REPLACE ${temporary ? 'TEMP ' : ''}VIEW ${ds.name} AS ${segmentRowsSql(ds, byDataset.get(ds.name) ?? [])}`,
    );
}

/**
 * Takes away the engine's access to every file but the lakehouse's own (reading a CSV or Parquet file,
 * COPY TO, ATTACH, extensions), for queries a user writes. The engine checks a relative path before it
 * looks for it in the segments folder, so the bronze views are defined again for this connection with
 * each segment's full path, inside the one folder left readable.
 */
export async function restrictToLakehouse(db: Database): Promise<void> {
  await db.run(`SET allowed_directories = [${sqlString(segmentsDir(db.path) + path.sep)}]`);
  await db.run(`SET enable_external_access = false`);
  await defineBronzeViews(db, true);
}

/** Past this many small segments a dataset's small segments are merged into one (compactSegments). */
export const COMPACT_AT = 64;
/** A segment of fewer rows than this is small. */
export const SMALL_SEGMENT_ROWS = 500_000;

/**
 * Merges a dataset's small segments into one once it has more than COMPACT_AT of them, as Delta's
 * OPTIMIZE merges small files: an update of a few files adds a segment per file, and every read of a
 * bronze view (and every definition of one) opens each segment it lists. The merged segment holds the
 * rows the view showed, with their line numbers, and no rejected row; the merged files are deleted
 * after the commit (sweepSegments). In the update's transaction, before the views are defined; only
 * segments of earlier updates are merged (this update's rows are read from its own segments). Returns
 * how many segments it merged.
 */
export async function compactSegments(db: Database, runId: string): Promise<number> {
  let merged = 0;
  for (const ds of ingestDatasets()) {
    const small = await db.all<{ segment: string }>(
      `SELECT segment FROM bronze_segments WHERE dataset = ? AND rows_written < ${SMALL_SEGMENT_ROWS}
         AND run_id IS DISTINCT FROM ? ORDER BY written_at, segment`,
      [ds.name, runId],
    );
    if (small.length <= COMPACT_AT) continue;
    const names = small.map((r) => r.segment);
    const { file, name } = newSegment(db.path, ds.name, runId, 0);
    const rows = await db.writeParquet(file, asSegmentSql(ds, `(${segmentRowsSql(ds, names)})`));
    db.syncFileBehind(file);
    await db.run(
      `DELETE FROM bronze_segments WHERE dataset = ? AND segment IN (${names.map(sqlString).join(', ')})`,
      [ds.name],
    );
    await listSegment(db, { dataset: ds.name, name, fileName: null, runId, rows });
    merged += names.length;
  }
  return merged;
}

/**
 * Deletes every file in the segments folder that no committed `bronze_segments` row lists: segments of
 * an update that was killed or rolled back, and those a full refresh replaced. Only the holder of the
 * update lock calls it, outside a transaction. Returns how many files it deleted.
 */
export async function sweepSegments(db: Database): Promise<number> {
  const dir = segmentsDir(db.path);
  if (!fs.existsSync(dir)) return 0;
  const listed = new Set(
    (await db.all<{ segment: string }>(`SELECT segment FROM bronze_segments`)).map((r) =>
      path.resolve(dir, r.segment),
    ),
  );
  let removed = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (listed.has(file)) continue;
    fs.rmSync(file, { force: true });
    removed += 1;
  }
  return removed;
}

/**
 * Schema 4 → 5: bronze tables become views over segments. Each table's rows are written to one segment
 * with their line numbers, listed, and the table dropped, in one transaction (a kill leaves the table).
 * Returns whether it migrated.
 */
export async function migrateBronzeTables(db: Database): Promise<boolean> {
  const tables = new Set(
    (
      await db.all<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'`,
      )
    ).map((t) => t.name),
  );
  const old = ingestDatasets().filter((ds) => tables.has(ds.name));
  if (old.length === 0) return false;
  const runId = `migrated-${Date.now()}`;
  await db.transaction(async () => {
    let seq = 0;
    for (const ds of old) {
      seq += 1;
      const { file, name } = newSegment(db.path, ds.name, runId, seq);
      const rows = await db.writeParquet(file, asSegmentSql(ds, ds.name));
      db.syncFileBehind(file);
      await listSegment(db, { dataset: ds.name, name, fileName: null, runId, rows });
      await db.run(`DROP TABLE ${ds.name}`);
    }
    await defineBronzeViews(db);
  });
  return true;
}
