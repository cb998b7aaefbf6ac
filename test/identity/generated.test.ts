/**
 * Identity resolution on generated data scored against the generator's ground truth (through the
 * `carelake verify identity` command, with and without SSN), the trained model, the golden records,
 * the monitoring row, and an incremental batch that keeps every id.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { generate } from '../../src/generator/index.ts';
import { acquireLock } from '../../src/runner/lock.ts';
import { runPipeline } from '../../src/runner/run.ts';
import { cli } from '../pipeline/cli-helper.ts';
import { query } from '../pipeline/fixtures.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-identity-gen-'));
const landing = path.join(dir, 'landing');
const truth = path.join(dir, 'truth');
const db = path.join(dir, 'lake.duckdb');
const env = { ...process.env, CARELAKE_SSN_KEY: 'ab'.repeat(32) };
const AS_OF = new Date('2026-03-01T09:30:00Z');

interface Evaluation {
  pairwise: { precision: number; recall: number; f1: number };
  bcubed: { precision: number; recall: number };
  calibration: { band: string; links: number; shareCorrect: number; meanConfidence: number }[];
  records: number;
}

before(async () => {
  // 3,000 people ≈ 6,500 patient records: enough to train the model (at least 5,000 records).
  await generate({
    patients: 3000,
    seed: 7,
    outDir: landing,
    truthDir: truth,
    asOf: AS_OF,
    defectRate: 0.005,
  });
  const r = await runPipeline({ dbPath: db, landingDir: landing, orphanGraceHours: 0, env });
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.equal(r.identity?.trained, true);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('verify identity: pairwise and B-cubed precision/recall against the ground truth, also without SSN', async () => {
  const out = await cli([
    'verify',
    'identity',
    '--db',
    db,
    '--truth',
    truth,
    '--without-ssn',
    '--format',
    'json',
  ]);
  assert.equal(out.code, 0, out.err);
  const { stored, withoutSsn } = JSON.parse(out.out) as { stored: Evaluation; withoutSsn: Evaluation };
  assert.ok(stored.records > 6000);
  assert.ok(stored.pairwise.precision >= 0.999, `precision ${stored.pairwise.precision}`);
  assert.ok(stored.pairwise.recall >= 0.99, `recall ${stored.pairwise.recall}`);
  assert.ok(stored.bcubed.precision >= 0.999 && stored.bcubed.recall >= 0.99);
  assert.ok(
    withoutSsn.pairwise.precision >= 0.995,
    `without SSN: precision ${withoutSsn.pairwise.precision}`,
  );
  assert.ok(withoutSsn.pairwise.recall >= 0.97, `without SSN: recall ${withoutSsn.pairwise.recall}`);
  // Calibration: links are at least about as often right as their confidence says.
  for (const band of stored.calibration.filter((b) => b.links >= 20))
    assert.ok(band.shareCorrect >= band.meanConfidence - 0.02, JSON.stringify(band));
  const text = await cli(['verify', 'identity', '--db', db, '--truth', truth]);
  assert.match(text.out, /pairwise precision (1\.0+|0\.99\d+)\s+recall (1\.0+|0\.9\d+)/);
  assert.match(text.out, /B-cubed precision/);
  const missing = await cli(['verify', 'identity', '--db', db, '--truth', path.join(dir, 'nope')]);
  assert.equal(missing.code, 1);
});

test('the trained parameters, the golden records and the run metrics are stored as tables', async () => {
  const params = await query<{ model_version: string; n: number }>(
    db,
    `SELECT model_version, COUNT(*) AS n FROM identity_model_parameters GROUP BY 1`,
  );
  assert.deepEqual(
    params.map((p) => p.model_version),
    ['fs-v1.1'],
  );
  const [tf] = await query<{ n: number }>(db, `SELECT COUNT(*) AS n FROM identity_term_frequencies`);
  assert.ok((tf?.n ?? 0) > 100);
  const [g] = await query<{ patients: number; enriched: number; complete: number; age: number }>(
    db,
    `SELECT (SELECT COUNT(DISTINCT patient_id) FROM silver_resolved_identity_resolution) AS patients,
       (SELECT COUNT(*) FROM silver_enriched_identity_resolution) AS enriched,
       (SELECT AVG(golden_completeness) FROM silver_enriched_identity_resolution) AS complete,
       (SELECT MIN(identity_resolution_age_hours) FROM silver_enriched_identity_resolution) AS age`,
  );
  assert.equal(g?.enriched, g?.patients, 'one golden record per resolved patient');
  assert.ok((g?.complete ?? 0) > 0.8);
  assert.ok((g?.age ?? -1) >= 0);
  const [src] = await query<{ bad: number }>(
    db,
    `SELECT COUNT(*) AS bad FROM silver_enriched_identity_resolution e
     WHERE e.first_name IS NOT NULL AND (e.first_name_source IS NULL OR e.first_name_confidence IS NULL)`,
  );
  assert.equal(src?.bad, 0, 'each attribute names its source record and confidence');
  const [m] = await query<{ coverage: number; avg_confidence: number }>(
    db,
    `SELECT coverage, avg_confidence FROM identity_run_metrics`,
  );
  assert.equal(m?.coverage, 1);
  assert.ok((m?.avg_confidence ?? 0) >= 0.9);
  // The histogram and the cluster sizes are those of the tables (buckets with no row left out).
  const [dist] = await query<{ histogram: string; sizes: string }>(
    db,
    `SELECT confidence_histogram::VARCHAR AS histogram, cluster_sizes::VARCHAR AS sizes FROM identity_run_metrics`,
  );
  const expected = await query<{ bucket: string; n: number }>(
    db,
    `SELECT CASE WHEN confidence_score < 0.5 THEN '0-0.5' WHEN confidence_score < 0.9 THEN '0.5-0.9'
       WHEN confidence_score < 0.99 THEN '0.9-0.99' WHEN confidence_score < 0.999 THEN '0.99-0.999' ELSE '0.999-1' END AS bucket,
       COUNT(*) AS n FROM silver_resolved_identity_resolution GROUP BY 1 ORDER BY 1`,
  );
  assert.deepEqual(
    JSON.parse(dist?.histogram ?? '{}'),
    Object.fromEntries(expected.map((e) => [e.bucket, e.n])),
  );
  const sizes = await query<{ size: string; share: number }>(
    db,
    `SELECT CASE WHEN record_count >= 4 THEN '4+' ELSE CAST(record_count AS VARCHAR) END AS size,
       COUNT(*) / SUM(COUNT(*)) OVER () AS share FROM silver_enriched_identity_resolution GROUP BY 1 ORDER BY 1`,
  );
  const stored = JSON.parse(dist?.sizes ?? '{}') as Record<string, number>;
  assert.deepEqual(
    Object.keys(stored).sort(),
    sizes.map((x) => x.size),
  );
  for (const x of sizes)
    assert.ok(Math.abs((stored[x.size] ?? -1) - x.share) < 1e-12, `share of size ${x.size}`);
  const [gold] = await query<{ n: number }>(
    db,
    `SELECT COUNT(*) AS n FROM (SELECT patient_id FROM gold_patients GROUP BY 1 HAVING COUNT(*) FILTER (WHERE is_current) <> 1)`,
  );
  assert.equal(gold?.n, 0);
});

test('an incremental batch links new records without changing any existing id', async () => {
  const before = await query<{ k: string; patient_id: string }>(
    db,
    `SELECT source_system || ':' || source_patient_id AS k, patient_id FROM silver_resolved_identity_resolution`,
  );
  await generate({
    patients: 200,
    incremental: true,
    outDir: landing,
    truthDir: truth,
    asOf: new Date(AS_OF.getTime() + 3 * 3600_000),
  });
  const r = await runPipeline({ dbPath: db, landingDir: landing, orphanGraceHours: 0, env });
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.equal(r.identity?.trained, false, 'the model is reused');
  assert.ok((r.identity?.newRecords ?? 0) > 300);
  const now = new Map(
    (
      await query<{ k: string; patient_id: string }>(
        db,
        `SELECT source_system || ':' || source_patient_id AS k, patient_id FROM silver_resolved_identity_resolution`,
      )
    ).map((x) => [x.k, x.patient_id]),
  );
  let changed = 0;
  for (const b of before) if (now.get(b.k) !== b.patient_id) changed++;
  // Changed people (moves) may rarely be re-resolved; every move is audited.
  const [moves] = await query<{ n: number }>(db, `SELECT COUNT(*) AS n FROM identity_audit`);
  assert.ok(changed <= (moves?.n ?? 0), `${changed} ids changed, ${moves?.n} audited`);
  const out = await cli(['verify', 'identity', '--db', db, '--truth', truth, '--format', 'json']);
  const { stored } = JSON.parse(out.out) as { stored: Evaluation };
  assert.ok(
    stored.pairwise.precision >= 0.999 && stored.pairwise.recall >= 0.99,
    JSON.stringify(stored.pairwise),
  );
  const report = await cli(['identity', 'report', '--db', db, '--format', 'json']);
  const rep = JSON.parse(report.out) as {
    previous: unknown;
    latest: { drift: { match_rate: number | null } };
  };
  assert.ok(rep.previous, 'drift is measured against the previous run');
  assert.equal(typeof rep.latest.drift.match_rate, 'number');
});

test('verify identity --without-ssn does not copy the lakehouse while an update holds its lock', async () => {
  const release = acquireLock(`${db}.lock`);
  try {
    const out = await cli(['verify', 'identity', '--db', db, '--truth', truth, '--without-ssn']);
    assert.equal(out.code, 1, out.out);
    assert.match(out.err, /another carelake run \(pid \d+\) is updating this database/);
  } finally {
    release();
  }
});
