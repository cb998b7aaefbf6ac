/**
 * The fail action: a violated fail expectation or table-level check stops the update, every table keeps
 * its state from before the run, the failure is in the event log and pipeline_runs, and the next run
 * (once the cause is gone) does the work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Database } from '../../src/engine/database.ts';
import { evaluateExpectations, ExpectationFailedError } from '../../src/runner/expectations.ts';
import { cli } from './cli-helper.ts';
import {
  SSN_KEY_HEX,
  T0,
  fingerprint,
  hoursAfter,
  makeLakehouse,
  query,
  range,
  run,
  writeValidBatch,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

test('a failed gold table check rolls the whole update back, and the next run recovers', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 6) });
  assert.equal((await run(lake)).status, 'COMPLETED');

  // Corrupt the dimension: a closed version overlapping a patient's current one.
  const db = await Database.open(lake.db);
  await db.run(`INSERT INTO gold_patients
    SELECT * REPLACE (effective_from + INTERVAL 1 DAY AS effective_to, FALSE AS is_current)
    FROM gold_patients WHERE is_current LIMIT 1`);
  const corrupted = await db.one<{ patient_id: string }>(
    'SELECT patient_id FROM gold_patients GROUP BY patient_id HAVING COUNT(*) > 1',
  );
  db.close();
  assert.ok(corrupted);
  const before = await fingerprint(lake.db);

  // A new extract touching every patient (and one new patient, so its content is new).
  writeValidBatch(lake.landing, hoursAfter(T0, 24), { patients: range(1, 7), firstKey: 1000 });
  const failed = await run(lake);
  assert.equal(failed.status, 'FAILED');
  assert.match(failed.error ?? '', /table check no_overlapping_windows on gold_patients failed/);
  assert.deepEqual(await fingerprint(lake.db), before, 'no table changed');
  const runs = await query<{ status: string; error: string | null }>(
    lake.db,
    'SELECT status, error FROM pipeline_runs ORDER BY started_at',
  );
  assert.deepEqual(
    runs.map((r) => r.status),
    ['COMPLETED', 'FAILED'],
  );
  const events = await query<{ level: string; state: string }>(
    lake.db,
    `SELECT level, details->'update_progress'->>'state' AS state FROM event_log WHERE event_type = 'update_progress' ORDER BY timestamp`,
  );
  assert.deepEqual(
    events.map((e) => e.state),
    ['COMPLETED', 'FAILED'],
  );

  // Through the CLI the failed update says that nothing was ingested and exits with 1.
  const prevKey = process.env['CARELAKE_SSN_KEY'];
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  try {
    const text = await cli(['run', '--db', lake.db, '--landing', lake.landing]);
    assert.equal(text.code, 1);
    assert.match(
      text.out,
      /FAILED in [0-9.]+ s: nothing ingested \(rolled back; 3 file\(s\) will be tried again\)\./,
    );
  } finally {
    if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
    else process.env['CARELAKE_SSN_KEY'] = prevKey;
  }
  assert.deepEqual(await fingerprint(lake.db), before, 'still no table changed');

  // Repair and rerun: the same files are ingested now.
  const fix = await Database.open(lake.db);
  await fix.run(
    `DELETE FROM gold_patients WHERE patient_id = '${corrupted.patient_id}' AND NOT is_current AND effective_to = effective_from + INTERVAL 1 DAY`,
  );
  fix.close();
  const ok = await run(lake);
  assert.equal(ok.status, 'COMPLETED', ok.error);
  assert.equal(ok.files.filter((f) => f.action === 'ingested').length, 3);
  const current = await query<{ n: number; p: number }>(
    lake.db,
    'SELECT COUNT(*) FILTER (WHERE is_current) AS n, COUNT(DISTINCT patient_id) AS p FROM gold_patients',
  );
  assert.equal(current[0]?.n, current[0]?.p);
});

test('a fail expectation stops evaluation with the rule, the dataset and the count; warn and drop do not', async () => {
  const db = await Database.open(':memory:');
  try {
    const stage = 'SELECT * FROM (VALUES (1), (2), (NULL)) t(x)';
    const results = await evaluateExpectations(db, 'demo', stage, 'eval_demo', [
      { name: 'warned', action: 'warn', description: '', sql: () => 'x > 1' },
      { name: 'dropped', action: 'drop', description: '', sql: () => 'x IS NOT NULL' },
    ]);
    assert.deepEqual(
      results.map((r) => [r.name, r.passed_records, r.failed_records]),
      [
        ['warned', 1, 2],
        ['dropped', 2, 1],
      ],
    );
    const rejected = await db.all<{ x: number | null }>('SELECT x FROM eval_demo WHERE _rejected');
    assert.deepEqual(rejected, [{ x: null }]);
    await assert.rejects(
      evaluateExpectations(db, 'demo', stage, 'eval_demo', [
        { name: 'must_hold', action: 'fail', description: '', sql: () => 'x < 2' },
      ]),
      (error: unknown) =>
        error instanceof ExpectationFailedError &&
        error.expectation === 'must_hold' &&
        error.dataset === 'demo' &&
        error.failedRecords === 2,
    );
  } finally {
    db.close();
  }
});
