/**
 * A landing file still being written is not read in part: one that ends mid-line and changed within
 * MID_LINE_QUIET_SECONDS, or that changes while it is inspected, is left for a later run (and not
 * recorded, so that run reads it whole); one that changes while it is ingested fails the update, which
 * rolls back. A file that really ends without a line break is ingested once it has been left alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { formatLandingFileName } from '../../src/definitions/landing-files.ts';
import {
  MID_LINE_QUIET_SECONDS,
  inspectFile,
  scanLanding,
  stillBeingWritten,
} from '../../src/runner/landing.ts';
import {
  T0,
  ageFile,
  claimRow,
  csvText,
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

const DATA_TABLES = [
  'bronze_patients',
  'silver_patients',
  'gold_patients',
  'silver_patient_sources',
  'quarantine',
  'ingest_files',
];

const lakes = lakehousesRemovedAfterwards();

test('a file cut mid-line is left for a later run, then read whole once complete; an old one without a final line break is ingested', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 4), firstKey: 1 });
  // The next extract's patients file as a copy would leave it: the header, 7 records, and a cut eighth.
  const t1 = hoursAfter(T0, 24);
  const full = csvText(
    'patients',
    range(10, 20).map((i) => patientRow(i)),
  );
  const lines = full.split('\n');
  const written = `${lines.slice(0, 8).join('\n')}\n${(lines[8] ?? '').slice(0, 10)}`;
  const partial = writeLandingFile(lake.landing, 'patients', t1, written);
  const name = path.basename(partial);

  const r1 = await run(lake);
  assert.equal(r1.status, 'COMPLETED', r1.error);
  const d1 = r1.files.find((f) => f.fileName === name);
  assert.equal(d1?.action, 'deferred');
  assert.match(
    d1?.note ?? '',
    /ends mid-line and was written \d+ s ago \(still being written\?\); left for a later run/,
  );
  assert.ok(r1.warnings.some((w) => w.startsWith(`${name}: ends mid-line`)));
  assert.deepEqual(
    r1.files
      .filter((f) => f.action === 'ingested')
      .map((f) => f.fileName)
      .sort(),
    (['patients', 'claims', 'medical_events'] as const).map((e) => formatLandingFileName(e, T0)).sort(),
  );
  // Nothing of it is kept or recorded: not in bronze, not in the quarantine, not in ingest_files.
  const seen = await query<{ bronze: number; quarantined: number; recorded: number }>(
    lake.db,
    `SELECT (SELECT COUNT(*) FROM bronze_patients WHERE _file_name = '${name}') AS bronze,
       (SELECT COUNT(*) FROM quarantine WHERE file_name = '${name}') AS quarantined,
       (SELECT COUNT(*) FROM ingest_files WHERE file_name = '${name}') AS recorded`,
  );
  assert.deepEqual(seen, [{ bronze: 0, quarantined: 0, recorded: 0 }]);

  // The writer finishes: the next run reads all ten records, none quarantined as malformed.
  fs.writeFileSync(partial, full);
  const r2 = await run(lake);
  assert.equal(r2.status, 'COMPLETED', r2.error);
  assert.equal(r2.files.find((f) => f.fileName === name)?.action, 'ingested');
  const whole = await query<{ bronze: number; quarantined: number }>(
    lake.db,
    `SELECT (SELECT COUNT(*) FROM bronze_patients WHERE _file_name = '${name}') AS bronze,
       (SELECT COUNT(*) FROM quarantine WHERE file_name = '${name}') AS quarantined`,
  );
  assert.deepEqual(whole, [{ bronze: 10, quarantined: 0 }]);

  // A complete file that ends without a line break, left alone for longer than the quiet time: read,
  // its last record included.
  const t2 = hoursAfter(T0, 48);
  const claims = csvText('claims', [claimRow(900, 1), claimRow(901, 2), claimRow(902, 3)]);
  const noBreak = writeLandingFile(lake.landing, 'claims', t2, claims.slice(0, -1));
  ageFile(noBreak, MID_LINE_QUIET_SECONDS + 5);
  const r3 = await run(lake);
  assert.equal(r3.status, 'COMPLETED', r3.error);
  assert.equal(r3.files.find((f) => f.fileName === path.basename(noBreak))?.action, 'ingested');
  const last = await query<{ n: number }>(
    lake.db,
    `SELECT COUNT(*) AS n FROM bronze_claims WHERE _file_name = '${path.basename(noBreak)}' AND claim_id = '${claimRow(902, 3)['claim_id']}'`,
  );
  assert.equal(last[0]?.n, 1);
});

test('a file that changes between its inspection and its ingestion fails the update, which keeps nothing; the next run reads it whole', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const [patients] = writeValidBatch(lake.landing, T0, { patients: range(1, 4), firstKey: 1 });
  assert.ok(patients);
  const before = await run(lake);
  assert.equal(before.status, 'COMPLETED', before.error);
  const counts = await tableCounts(lake.db);
  const t1 = hoursAfter(T0, 24);
  const file = writeLandingFile(
    lake.landing,
    'patients',
    t1,
    csvText(
      'patients',
      range(20, 25).map((i) => patientRow(i)),
    ),
  );
  ageFile(file, 120);
  const more = csvText('patients', [patientRow(25), patientRow(26)])
    .split('\n')
    .slice(1)
    .join('\n');
  // Appended when bronze starts on the file: after the plan inspected it, before it is read.
  const r = await run(lake, {
    onProgress: (label, done) => {
      if (label === 'bronze' && done === 0) fs.appendFileSync(file, more);
    },
  });
  assert.equal(r.status, 'FAILED');
  assert.match(
    r.error ?? '',
    new RegExp(
      `${path.basename(file)} changed while it was being ingested \\(still being written\\?\\): the update was rolled back and nothing was lost`,
    ),
  );
  const data = (c: Record<string, number>): Record<string, number> =>
    Object.fromEntries(DATA_TABLES.map((t) => [t, c[t] ?? -1]));
  assert.deepEqual(data(await tableCounts(lake.db)), data(counts), 'no data table changed');
  const again = await run(lake);
  assert.equal(again.status, 'COMPLETED', again.error);
  const rows = await query<{ n: number }>(
    lake.db,
    `SELECT COUNT(*) AS n FROM bronze_patients WHERE _file_name = '${path.basename(file)}'`,
  );
  assert.equal(rows[0]?.n, 7);
});

test('stillBeingWritten: a file whose size or time changed since it was listed is left; so is a recent one ending mid-line', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const file = writeLandingFile(lake.landing, 'patients', T0, 'patient_id,first_name\nE1,Ann');
  const [listed] = scanLanding(lake.landing).files;
  assert.ok(listed);
  const inspection = await inspectFile(file);
  assert.equal(inspection.endsMidLine, true);
  const now = listed.modifiedAt.getTime();
  assert.match(stillBeingWritten(listed, inspection, now) ?? '', /^ends mid-line and was written 0 s ago/);
  assert.match(
    stillBeingWritten(listed, inspection, now + (MID_LINE_QUIET_SECONDS - 1) * 1000) ?? '',
    /ends mid-line/,
  );
  assert.equal(stillBeingWritten(listed, inspection, now + MID_LINE_QUIET_SECONDS * 1000), undefined);
  // Grown since it was listed: left, however old.
  fs.appendFileSync(file, ',x\n');
  fs.utimesSync(file, listed.modifiedAt, listed.modifiedAt);
  assert.match(
    stillBeingWritten(listed, inspection, now + 3600_000) ?? '',
    /^changed while it was read \(still being written\?\); left for a later run$/,
  );
  // Rewritten to the same size with another time: left too.
  const [relisted] = scanLanding(lake.landing).files;
  assert.ok(relisted);
  const later = new Date(relisted.modifiedAt.getTime() + 5000);
  fs.utimesSync(file, later, later);
  assert.match(
    stillBeingWritten(relisted, await inspectFile(file), now + 3600_000) ?? '',
    /^changed while it was read/,
  );
  // Complete (a final line break) and unchanged: read at once.
  const [settled] = scanLanding(lake.landing).files;
  assert.ok(settled);
  const done = await inspectFile(file);
  assert.equal(done.endsMidLine, false);
  assert.equal(stillBeingWritten(settled, done, settled.modifiedAt.getTime()), undefined);
});
