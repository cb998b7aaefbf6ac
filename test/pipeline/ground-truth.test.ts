import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from '../../src/generator/index.ts';
import { runPipeline, type RunResult } from '../../src/runner/run.ts';
import { Database } from '../../src/engine/database.ts';
import { DEFECT_KINDS, expectedQuarantine } from '../../src/definitions/defect-catalog.ts';
import { LANDING_COLUMNS, type Entity } from '../../src/definitions/entities.ts';

/**
 * The pipeline scored against the generator's ground truth, and the spec's level-4 validation queries,
 * on a generated data set of 1,500 people (≈ 3,200 patient records) with a 2% defect rate.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-truth-'));
const landing = path.join(dir, 'landing');
const truth = path.join(dir, 'truth');
const dbPath = path.join(dir, 'lake.duckdb');
const env = { CARELAKE_SSN_KEY: 'cd'.repeat(32) };
let result: RunResult;
let db: Database;
/** The clock just before and just after the run (ms). */
let runBetween: [number, number];

before(async () => {
  await generate({
    patients: 1500,
    seed: 42,
    outDir: landing,
    truthDir: truth,
    asOf: new Date('2026-03-01T09:30:00Z'),
    defectRate: 0.02,
  });
  const calledAt = Date.now();
  result = await runPipeline({ dbPath, landingDir: landing, orphanGraceHours: 0, env });
  runBetween = [calledAt, Date.now()];
  db = await Database.open(dbPath);
  await db.run(`CREATE TEMP TABLE truth AS
    SELECT regexp_extract(filename, '[^/]+$') AS file_name, CAST(line AS BIGINT) AS line, record_key, person_id,
      COALESCE(defects, '') AS defects
    FROM read_csv('${truth}/*_*.csv', all_varchar = true, header = true, filename = true)`);
});

after(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the run completes and every file and dataset adds up', async () => {
  assert.equal(result.status, 'COMPLETED', result.error);
  for (const a of result.accounting) {
    assert.equal(a.rows_in, a.rows_out + a.rows_quarantined + a.rows_parked, `${a.dataset} ${a.file_name}`);
  }
  const lines = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM truth');
  const bronzeIn = result.flows
    .filter((f) => f.dataset.startsWith('bronze_'))
    .reduce((s, f) => s + f.rowsIn, 0);
  assert.equal(bronzeIn, lines?.n, 'every generated row was read once');
});

test('every injected defect lands in the quarantine under its rule, and repaired ones reach silver', async () => {
  const rows = await db.all<{
    file_name: string;
    line: number;
    defects: string;
    dataset: string | null;
    rules: string[] | null;
  }>(`
    SELECT t.file_name, t.line, t.defects, q.dataset, q.rules
    FROM truth t LEFT JOIN quarantine q ON q.file_name = t.file_name AND q.line_number = t.line
    WHERE t.defects <> ''`);
  const seen = new Set<string>();
  for (const r of rows) {
    const entity = r.file_name.replace(/_\d{6}_\d{4}(_\d+)?\.csv$/, '') as Entity;
    for (const code of r.defects.split(';')) {
      seen.add(code);
      const expected = expectedQuarantine(code, entity);
      if (expected) {
        assert.equal(r.dataset, expected.dataset, `${code} at ${r.file_name}:${r.line}`);
        assert.ok(
          r.rules?.includes(expected.rule),
          `${code} at ${r.file_name}:${r.line} has rules ${r.rules?.join(',')}`,
        );
      } else {
        assert.equal(
          r.dataset,
          null,
          `repairable ${code} at ${r.file_name}:${r.line} was quarantined (${r.rules?.join(',')})`,
        );
      }
    }
  }
  // The data set exercises the catalogue (the rarest kinds may be absent at this size).
  assert.ok(seen.size >= DEFECT_KINDS.length - 3, `only ${[...seen].join(', ')} were injected`);
  // Repaired rows are in silver with clean values.
  const repaired = await db.one<{ claims: number; silver: number }>(`
    SELECT COUNT(*) AS claims, COUNT(s.claim_id) AS silver FROM truth t
    LEFT JOIN silver_claims s ON s.claim_id = t.record_key
    WHERE t.file_name LIKE 'claims_%' AND t.defects IN ('amount_format', 'icd_unnormalised', 'status_vocab', 'date_format')`);
  assert.ok((repaired?.claims ?? 0) > 0);
  assert.equal(repaired?.silver, repaired?.claims);
  const clean = await db.one<{ bad: number }>(`
    SELECT COUNT(*) AS bad FROM silver_claims
    WHERE claim_status NOT IN ('submitted', 'approved', 'denied', 'paid') OR NOT regexp_matches(diagnosis_code, '^[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$')
       OR claim_amount <= 0 OR claim_date IS NULL`);
  assert.equal(clean?.bad, 0);
});

test('a quarantined silver row keeps its raw record: every landing value as bronze holds it, the SSN only as its hash', async () => {
  for (const entity of ['patients', 'claims', 'medical_events'] as const) {
    const cols = [
      ...LANDING_COLUMNS[entity].filter((c) => c !== 'ssn'),
      ...(entity === 'patients' ? ['ssn_hash'] : []),
    ];
    const r = await db.one<{ n: number; differ: number; keys: number }>(
      `SELECT COUNT(*) AS n,
         COUNT(*) FILTER (WHERE ${cols.map((c) => `(q.record->>'${c}') IS DISTINCT FROM b."${c}"`).join(' OR ')}) AS differ,
         COUNT(*) FILTER (WHERE json_keys(q.record) <> [${cols.map((c) => `'${c}'`).join(', ')}]) AS keys
       FROM quarantine q JOIN bronze_${entity} b ON b._file_name = q.file_name AND b._line_number = q.line_number
       WHERE q.dataset = 'silver_${entity}'`,
    );
    assert.ok((r?.n ?? 0) > 0, `silver_${entity} quarantined rows`);
    assert.equal(r?.differ, 0, `silver_${entity}: records that differ from their bronze row`);
    assert.equal(r?.keys, 0, `silver_${entity}: records with other fields`);
  }
});

test('no clean row is quarantined', async () => {
  const bad = await db.all(`SELECT q.dataset, q.rules, q.file_name, q.line_number FROM quarantine q
    JOIN truth t ON t.file_name = q.file_name AND t.line = q.line_number WHERE t.defects = '' LIMIT 5`);
  assert.deepEqual(bad, []);
});

test('level 4: volume, no raw SSN, ages, orphans, data quality', async () => {
  const patients = await db.one<{ n: number }>(
    'SELECT COUNT(*) AS n FROM bronze_patients WHERE patient_id IS NOT NULL',
  );
  assert.ok((patients?.n ?? 0) > 1000);
  const ssn = await db.one<{ n: number; hashed: number }>(
    'SELECT COUNT(*) FILTER (WHERE ssn IS NOT NULL) AS n, COUNT(ssn_hash) AS hashed FROM bronze_patients',
  );
  assert.equal(ssn?.n, 0);
  assert.ok((ssn?.hashed ?? 0) > 1000);
  const ages = await db.one<{ n: number; ninety: number }>(
    'SELECT COUNT(*) FILTER (WHERE age_years > 89 AND age_years <> 90) AS n, COUNT(*) FILTER (WHERE age_years = 90) AS ninety FROM silver_patients',
  );
  assert.equal(ages?.n, 0);
  const orphans = await db.one<{ n: number }>(`SELECT
    (SELECT COUNT(*) FROM gold_claims c LEFT JOIN gold_patients p ON p.patient_id = c.patient_id WHERE p.patient_id IS NULL) +
    (SELECT COUNT(*) FROM gold_medical_events e LEFT JOIN gold_patients p ON p.patient_id = e.patient_id WHERE p.patient_id IS NULL) AS n`);
  assert.equal(orphans?.n, 0);
  const silverOrphans = await db.one<{ n: number }>(
    'SELECT COUNT(*) AS n FROM silver_claims c LEFT JOIN silver_patients p ON c.patient_id = p.patient_id WHERE p.patient_id IS NULL',
  );
  assert.equal(silverOrphans?.n, 0);
  const dq = await db.one<{ avg: number }>('SELECT AVG(data_quality_score) AS avg FROM silver_patients');
  assert.ok((dq?.avg ?? 0) >= 0.95, `average data quality ${dq?.avg}`);
});

test('no raw SSN from the landing files is stored anywhere in the database', async () => {
  // Held in a temporary table of this test connection only (never written to the database file).
  await db.run(`CREATE TEMP TABLE raw_ssn AS
    SELECT DISTINCT digits, substr(digits, 1, 3) || '-' || substr(digits, 4, 2) || '-' || substr(digits, 6) AS dashed
    FROM (SELECT regexp_replace(ssn, '[^0-9]', '', 'g') AS digits
          FROM read_csv('${landing}/patients_*.csv', all_varchar = true, header = true, strict_mode = false, null_padding = true))
    WHERE length(digits) = 9`);
  const count = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM raw_ssn');
  assert.ok((count?.n ?? 0) > 1000);
  const columns = await db.all<{ table_name: string; column_name: string }>(`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'main' AND data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]') AND table_name NOT IN ('raw_ssn', 'truth', 'control')`);
  assert.ok(columns.length > 50);
  // Every 9-digit window of every digit run (dashes dropped) is compared with the raw SSNs.
  const hits = async (table: string, column: string): Promise<number> =>
    (
      await db.one<{ n: number }>(`
      WITH runs AS (
        SELECT DISTINCT replace(UNNEST(regexp_extract_all(CAST("${column}" AS VARCHAR), '[0-9][0-9-]{7,}[0-9]')), '-', '') AS run
        FROM "${table}"),
      windows AS (SELECT substr(run, i, 9) AS w FROM runs, generate_series(1, GREATEST(length(run) - 8, 0)) AS g(i))
      SELECT COUNT(*) AS n FROM windows JOIN raw_ssn r ON r.digits = windows.w`)
    )?.n ?? 0;
  // Positive control: the scan finds a raw SSN embedded in text.
  await db.run(
    `CREATE TEMP TABLE control AS SELECT 'note: ' || (SELECT min(dashed) FROM raw_ssn) || ' x' AS v`,
  );
  assert.equal(await hits('control', 'v'), 1);
  for (const c of columns) {
    assert.equal(await hits(c.table_name, c.column_name), 0, `${c.table_name}.${c.column_name}`);
  }
});

test('the event log has Lakeflow-shaped flow_progress events with expectations', async () => {
  const rows = await db.all<{ dataset: string; name: string; failed: number }>(`
    SELECT x->>'dataset' AS dataset, x->>'name' AS name, CAST(x->>'failed_records' AS BIGINT) AS failed
    FROM (SELECT UNNEST(CAST(details->'flow_progress'->'data_quality'->'expectations' AS JSON[])) AS x
          FROM event_log WHERE event_type = 'flow_progress')`);
  const failed = new Map(rows.map((r) => [`${r.dataset}.${r.name}`, r.failed]));
  assert.ok((failed.get('silver_claims.valid_diagnosis_code') ?? 0) > 0);
  assert.equal(failed.get('bronze_patients.hipaa_compliant'), 0);
  const states = await db.all<{ s: string }>(
    `SELECT details->'update_progress'->>'state' AS s FROM event_log WHERE event_type = 'update_progress'`,
  );
  assert.deepEqual(
    states.map((s) => s.s),
    ['COMPLETED'],
  );
});

test('events and the run record carry the times things happened, not the start of the update', async () => {
  const events = await db.all<{ type: string; dataset: string | null; ms: number }>(
    `SELECT event_type AS type, origin->>'dataset_name' AS dataset, epoch_ms(timestamp) AS ms FROM event_log
     WHERE event_type IN ('create_update', 'flow_progress', 'update_progress')`,
  );
  const at = (type: string, dataset?: string): number => {
    const e = events.find((x) => x.type === type && (dataset === undefined || x.dataset === dataset));
    assert.ok(e, `${type} ${dataset ?? ''}`);
    return Number(e.ms);
  };
  // Each flow's event is stamped when the flow completed, in the order the update ran them.
  const order = [
    'bronze_medical_events',
    'silver_patients',
    'silver_claims',
    'silver_medical_events',
    'gold_patients',
  ];
  for (let i = 1; i < order.length; i++)
    assert.ok(
      at('flow_progress', order[i]) > at('flow_progress', order[i - 1]),
      `${order[i - 1]} before ${order[i]}`,
    );
  // The update lasted at least as long as its silver and gold flows took.
  const flowSeconds = result.flows
    .filter((f) => !f.dataset.startsWith('bronze_'))
    .reduce((sum, f) => sum + f.seconds, 0);
  assert.ok(flowSeconds > 0);
  const lasted = (at('update_progress') - at('create_update')) / 1000;
  assert.ok(
    lasted >= flowSeconds - 0.002,
    `the update lasted ${lasted} s by its events, its flows took ${flowSeconds} s`,
  );
  const run = await db.one<{ s: number; started: number; finished: number }>(
    `SELECT (epoch_ms(finished_at) - epoch_ms(started_at)) / 1000.0 AS s, epoch_ms(started_at) AS started,
       epoch_ms(finished_at) AS finished FROM pipeline_runs WHERE run_id = '${result.runId}'`,
  );
  assert.ok(Number(run?.s) >= flowSeconds, `pipeline_runs: ${run?.s} s, flows ${flowSeconds} s`);
  // The run record holds the instants the update began and ended (not its start to the second), so its
  // duration is no longer than the call that ran it.
  const [calledAt, returnedAt] = runBetween;
  assert.ok(
    calledAt <= Number(run?.started) &&
      Number(run?.started) <= Number(run?.finished) &&
      Number(run?.finished) <= returnedAt,
    `run record ${run?.started}..${run?.finished} within the call ${calledAt}..${returnedAt}`,
  );
});
