/**
 * Exactly-once ingestion per file (D2): reruns ingest nothing, a new file is ingested alone, the same
 * content under a new name and a changed file under an ingested name are reported and not double-counted,
 * and a full refresh rebuilds to what a fresh database computes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { formatLandingFileName } from '../../src/definitions/landing-files.ts';
import {
  T0,
  csvText,
  fingerprint,
  hoursAfter,
  makeLakehouse,
  patientRow,
  query,
  range,
  run,
  tableCounts,
  writeLandingFile,
  writeValidBatch,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

const DATA_TABLES = [
  'bronze_patients',
  'bronze_claims',
  'bronze_medical_events',
  'silver_patients',
  'silver_claims',
  'silver_medical_events',
  'gold_patients',
  'gold_claims',
  'gold_medical_events',
  'quarantine',
  'parked_rows',
];

function pick(
  counts: Record<string, number>,
  names: readonly string[] = DATA_TABLES,
): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, counts[n] ?? -1]));
}

test('exactly once per file, duplicates and changed files reported, full refresh = fresh build', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 6), firstKey: 1 });
  const r1 = await run(lake);
  assert.equal(r1.status, 'COMPLETED', r1.error);
  assert.deepEqual(
    r1.files.map((f) => f.action),
    ['ingested', 'ingested', 'ingested'],
  );
  const c1 = await tableCounts(lake.db);
  assert.equal(c1['bronze_patients'], 10);
  assert.equal(c1['gold_claims'], 10);

  // 1. A rerun ingests nothing and changes no data table.
  const fp1 = await fingerprint(lake.db);
  const r2 = await run(lake);
  assert.equal(r2.status, 'COMPLETED', r2.error);
  assert.deepEqual(
    r2.files.map((f) => f.action),
    ['skipped', 'skipped', 'skipped'],
  );
  assert.deepEqual(await fingerprint(lake.db), fp1, 'a rerun changes nothing');

  // 1b. Touching a file (new mtime, same content) is still skipped (content hash).
  const patientsFile = path.join(lake.landing, formatLandingFileName('patients', T0));
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(patientsFile, later, later);
  const r2b = await run(lake);
  assert.deepEqual(
    r2b.files.map((f) => f.action),
    ['skipped', 'skipped', 'skipped'],
  );
  assert.deepEqual(await fingerprint(lake.db), fp1);

  // 2. A new file is ingested alone.
  const t1 = hoursAfter(T0, 24);
  writeLandingFile(lake.landing, 'patients', t1, csvText('patients', [patientRow(50), patientRow(51)]));
  const r3 = await run(lake);
  assert.deepEqual(
    r3.files.filter((f) => f.action === 'ingested').map((f) => f.fileName),
    [formatLandingFileName('patients', t1)],
  );
  const c3 = await tableCounts(lake.db);
  assert.equal(c3['bronze_patients'], 12);
  assert.equal(c3['bronze_claims'], c1['bronze_claims']);
  const ing = await query<{ n: number }>(
    lake.db,
    `SELECT COUNT(*) AS n FROM bronze_patients WHERE _file_name = '${formatLandingFileName('patients', t1)}'`,
  );
  assert.equal(ing[0]?.n, 2);

  // 3. The same content under a new name: reported as duplicate_content, not counted twice.
  const t2 = hoursAfter(T0, 48);
  const dupName = formatLandingFileName('claims', t2);
  fs.copyFileSync(
    path.join(lake.landing, formatLandingFileName('claims', T0)),
    path.join(lake.landing, dupName),
  );
  const before = pick(await tableCounts(lake.db));
  const r4 = await run(lake);
  assert.equal(r4.status, 'COMPLETED', r4.error);
  const dup = r4.files.find((f) => f.fileName === dupName);
  assert.equal(dup?.action, 'duplicate_content');
  assert.match(dup?.note ?? '', new RegExp(formatLandingFileName('claims', T0)));
  assert.ok(r4.warnings.some((w) => w.includes(dupName)));
  assert.deepEqual(pick(await tableCounts(lake.db)), before, 'nothing double-counted');
  const recorded = await query<{ status: string; rows_read: number }>(
    lake.db,
    `SELECT status, rows_read FROM ingest_files WHERE file_name = '${dupName}'`,
  );
  assert.deepEqual(recorded, [{ status: 'duplicate_content', rows_read: 0 }]);
  // And it stays reported-not-ingested on the next run.
  const r4b = await run(lake);
  assert.notEqual(r4b.files.find((f) => f.fileName === dupName)?.action, 'ingested');
  assert.deepEqual(pick(await tableCounts(lake.db)), before);

  // 4. A changed file under an ingested name: reported, not ingested again.
  fs.appendFileSync(patientsFile, csvText('patients', [patientRow(60)]).split('\n')[1] + '\n');
  const r5 = await run(lake);
  assert.equal(r5.status, 'COMPLETED', r5.error);
  const changed = r5.files.find((f) => f.fileName === path.basename(patientsFile));
  assert.equal(changed?.action, 'changed_after_ingestion');
  assert.ok(r5.warnings.some((w) => w.includes(path.basename(patientsFile)) && /changed/.test(w)));
  assert.deepEqual(pick(await tableCounts(lake.db)), before, 'the changed file is not re-ingested');
  const note = await query<{ note: string | null }>(
    lake.db,
    `SELECT note FROM ingest_files WHERE file_name = '${path.basename(patientsFile)}'`,
  );
  assert.match(note[0]?.note ?? '', /changed after ingestion/);
  const logged = await query(
    lake.db,
    `SELECT 1 FROM event_log WHERE level = 'WARN' AND message LIKE '%${path.basename(patientsFile)}%changed%'`,
  );
  assert.ok(logged.length >= 1, 'reported in the event log');

  // 5. Full refresh rebuilds to the same state as a fresh database over the same landing files.
  const rf = await run(lake, { fullRefresh: true });
  assert.equal(rf.status, 'COMPLETED', rf.error);
  const fresh = makeLakehouse();
  lakes.push(fresh);
  for (const f of fs.readdirSync(lake.landing))
    fs.copyFileSync(path.join(lake.landing, f), path.join(fresh.landing, f));
  const rfresh = await run(fresh);
  assert.equal(rfresh.status, 'COMPLETED', rfresh.error);
  assert.deepEqual(
    rf.files.map((f) => [f.fileName, f.action]),
    rfresh.files.map((f) => [f.fileName, f.action]),
  );
  const a = await fingerprint(lake.db);
  const b = await fingerprint(fresh.db);
  assert.deepEqual(
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.rows])),
    Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v.rows])),
    'full refresh row counts = fresh build',
  );
  // Content (run-dependent columns ignored) too, except the ingest_files rows (file paths differ).
  for (const t of DATA_TABLES) assert.deepEqual(a[t], b[t], `${t} content after full refresh`);
  // A full refresh run after the append ingests the appended file content (it is a new state of the name).
  const c6 = await tableCounts(lake.db);
  assert.equal(c6['bronze_patients'], 13);
});

test('entries with landing names that are not regular files are reported and never read', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 3), firstKey: 1 });
  // A link to a valid landing file outside the folder, a folder and a named pipe, each under a landing
  // name: following the link could read anything on the machine, and reading the pipe would block.
  const outside = path.join(lake.dir, 'outside.csv');
  fs.writeFileSync(outside, csvText('patients', [patientRow(70)]));
  const t1 = hoursAfter(T0, 1);
  const link = formatLandingFileName('patients', t1);
  fs.symlinkSync(outside, path.join(lake.landing, link));
  const folder = formatLandingFileName('claims', t1);
  fs.mkdirSync(path.join(lake.landing, folder));
  const pipe = formatLandingFileName('medical_events', t1);
  execFileSync('mkfifo', [path.join(lake.landing, pipe)]);

  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);
  const actions = Object.fromEntries(r.files.map((f) => [f.fileName, [f.action, f.note ?? '']]));
  assert.deepEqual(actions[link], [
    'ignored',
    `a symbolic link, not a regular file: not read (copy the file itself into the landing folder)`,
  ]);
  assert.match(actions[folder]?.[1] ?? '', /^a folder, not a regular file/);
  assert.match(actions[pipe]?.[1] ?? '', /^a named pipe, not a regular file/);
  for (const name of [link, folder, pipe])
    assert.ok(
      r.warnings.some((w) => w.startsWith(`${name}: `)),
      `${name} is reported`,
    );
  assert.equal(r.files.filter((f) => f.action === 'ingested').length, 3);
  const counts = await tableCounts(lake.db);
  assert.equal(counts['bronze_patients'], 4, 'the linked file was not read');
  const recorded = await query<{ n: number }>(
    lake.db,
    `SELECT COUNT(*) AS n FROM ingest_files WHERE file_name IN ('${link}', '${folder}', '${pipe}')`,
  );
  assert.equal(recorded[0]?.n, 0, 'nothing recorded as ingested for them');
});

test('a landing folder that does not exist, or is a file, is reported; the run completes with nothing ingested', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const missing = path.join(lake.dir, 'no-such-folder');
  const r1 = await run({ db: lake.db, landing: missing });
  assert.equal(r1.status, 'COMPLETED', r1.error);
  assert.deepEqual(r1.warnings, [`the landing folder ${missing} does not exist: no file to ingest`]);
  const file = path.join(lake.dir, 'a-file');
  fs.writeFileSync(file, 'not a folder');
  const r2 = await run({ db: lake.db, landing: file });
  assert.equal(r2.status, 'COMPLETED', r2.error);
  assert.deepEqual(r2.warnings, [`${file} is not a folder: no file to ingest`]);
  assert.equal(r2.files.length, 0);
});
