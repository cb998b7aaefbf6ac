/**
 * The change data feed of silver and gold tables (D5): inserts, an upsert's pre-/post-image, an SCD2
 * close, a key delivered in two extracts of one update, a full refresh (deletes then inserts), version
 * bookkeeping (one version per changed table per update, none for an update that changed nothing or
 * failed), a lakehouse from before the feed, and the `carelake changes` command.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Database } from '../../src/engine/database.ts';
import { auditPathFor, readAudit } from '../../src/privacy/audit.ts';
import { ChangeFeedError, readChanges } from '../../src/runner/change-feed.ts';
import { cli } from './cli-helper.ts';
import {
  SSN_KEY_HEX,
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
  type Lakehouse,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

type Change = Record<string, unknown> & {
  _change_type: string;
  _commit_version: number;
  _commit_timestamp: Date | null;
};

const lakes = lakehousesRemovedAfterwards();

const changes = (lake: Lakehouse, table: string, from: number, to?: number): Promise<Change[]> =>
  withDb(lake.db, (db) =>
    readChanges(db, table, { fromVersion: from, ...(to === undefined ? {} : { toVersion: to }) }),
  ) as Promise<Change[]>;

const versions = (lake: Lakehouse): Promise<{ table_name: string; version: number; operation: string }[]> =>
  query(lake.db, 'SELECT table_name, version, operation FROM table_versions ORDER BY table_name, version');

const kinds = (rows: readonly Change[]): string[] => rows.map((r) => r._change_type);

async function resolvedId(lake: Lakehouse, source: string): Promise<string> {
  const r = await query<{ patient_id: string }>(
    lake.db,
    `SELECT patient_id FROM silver_resolved_identity_resolution WHERE source_patient_id = '${source}'`,
  );
  assert.ok(r[0]);
  return r[0].patient_id;
}

const FEED_TABLES = ['gold_patients', 'silver_claims', 'silver_medical_events', 'silver_patients'];

describe('change data feed', () => {
  let lake: Lakehouse;
  const t1 = hoursAfter(T0, 24);

  before(async () => {
    lake = makeLakehouse();
    lakes.push(lake);
    // Patients 1–3 with claims C1…C8 (C3, C6, C9 are events V…).
    writeValidBatch(lake.landing, T0, { patients: range(1, 4), firstKey: 1 });
    const r = await run(lake);
    assert.equal(r.status, 'COMPLETED', r.error);
  });

  test('a first load: every row an insert of version 1, timestamped by table_versions', async () => {
    assert.deepEqual(
      (await versions(lake)).map((v) => [v.table_name, v.version, v.operation]),
      FEED_TABLES.map((t) => [t, 1, 'UPDATE']),
    );
    const claims = await changes(lake, 'silver_claims', 0);
    assert.equal(claims.length, 6);
    assert.ok(claims.every((c) => c._change_type === 'insert' && c._commit_version === 1));
    const ts = await query<{ commit_timestamp: Date }>(
      lake.db,
      `SELECT commit_timestamp FROM table_versions WHERE table_name = 'silver_claims'`,
    );
    assert.ok(claims.every((c) => c._commit_timestamp?.getTime() === ts[0]?.commit_timestamp.getTime()));
    // The gold fact view reads its silver table's feed, with the view's columns.
    const gold = await changes(lake, 'gold_claims', 1, 1);
    assert.equal(gold.length, 6);
    assert.match(String(gold[0]?.['claim_month']), /^2025-\d\d$/);
    assert.ok(!('processed_at' in (gold[0] ?? {})));
    const patients = await changes(lake, 'gold_patients', 1);
    assert.equal(patients.length, 3);
    assert.deepEqual(new Set(kinds(patients)), new Set(['insert']));
  });

  test('a run that changes nothing writes no version', async () => {
    const before = await versions(lake);
    const r = await run(lake);
    assert.equal(r.status, 'COMPLETED', r.error);
    assert.deepEqual(await versions(lake), before);
  });

  test('upsert, SCD2 close and a key in two extracts of one update', async () => {
    const p1 = await resolvedId(lake, 'E00000001');
    const p2 = await resolvedId(lake, 'E00000002');
    // Patient 1 changes a tracked attribute; patient 2 is delivered again unchanged.
    writeLandingFile(
      lake.landing,
      'patients',
      t1,
      csvText('patients', [patientRow(1, { bmi: '31.5' }), patientRow(2)]),
    );
    // C1 is delivered again with a new amount; C100 is new; C200 comes in two extracts of this update.
    writeLandingFile(
      lake.landing,
      'claims',
      t1,
      csvText('claims', [
        claimRow(1, 1, { claim_amount: '999.00' }),
        claimRow(100, 2),
        claimRow(200, 3, { claim_amount: '10.00' }),
      ]),
    );
    writeLandingFile(
      lake.landing,
      'claims',
      hoursAfter(t1, 1),
      csvText('claims', [claimRow(200, 3, { claim_amount: '20.00' })]),
    );
    const r = await run(lake);
    assert.equal(r.status, 'COMPLETED', r.error);
    assert.deepEqual(
      (await versions(lake)).filter((v) => v.version === 2).map((v) => v.table_name),
      ['gold_patients', 'silver_claims', 'silver_patients'],
      'events did not change: no version 2 for silver_medical_events',
    );

    const claims = await changes(lake, 'silver_claims', 2);
    assert.deepEqual(
      claims.map((c) => [c['claim_id'], c._change_type, c['claim_amount']]),
      [
        ['C00000001', 'update_preimage', 101],
        ['C00000001', 'update_postimage', 999],
        ['C00000100', 'insert', 200],
        ['C00000200', 'insert', 20],
      ],
    );
    assert.ok(claims.every((c) => c._commit_version === 2));
    // Version ranges: 1..1 is the first load only, 1..2 both.
    assert.equal((await changes(lake, 'silver_claims', 1, 1)).length, 6);
    assert.equal((await changes(lake, 'silver_claims', 1)).length, 10);

    const gold = await changes(lake, 'gold_patients', 2);
    assert.deepEqual(
      gold.map((g) => [g['patient_id'], g._change_type, g['bmi'], g['is_current']]),
      [
        [p1, 'update_preimage', 21, true],
        [p1, 'update_postimage', 21, false],
        [p1, 'insert', 31.5, true],
      ],
      'only patient 1 changes; the unchanged current version of patient 2 yields no change rows',
    );
    const closed = gold[1];
    assert.equal(
      (closed?.['effective_to'] as Date).getTime(),
      t1.getTime(),
      'the closed version ends where the next begins',
    );
    assert.ok(!gold.some((g) => g['patient_id'] === p2));
    // silver_patients: a new (patient, extract time) row for each delivered patient.
    const silver = await changes(lake, 'silver_patients', 2);
    assert.deepEqual(
      silver.map((s) => [s['patient_id'], s._change_type]).sort(),
      [
        [p1, 'insert'],
        [p2, 'insert'],
      ].sort(),
    );
  });

  test('a full refresh: every row ends as a delete, then the rebuilt rows are inserts', async () => {
    const before = await query<{ n: number }>(lake.db, 'SELECT COUNT(*) AS n FROM silver_claims');
    const r = await run(lake, { fullRefresh: true });
    assert.equal(r.status, 'COMPLETED', r.error);
    const refreshed = await query<{ table_name: string; version: number }>(
      lake.db,
      `SELECT table_name, version FROM table_versions WHERE run_id = '${r.runId}' AND operation = 'FULL REFRESH' ORDER BY 1`,
    );
    assert.deepEqual(
      refreshed.map((v) => [v.table_name, v.version]),
      [
        ['gold_patients', 3],
        ['silver_claims', 3],
        ['silver_medical_events', 2],
        ['silver_patients', 3],
      ],
      'every feed table gets one new version of its own',
    );
    const claims = await changes(lake, 'silver_claims', 3, 3);
    const n = before[0]?.n ?? 0;
    assert.equal(n, 8);
    assert.deepEqual(kinds(claims), [...Array<string>(n).fill('delete'), ...Array<string>(n).fill('insert')]);
    const after = await query<{ n: number; v: number; k: string }>(
      lake.db,
      'SELECT COUNT(*) AS n, MIN(_commit_version) AS v, MIN(_change_type) AS k FROM silver_claims',
    );
    assert.deepEqual(after[0], { n: 8, v: 3, k: 'insert' });
    const gold = await changes(lake, 'gold_patients', 3);
    assert.equal(gold.filter((g) => g._change_type === 'delete').length, 4);
    assert.equal(gold.filter((g) => g._change_type === 'insert').length, 4);
  });

  test('a failed update leaves no version behind', async () => {
    const db = await Database.open(lake.db);
    // An overlapping version makes the next update's table check fail.
    await db.run(`INSERT INTO gold_patients
      SELECT * REPLACE (effective_from + INTERVAL 1 DAY AS effective_to, FALSE AS is_current)
      FROM gold_patients WHERE is_current AND patient_id = (SELECT MIN(patient_id) FROM gold_patients)`);
    db.close();
    const before = await versions(lake);
    writeValidBatch(lake.landing, hoursAfter(T0, 72), { patients: range(1, 5), firstKey: 5000 });
    const r = await run(lake);
    assert.equal(r.status, 'FAILED');
    assert.deepEqual(await versions(lake), before);
  });

  test('readChanges refuses unknown tables and versions out of range', async () => {
    await withDb(lake.db, async (db) => {
      await assert.rejects(readChanges(db, 'bronze_claims', { fromVersion: 0 }), ChangeFeedError);
      await assert.rejects(readChanges(db, 'silver_claims', { fromVersion: 99 }), /latest version is 3/);
      await assert.rejects(readChanges(db, 'gold_claims', { fromVersion: 99 }), /version of silver_claims/);
      await assert.rejects(readChanges(db, 'silver_claims', { fromVersion: 2, toVersion: 1 }), /before/);
      await assert.rejects(readChanges(db, 'silver_claims', { fromVersion: -1 }), /≥ 0/);
    });
  });

  test('carelake changes: table, csv and json output; usage and range errors', async () => {
    const prevKey = process.env['CARELAKE_SSN_KEY'];
    process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
    try {
      const json = await cli([
        'changes',
        'silver_claims',
        '--db',
        lake.db,
        '--from-version',
        '2',
        '--to-version',
        '2',
        '--format',
        'json',
      ]);
      assert.equal(json.code, 0, json.err);
      const rows = JSON.parse(json.out) as Change[];
      assert.deepEqual(kinds(rows), ['update_preimage', 'update_postimage', 'insert', 'insert']);
      assert.match(String(rows[0]?._commit_timestamp), /^\d{4}-\d\d-\d\dT/);
      // Reading a PHI table's feed is audited like a query, with the row count.
      const reads = readAudit(auditPathFor(lake.db)).filter((e) => e.action === 'changes_read');
      assert.deepEqual(
        reads.map((e) => [e.details['table'], e.rows]),
        [['silver_claims', 4]],
      );
      const csv = await cli([
        'changes',
        'gold_claims',
        '--db',
        lake.db,
        '--from-version',
        '2',
        '--to-version',
        '2',
        '--format',
        'csv',
      ]);
      assert.equal(csv.code, 0, csv.err);
      assert.match(
        csv.out.split('\n')[0] ?? '',
        /^claim_id,.*claim_month,claim_year,_change_type,_commit_version,_commit_timestamp$/,
      );
      assert.equal(csv.out.trim().split('\n').length, 5);
      const table = await cli([
        'changes',
        'gold_patients',
        '--db',
        lake.db,
        '--from-version',
        '1',
        '--to-version',
        '1',
      ]);
      assert.equal(table.code, 0, table.err);
      assert.match(table.out, /\(3 rows\)/);

      const usage = [
        ['changes', 'bronze_claims', '--db', lake.db, '--from-version', '0'],
        ['changes', 'silver_claims', '--db', lake.db, '--from-version', 'x'],
        ['changes', 'silver_claims', '--db', lake.db, '--from-version', '-1'],
        ['changes', 'silver_claims', '--db', lake.db, '--from-version', '2', '--to-version', '1'],
        ['changes', 'silver_claims', '--db', lake.db, '--from-version', '0', '--format', 'xml'],
        ['changes', 'silver_claims', '--db', lake.db],
      ];
      for (const argv of usage) {
        const r = await cli(argv);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      }
      const beyond = await cli(['changes', 'silver_claims', '--db', lake.db, '--from-version', '42']);
      assert.equal(beyond.code, 1);
      assert.match(beyond.err, /no version 42: its latest version is 3/);
      const missing = await cli([
        'changes',
        'silver_claims',
        '--db',
        `${lake.dir}/none.duckdb`,
        '--from-version',
        '0',
      ]);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /no lakehouse/);
      const help = await cli(['changes', '--help']);
      assert.equal(help.code, 0);
      assert.match(help.out, /--from-version/);
    } finally {
      if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
      else process.env['CARELAKE_SSN_KEY'] = prevKey;
    }
  });
});

test('a lakehouse from before the feed: rows become version 0 inserts, gold fact tables become views', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 3), firstKey: 1 });
  assert.equal((await run(lake)).status, 'COMPLETED');
  // Turn it back into the schema-1 shape: no feed columns, gold facts stored as tables.
  const db = await Database.open(lake.db);
  for (const t of FEED_TABLES)
    for (const c of ['_commit_version', '_change_type']) await db.run(`ALTER TABLE ${t} DROP COLUMN ${c}`);
  await db.run('DROP VIEW gold_claims');
  await db.run(`CREATE TABLE gold_claims AS SELECT *, 'x' AS claim_month FROM silver_claims`);
  await db.run('DELETE FROM table_versions');
  await db.run(`UPDATE carelake_meta SET value = '1' WHERE key = 'schema_version'`);
  db.close();

  writeValidBatch(lake.landing, hoursAfter(T0, 24), { patients: [5], firstKey: 100 });
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);
  const kindsOf = await query<{ t: string }>(
    lake.db,
    `SELECT table_type AS t FROM information_schema.tables WHERE table_name = 'gold_claims'`,
  );
  assert.equal(kindsOf[0]?.t, 'VIEW');
  const feed = await changes(lake, 'silver_claims', 0);
  assert.deepEqual(
    feed.map((c) => [c._commit_version, c._change_type, c._commit_timestamp === null]),
    [
      [0, 'insert', true],
      [0, 'insert', true],
      [0, 'insert', true],
      [0, 'insert', true],
      [1, 'insert', false],
      [1, 'insert', false],
    ],
  );
});
