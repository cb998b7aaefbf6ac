/**
 * A full disk (or any write that fails) around an update: what the user is told matches what happened.
 * /dev/full is the kernel's always-full device: every write to it fails with ENOSPC, so these are real
 * disk-full errors, not simulated ones.
 * - The audit entry of an update cannot be written: the update's outcome stands (a committed update is
 *   COMPLETED with a warning naming the trail; a failed one keeps its own error, the audit failure added).
 * - The landing retention after the commit fails: the update is still COMPLETED (nothing to redo).
 * - Recording a failed update in the lakehouse fails: the update's error is kept, the recording's added.
 * - The CLI adds what a system error means (disk full) to the message it prints.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Database } from '../../src/engine/database.ts';
import { recordFailure } from '../../src/runner/run.ts';
import { systemHint } from '../../src/support/errors.ts';
import { cli } from './cli-helper.ts';
import {
  T0,
  hoursAfter,
  makeLakehouse,
  query,
  range,
  run,
  writeValidBatch,
  withSsnKey,
  type Lakehouse,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

function lakehouse(): Lakehouse {
  const lake = makeLakehouse('carelake-diskfull-');
  lakes.push(lake);
  return lake;
}

/** Patients in gold (each test's batches bring new ones). */
const patients = async (db: string): Promise<number> =>
  Number((await query<{ n: string }>(db, 'SELECT COUNT(*) AS n FROM gold_patients WHERE is_current'))[0]?.n);

test('an audit trail that cannot be written does not turn a committed update into a failure', async () => {
  const lake = lakehouse();
  writeValidBatch(lake.landing, T0, { patients: range(1, 6) });
  assert.equal((await run(lake)).status, 'COMPLETED');
  const trail = `${lake.db}.audit.jsonl`;
  assert.ok(fs.statSync(trail).size > 0, 'the first update was audited');
  fs.renameSync(trail, `${trail}.kept`);
  fs.symlinkSync('/dev/full', trail);

  writeValidBatch(lake.landing, hoursAfter(T0, 24), { patients: range(6, 9), firstKey: 1000 });
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.equal(await patients(lake.db), 8, 'the second batch committed');
  const warning = r.warnings.find((w) => w.includes(trail));
  assert.ok(warning, `a warning names the audit trail: ${JSON.stringify(r.warnings)}`);
  assert.match(warning, /could not record this update: ENOSPC.*the disk is full/);

  // Through the CLI: exit 0 (the update stands), the warning printed, nothing ingested twice.
  writeValidBatch(lake.landing, hoursAfter(T0, 48), { patients: range(9, 11), firstKey: 2000 });
  const out = await withSsnKey(() => cli(['run', '--db', lake.db, '--landing', lake.landing]));
  assert.equal(out.code, 0, out.err);
  assert.match(out.out, /COMPLETED/);
  assert.match(out.out + out.err, /warning: the audit trail .* could not record this update: ENOSPC/);
  assert.equal(await patients(lake.db), 10);
});

test('a refused update keeps its own error when its audit entry cannot be written either', async () => {
  const lake = lakehouse();
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  assert.equal((await run(lake)).status, 'COMPLETED');
  const trail = `${lake.db}.audit.jsonl`;
  fs.rmSync(trail);
  fs.symlinkSync('/dev/full', trail);
  // Another SSN key: the run is refused before it starts.
  const refused = run(lake, { env: { CARELAKE_SSN_KEY: '6b'.repeat(32) } });
  await assert.rejects(refused, (error: Error) => {
    assert.match(
      error.message,
      /^the SSN key \(id [0-9a-f]+\) differs from the key that hashed the stored data/,
    );
    assert.match(error.message, /\n\(the audit trail .* could not record this update: ENOSPC/);
    return true;
  });
});

test('an audit trail that cannot be opened refuses the update before it starts', async () => {
  const lake = lakehouse();
  writeValidBatch(lake.landing, T0, { patients: range(1, 3) });
  fs.mkdirSync(`${lake.db}.audit.jsonl`);
  await assert.rejects(
    run(lake),
    /^AuditTrailRefusedError: the audit trail .*audit\.jsonl cannot be written: EISDIR/,
  );
  assert.equal(fs.existsSync(lake.db), false, 'the refused update did not even open the lakehouse');
});

test('landing retention that fails after the commit leaves the update COMPLETED, with a warning', async () => {
  const lake = lakehouse();
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  // Archiving into a folder under /dev/full cannot work (not a folder).
  const r = await run(lake, {
    retainLanding: { olderThanMs: 0, action: 'archive', archiveDir: path.join('/dev/full', 'archive') },
  });
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.equal(await patients(lake.db), 3);
  assert.ok(
    r.warnings.some((w) => /^the update committed, but the landing files' retention step failed: /.test(w)),
    JSON.stringify(r.warnings),
  );
  // Committed means ingested: the next run finds nothing new.
  const again = await run(lake);
  assert.equal(again.status, 'COMPLETED');
  assert.equal(again.files.filter((f) => f.action === 'ingested').length, 0);
});

test('a failure that cannot be recorded in the lakehouse is reported, not thrown', async () => {
  const lake = lakehouse();
  const db = await Database.open(lake.db);
  const origin = { pipelineId: 'p', updateId: 'u' };
  const failure = { runId: 'u', interrupted: false, message: 'the update failed', className: 'Error' };
  // No event log table yet: recording fails, and says so.
  const unrecorded = await recordFailure(db, origin, failure);
  db.close();
  assert.match(unrecorded ?? '', /^recording this failure in the lakehouse failed too: /);

  // On a lakehouse with its tables, the same failure is recorded.
  writeValidBatch(lake.landing, T0, { patients: range(1, 3) });
  assert.equal((await run(lake)).status, 'COMPLETED');
  const db2 = await Database.open(lake.db);
  await db2.run(
    `INSERT INTO pipeline_runs (run_id, started_at, status) VALUES ('u', now()::TIMESTAMP, 'RUNNING')`,
  );
  assert.equal(await recordFailure(db2, origin, failure), undefined);
  db2.close();
  const runs = await query<{ status: string; error: string }>(
    lake.db,
    `SELECT status, error FROM pipeline_runs WHERE run_id = 'u'`,
  );
  assert.deepEqual(runs, [{ status: 'FAILED', error: 'the update failed' }]);
});

test('the CLI says what a full disk means when a write fails', async () => {
  const lake = lakehouse();
  const out = path.join(lake.dir, 'bundle');
  fs.mkdirSync(out);
  fs.symlinkSync('/dev/full', path.join(out, 'databricks.yml'));
  const r = await cli(['bundle', '--out', out]);
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    /^carelake: ENOSPC: no space left on device, write\n\(the disk is full, or the disk quota is used up: free space\)\n$/,
  );
  assert.equal(systemHint(new Error('plain')), '');
});
