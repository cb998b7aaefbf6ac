/**
 * How the DuckDB runner stores bronze rows: one Parquet segment per ingested landing file beside the
 * database, listed in bronze_segments, with each bronze dataset a view over its segments. Rows the
 * bronze expectations reject stay out of the view (they are in the quarantine); segments no committed
 * update lists are deleted; the lakehouse (database and segments folder) can move; a lakehouse whose
 * bronze rows were tables is migrated.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Database, sqlString } from '../../src/engine/database.ts';
import { ensureSchema } from '../../src/runner/schema.ts';
import { COMPACT_AT } from '../../src/runner/bronze-store.ts';
import {
  T0,
  claimRow,
  csvText,
  hoursAfter,
  makeLakehouse,
  patientRow,
  query,
  range,
  run,
  withDb,
  writeLandingFile,
  writeValidBatch,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();
const BRONZE = ['bronze_patients', 'bronze_claims', 'bronze_medical_events'] as const;

const segmentFiles = (db: string): string[] =>
  fs.existsSync(`${db}.bronze`)
    ? fs
        .readdirSync(`${db}.bronze`, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(`${db}.bronze`, path.join(e.parentPath, e.name)))
        .sort()
    : [];

async function listedSegments(db: string): Promise<string[]> {
  return (await query<{ segment: string }>(db, `SELECT segment FROM bronze_segments ORDER BY 1`)).map(
    (r) => r.segment,
  );
}

async function bronzeCounts(db: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of BRONZE)
    out[t] = (await query<{ n: number }>(db, `SELECT COUNT(*) AS n FROM ${t}`))[0]?.n ?? -1;
  return out;
}

/** A batch with two rows bronze rejects: a claim without its id and a line with a field too many. */
function writeBatchWithRejects(landing: string, at: Date): void {
  writeValidBatch(landing, at, { patients: range(1, 201), claimsPerPatient: 1, eventsPerPatient: 1 });
  const claims = csvText('claims', [
    claimRow(9001, 1),
    claimRow(9002, 2, { claim_id: '' }),
    claimRow(9003, 3),
  ]);
  writeLandingFile(landing, 'claims', at, `${claims}C9,P1,1,2,3,4,5,6,7,8,9,10,11\n`, 2);
}

test('bronze rows are Parquet segments beside the database, one per landing file, shown by the bronze views', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeBatchWithRejects(lake.landing, T0);
  const result = await run(lake);
  assert.equal(result.status, 'COMPLETED');

  const tables = await query<{ t: string; type: string }>(
    lake.db,
    `SELECT table_name AS t, table_type AS type FROM information_schema.tables WHERE table_name LIKE 'bronze_%' ORDER BY 1`,
  );
  assert.deepEqual(
    tables.map((t) => `${t.t} ${t.type}`),
    [
      'bronze_claims VIEW',
      'bronze_medical_events VIEW',
      'bronze_patients VIEW',
      'bronze_segments BASE TABLE',
    ],
  );
  // Every segment on disk is listed and every listed one is on disk: one per landing file.
  const listed = await listedSegments(lake.db);
  assert.deepEqual(segmentFiles(lake.db), listed);
  const perFile = await query<{
    file_name: string;
    dataset: string;
    rows_written: number;
    dropped: number[];
  }>(lake.db, `SELECT file_name, dataset, rows_written, dropped FROM bronze_segments ORDER BY file_name`);
  const ingested = await query<{ file_name: string }>(
    lake.db,
    `SELECT file_name FROM ingest_files ORDER BY 1`,
  );
  assert.deepEqual(
    perFile.map((s) => s.file_name),
    ingested.map((f) => f.file_name),
  );
  // The view shows what each segment holds minus its rejected rows, which are in the quarantine.
  const counts = await bronzeCounts(lake.db);
  for (const t of BRONZE)
    assert.equal(
      counts[t],
      perFile.filter((s) => s.dataset === t).reduce((n, s) => n + Number(s.rows_written), 0),
      t,
    );
  const rejected = await query<{ line_number: number }>(
    lake.db,
    `SELECT line_number FROM quarantine WHERE dataset = 'bronze_claims' ORDER BY 1`,
  );
  assert.deepEqual(
    rejected.map((r) => Number(r.line_number)),
    [3, 5],
  );
  const claimLines = await query<{ l: number; id: string }>(
    lake.db,
    `SELECT _line_number AS l, claim_id AS id FROM bronze_claims WHERE claim_id LIKE 'C%' AND _file_name IN (
       SELECT file_name FROM quarantine WHERE dataset = 'bronze_claims') ORDER BY 1`,
  );
  // The kept rows keep their own line numbers (2 and 4); lines 3 and 5 are not in bronze.
  assert.deepEqual(
    claimLines.map((r) => Number(r.l)),
    [2, 4],
  );
  // Each row's lineage is its landing file's name and path and the update's id, read back as text.
  const lineage = await query<{ rows: string }>(
    lake.db,
    `SELECT DISTINCT concat_ws(' | ', b._file_name, b._file_path, b._run_id, typeof(b._file_name), typeof(b._file_path),
       typeof(b._run_id)) AS rows
     FROM (SELECT _file_name, _file_path, _run_id FROM bronze_patients UNION ALL
       SELECT _file_name, _file_path, _run_id FROM bronze_claims UNION ALL
       SELECT _file_name, _file_path, _run_id FROM bronze_medical_events) b ORDER BY 1`,
  );
  const files = await query<{ rows: string }>(
    lake.db,
    `SELECT concat_ws(' | ', file_name, file_path, ${sqlString(result.runId)}, 'VARCHAR', 'VARCHAR', 'VARCHAR') AS rows
     FROM ingest_files ORDER BY 1`,
  );
  assert.ok(files.length >= 3);
  assert.deepEqual(lineage, files);
  // The database file holds no bronze row: no table of them.
  const inTables = await query<{ n: number }>(
    lake.db,
    `SELECT COUNT(*) AS n FROM duckdb_tables() WHERE table_name IN ('bronze_patients', 'bronze_claims', 'bronze_medical_events')`,
  );
  assert.equal(inTables[0]?.n, 0);
});

test('unlisted segments are deleted by the next update; a full refresh replaces every segment', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 101), claimsPerPatient: 1, eventsPerPatient: 1 });
  assert.equal((await run(lake)).status, 'COMPLETED');
  const before = await listedSegments(lake.db);
  // What an update killed before its commit leaves: a segment nothing lists.
  const orphan = path.join(`${lake.db}.bronze`, 'bronze_claims', 'killed-run-1.parquet');
  fs.copyFileSync(path.join(`${lake.db}.bronze`, before[0] ?? ''), orphan);
  writeValidBatch(lake.landing, hoursAfter(T0, 1), {
    patients: range(101, 121),
    claimsPerPatient: 1,
    eventsPerPatient: 1,
  });
  assert.equal((await run(lake)).status, 'COMPLETED');
  assert.ok(!fs.existsSync(orphan), 'the unlisted segment is gone');
  const afterBatch = await listedSegments(lake.db);
  const counts = await bronzeCounts(lake.db);
  assert.equal(afterBatch.length, before.length + 3);
  assert.deepEqual(segmentFiles(lake.db), afterBatch);

  const full = await run(lake, { fullRefresh: true });
  assert.equal(full.status, 'COMPLETED');
  const rebuilt = await listedSegments(lake.db);
  assert.equal(rebuilt.length, afterBatch.length);
  assert.equal(rebuilt.filter((s) => afterBatch.includes(s)).length, 0, 'every segment is new');
  assert.deepEqual(segmentFiles(lake.db), rebuilt);
  const again = await bronzeCounts(lake.db);
  assert.deepEqual(again, counts);
  assert.ok((counts['bronze_claims'] ?? 0) >= 120);
});

test('a moved lakehouse (database and segments folder) shows its bronze rows from any working folder', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 51), claimsPerPatient: 2, eventsPerPatient: 1 });
  assert.equal((await run(lake)).status, 'COMPLETED');
  const counts = await bronzeCounts(lake.db);
  const moved = path.join(lake.dir, 'elsewhere', 'moved.duckdb');
  fs.mkdirSync(path.dirname(moved));
  fs.renameSync(lake.db, moved);
  fs.renameSync(`${lake.db}.bronze`, `${moved}.bronze`);
  const cwd = process.cwd();
  process.chdir(lake.landing);
  try {
    assert.deepEqual(await bronzeCounts(moved), counts);
  } finally {
    process.chdir(cwd);
  }
  // 50 patients in each of two source systems, two claims and one event each.
  assert.deepEqual(counts, { bronze_patients: 100, bronze_claims: 100, bronze_medical_events: 50 });
});

test('a lakehouse whose bronze rows are tables (schema 4) is migrated to segments, rows and lines kept', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeBatchWithRejects(lake.landing, T0);
  writeLandingFile(
    lake.landing,
    'patients',
    hoursAfter(T0, 1),
    csvText('patients', [patientRow(300)]).replace('\n', '\n\n\n'),
  );
  assert.equal((await run(lake)).status, 'COMPLETED');
  const rowsOf = (db: Database, t: string): Promise<Record<string, unknown>[]> =>
    db.all(`SELECT * FROM ${t} ORDER BY ALL`);
  const expected = await withDb(lake.db, async (db) => Promise.all(BRONZE.map((t) => rowsOf(db, t))));
  // The schema-4 shape: bronze tables, no segments.
  const db = await Database.open(lake.db);
  try {
    for (const t of BRONZE) {
      await db.run(`CREATE TABLE ${t}__old AS SELECT * FROM ${t}`);
      await db.run(`DROP VIEW ${t}`);
      await db.run(`ALTER TABLE ${t}__old RENAME TO ${t}`);
    }
    await db.run(`DROP TABLE bronze_segments`);
    await db.run(`UPDATE carelake_meta SET value = '4' WHERE key = 'schema_version'`);
  } finally {
    db.close();
  }
  fs.rmSync(`${lake.db}.bronze`, { recursive: true });
  const migrated = await Database.open(lake.db);
  try {
    await ensureSchema(migrated);
  } finally {
    migrated.close();
  }
  const types = await query<{ type: string }>(
    lake.db,
    `SELECT DISTINCT table_type AS type FROM information_schema.tables WHERE table_name IN ('bronze_patients', 'bronze_claims', 'bronze_medical_events')`,
  );
  assert.deepEqual(types, [{ type: 'VIEW' }]);
  const actual = await withDb(lake.db, async (d) => Promise.all(BRONZE.map((t) => rowsOf(d, t))));
  assert.deepEqual(actual, expected);
  assert.equal((await listedSegments(lake.db)).length, 3);
  // The patient after two blank lines keeps its physical line.
  assert.ok(
    (expected[0] ?? []).some(
      (r) => r['patient_id'] === patientRow(300)['patient_id'] && Number(r['_line_number']) === 4,
    ),
  );
  // Later updates write segments next to the migrated ones.
  writeValidBatch(lake.landing, hoursAfter(T0, 2), {
    patients: range(400, 410),
    claimsPerPatient: 1,
    eventsPerPatient: 1,
  });
  assert.equal((await run(lake)).status, 'COMPLETED');
  assert.equal((await listedSegments(lake.db)).length, 6);
  assert.deepEqual(segmentFiles(lake.db), await listedSegments(lake.db));
});

test('many small segments of earlier updates are merged into one, rows, lines and rejections kept', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 11), claimsPerPatient: 0, eventsPerPatient: 0 });
  // COMPACT_AT + 6 claims files of two rows, one of them with a claim bronze rejects (no claim id).
  const files = COMPACT_AT + 6;
  for (let i = 0; i < files; i++)
    writeLandingFile(
      lake.landing,
      'claims',
      new Date(T0.getTime() + (i + 1) * 60_000),
      csvText('claims', [claimRow(2 * i + 1, 1), claimRow(2 * i + 2, 2, i === 3 ? { claim_id: '' } : {})]),
    );
  assert.equal((await run(lake)).status, 'COMPLETED');
  const claims = (db: string): Promise<Record<string, unknown>[]> =>
    query(db, `SELECT * EXCLUDE (_run_id, _ingested_at) FROM bronze_claims ORDER BY ALL`);
  const before = await claims(lake.db);
  assert.equal(before.length, 2 * files - 1);
  const segments = await query<{ n: number }>(
    lake.db,
    `SELECT COUNT(*) AS n FROM bronze_segments WHERE dataset = 'bronze_claims'`,
  );
  assert.equal(segments[0]?.n, files);
  // The next update merges them (its own segment stays apart).
  writeLandingFile(lake.landing, 'claims', hoursAfter(T0, 5), csvText('claims', [claimRow(999, 3)]));
  assert.equal((await run(lake)).status, 'COMPLETED');
  const after = await query<{ dataset: string; n: number; rows: number }>(
    lake.db,
    `SELECT dataset, COUNT(*) AS n, SUM(rows_written) AS rows FROM bronze_segments GROUP BY 1 ORDER BY 1`,
  );
  assert.deepEqual(
    after.find((r) => r.dataset === 'bronze_claims'),
    { dataset: 'bronze_claims', n: 2, rows: 2 * files },
  );
  assert.deepEqual(segmentFiles(lake.db), await listedSegments(lake.db));
  const rows = await claims(lake.db);
  assert.deepEqual(
    rows.filter((r) => r['claim_id'] !== claimRow(999, 3)['claim_id']),
    before,
  );
  assert.equal(rows.length, before.length + 1);
});
