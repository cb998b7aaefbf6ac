import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Database } from '../../src/engine/database.ts';
import { readAudit, auditPathFor } from '../../src/privacy/audit.ts';
import { applyRetention, moveFile, parseDuration } from '../../src/privacy/retention.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  SSN_KEY_HEX,
  T0,
  hoursAfter,
  makeLakehouse,
  range,
  writeValidBatch,
  type Lakehouse,
} from '../pipeline/fixtures.ts';

let lake: Lakehouse;
let base: string[];
let archive: string;
const prevKey = process.env['CARELAKE_SSN_KEY'];
before(() => {
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  lake = makeLakehouse('carelake-retention-');
  archive = path.join(lake.dir, 'archive');
  base = ['--db', lake.db, '--landing', lake.landing, '--archive-dir', archive];
});
after(() => {
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
});

interface Status {
  rawFiles: number;
  rawFilesWithSsn: number;
  archived: number;
  archivedWithSsn: number;
  notIngested: number;
  purged: number;
}
const status = async (): Promise<Status> =>
  JSON.parse((await cli(['landing', 'status', ...base, '--format', 'json'])).out) as Status;

test('durations', () => {
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('90m'), 5_400_000);
  assert.equal(parseDuration('12h'), 43_200_000);
  assert.equal(parseDuration('30d'), 2_592_000_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  assert.throws(() => parseDuration('30 days'), /number and a unit/);
});

test('only ingested files unchanged since ingestion and older than the period are archived', async () => {
  const [patients, claims] = writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  assert.equal((await cli(['run', ...base])).code, 0);
  writeValidBatch(lake.landing, hoursAfter(T0, 1), { patients: range(4, 6), firstKey: 100 });
  fs.appendFileSync(claims ?? '', 'C99999999,E00000001,1.00,2025-01-01,I10,99213,paid,CLAIMS_SYSTEM\n');

  const young = await cli(['landing', 'archive', '--older-than', '1d', ...base]);
  assert.equal(young.code, 0, young.err);
  assert.match(young.out, /0 file\(s\) archived/);
  assert.match(young.out, /within the retention period/);

  const r = await cli(['landing', 'archive', '--older-than', '0s', ...base, '--format', 'json']);
  const result = JSON.parse(r.out) as {
    acted: { fileName: string }[];
    kept: { fileName: string; reason: string }[];
  };
  assert.deepEqual(result.acted.map((a) => a.fileName).sort(), [
    'medical_events_260105_1000.csv',
    'patients_260105_1000.csv',
  ]);
  const reasons = new Map(result.kept.map((k) => [k.fileName, k.reason]));
  assert.equal(reasons.get('claims_260105_1000.csv'), 'changed since ingestion');
  assert.equal(reasons.get('patients_260105_1100.csv'), 'not ingested');
  assert.equal(fs.existsSync(patients ?? ''), false);
  assert.equal(fs.existsSync(path.join(archive, 'patients_260105_1000.csv')), true);
  assert.deepEqual(await status(), {
    ...(await status()),
    rawFiles: 4,
    rawFilesWithSsn: 1,
    archived: 2,
    archivedWithSsn: 1,
    notIngested: 3,
    purged: 0,
  });
  const text = await cli(['landing', 'status', ...base]);
  assert.match(text.out, /4 raw file\(s\), 1 with SSNs/);
  assert.match(text.out, /patients_260105_1000\.csv\s+archive\s+yes/);
});

test('a full refresh refuses while ingested files are archived; restore brings them back', async () => {
  const refused = await cli(['run', '--full-refresh', ...base]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /2 ingested landing file\(s\) are not in the landing folder/);
  assert.match(refused.err, /carelake landing restore/);

  const one = await cli(['landing', 'restore', 'patients_260105_1000.csv', 'nope.csv', ...base]);
  assert.equal(one.code, 0, one.err);
  assert.match(one.out, /1 file\(s\) restored/);
  assert.match(one.out, /1 not in the archive/);
  const mtime = fs.statSync(path.join(lake.landing, 'patients_260105_1000.csv')).mtimeMs;
  assert.ok(mtime > 0);

  // An archived file whose content changed is not restored.
  const events = path.join(archive, 'medical_events_260105_1000.csv');
  const original = fs.readFileSync(events);
  fs.appendFileSync(events, 'tampered\n');
  const tampered = await cli(['landing', 'restore', ...base]);
  assert.match(tampered.out, /content differs/);
  fs.writeFileSync(events, original);
  assert.match((await cli(['landing', 'restore', ...base])).out, /1 file\(s\) restored/);
  assert.equal((await status()).archived, 0);
  // Restored files are recognised as already ingested (same name and content).
  const again = await cli(['run', ...base, '--format', 'json']);
  const run = JSON.parse(again.out) as { run: { files: { fileName: string; action: string }[] } };
  assert.equal(run.run.files.find((f) => f.fileName === 'patients_260105_1000.csv')?.action, 'skipped');
});

test('run --retain-landing archives after the update and the summary counts the raw files left', async () => {
  const r = await cli(['run', ...base, '--retain-landing', '0s']);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /Landing: 1 raw file\(s\) remain in the landing folder, 0 of them with SSNs \(patients files\); 5 archived \(2 with SSNs\); 5 file\(s\) archived or deleted by --retain-landing/,
  );
  const json = await cli(['run', ...base, '--format', 'json']);
  const landing = (JSON.parse(json.out) as { run: { landing: Record<string, number> } }).run.landing;
  assert.deepEqual(landing, {
    rawFiles: 1,
    rawFilesWithSsn: 0,
    archived: 5,
    archivedWithSsn: 2,
    retentionActions: 0,
  });
  const actions = readAudit(auditPathFor(lake.db)).map((e) => e.action);
  assert.ok(actions.includes('landing_archive'));
  assert.ok(actions.includes('landing_restore'));
});

test('purge deletes from the landing folder and the archive; a full refresh is then impossible', async () => {
  const r = await cli(['landing', 'purge', '--older-than', '0s', ...base]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /5 file\(s\) deleted/);
  const st = await status();
  assert.deepEqual([st.rawFiles, st.archived, st.purged], [1, 0, 5]);
  const refused = await cli(['run', '--full-refresh', ...base]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /deleted by the retention policy/);
  const purge = readAudit(auditPathFor(lake.db)).find((e) => e.action === 'landing_purge');
  assert.equal(purge?.rows, 5);
});

test('usage errors', async () => {
  assert.equal((await cli(['landing', 'archive', ...base])).code, 2);
  assert.equal((await cli(['landing', 'purge', '--older-than', 'soon', ...base])).code, 2);
  assert.equal((await cli(['run', ...base, '--retain-landing', 'x'])).code, 2);
  assert.equal((await cli(['run', ...base, '--retain-landing', '1d', '--retain-action', 'shred'])).code, 2);
  const missing = await cli(['landing', 'status', '--db', path.join(lake.dir, 'none.duckdb')]);
  assert.equal(missing.code, 1);
  assert.equal(
    (await cli(['landing', 'archive', '--older-than', '0s', '--db', path.join(lake.dir, 'none.duckdb')]))
      .code,
    1,
  );
  const db = await Database.open(lake.db);
  try {
    await assert.rejects(
      applyRetention(db, {
        landingDir: lake.landing,
        archiveDir: lake.landing,
        olderThanMs: 0,
        action: 'archive',
        who: 't',
      }),
      /must not be the landing folder/,
    );
  } finally {
    db.close();
  }
});

test('moving to an archive on another file system copies the file, keeps its times, and never overwrites', () => {
  const dir = fs.mkdtempSync(path.join(lake.dir, 'move-'));
  const from = path.join(dir, 'patients_261120_1200.csv');
  const content = 'patient_id\nE1\n';
  fs.writeFileSync(from, content);
  const mtime = new Date('2026-11-20T12:00:00Z');
  fs.utimesSync(from, mtime, mtime);
  // The rename of another file system: EXDEV, as between two mounts.
  const acrossMounts = (): never => {
    throw Object.assign(new Error('cross-device link not permitted'), { code: 'EXDEV' });
  };
  const to = path.join(dir, 'archive', 'patients_261120_1200.csv');
  moveFile(from, to, acrossMounts);
  assert.equal(fs.existsSync(from), false, 'the original is gone');
  assert.equal(fs.readFileSync(to, 'utf8'), content);
  assert.equal(fs.statSync(to).mtime.getTime(), mtime.getTime());
  // A file already at the destination is never replaced, and the source stays.
  fs.writeFileSync(from, 'other');
  assert.throws(() => moveFile(from, to, acrossMounts), /already exists; not overwritten/);
  assert.equal(fs.readFileSync(to, 'utf8'), content);
  assert.equal(fs.readFileSync(from, 'utf8'), 'other');
  // Any other failure of the rename is not taken for a move across file systems.
  const denied = (): never => {
    throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
  };
  assert.throws(() => moveFile(from, path.join(dir, 'archive', 'x.csv'), denied), /permission denied/);
  assert.equal(fs.existsSync(from), true);
});
