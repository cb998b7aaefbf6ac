/**
 * The fs-v1 `IdentityStep` (what the Databricks bundle renders), rendered for DuckDB and run as
 * relations over the engine's accepted source records, equals the engine's own first run: the same
 * patient ids, confidences, evidence, weights and golden records. Once with the default model (few
 * records) and once with the model the engine trained, passed as plain data (`bundle --db`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generate } from '../../src/generator/index.ts';
import { runPipeline } from '../../src/runner/run.ts';
import { Database } from '../../src/engine/database.ts';
import {
  fsIdentityStep,
  GOLDEN_RELATION,
  type IdentityModelData,
} from '../../src/definitions/identity/step.ts';
import { IDENTITY_RELATION } from '../../src/definitions/identity-step.ts';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { readTrainedModel } from '../../src/identity/model.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-identity-step-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  records: number;
  modelVersion: string;
  model: IdentityModelData | undefined;
  /** Rows of each table only on one side (engine minus step, step minus engine). */
  differing: Record<string, [number, number]>;
  patients: number;
}

async function resolveBothWays(name: string, patients: number, useTrained: boolean): Promise<Outcome> {
  const landing = path.join(dir, name, 'landing');
  await generate({
    patients,
    seed: 7,
    outDir: landing,
    truthDir: path.join(dir, name, 'truth'),
    asOf: new Date('2026-03-01T09:30:00Z'),
    defectRate: 0.005,
  });
  const dbPath = path.join(dir, name, 'lake.duckdb');
  const run = await runPipeline({ dbPath, landingDir: landing, env: { CARELAKE_SSN_KEY: 'ab'.repeat(32) } });
  assert.equal(run.status, 'COMPLETED', run.error);
  const db = await Database.open(dbPath);
  try {
    const model = useTrained ? await readTrainedModel(db, 'fs-v1') : undefined;
    const at = (
      await db.one<{ at: string }>(`SELECT CAST(MAX(resolved_at) AS VARCHAR) AS at FROM ${IDENTITY_RELATION}`)
    )?.at;
    await db.run(`CREATE SCHEMA step`);
    for (const t of ['silver_patient_sources', 'identity_nickname_pairs'])
      await db.run(`CREATE TABLE step.${t} AS SELECT * FROM ${t}`);
    // The step's relations have the engine's table names: they go to schema `step` (the engine's
    // tables stay in lake.main, the database file being lake.duckdb).
    await db.run(`USE step`);
    for (const r of fsIdentityStep(model).relations(duckdbDialect, { resolvedAt: `TIMESTAMP '${at}'` }))
      await db.run(`CREATE ${r.persisted ? 'TABLE' : 'VIEW'} ${r.name} AS ${r.sql}`);
    const differing: Record<string, [number, number]> = {};
    for (const [table, except] of [
      [IDENTITY_RELATION, 'run_id'],
      [GOLDEN_RELATION, 'run_id'],
    ] as const) {
      const count = async (a: string, b: string): Promise<number> =>
        (await db.one<{ n: number }>(`SELECT COUNT(*)::INTEGER AS n FROM (${a} EXCEPT ALL ${b})`))?.n ?? -1;
      const engine = `SELECT * EXCLUDE (${except}) FROM lake.main.${table}`;
      const step = `SELECT * FROM step.${table}`;
      differing[table] = [await count(engine, step), await count(step, engine)];
    }
    const stats = await db.one<{ records: number; patients: number; mv: string }>(
      `SELECT COUNT(*)::INTEGER AS records, COUNT(DISTINCT patient_id)::INTEGER AS patients, MAX(model_version) AS mv
       FROM lake.main.${IDENTITY_RELATION}`,
    );
    return {
      records: stats?.records ?? 0,
      patients: stats?.patients ?? 0,
      modelVersion: stats?.mv ?? '',
      model,
      differing,
    };
  } finally {
    db.close();
  }
}

test('the fs-v1 step on DuckDB equals the engine with the default model (few records)', async () => {
  const o = await resolveBothWays('small', 150, false);
  assert.equal(o.modelVersion, 'fs-v1.0');
  assert.ok(o.records > 300 && o.patients < o.records, `${o.records} records, ${o.patients} patients`);
  assert.deepEqual(o.differing, { [IDENTITY_RELATION]: [0, 0], [GOLDEN_RELATION]: [0, 0] });
});

test('the fs-v1 step on DuckDB equals the engine with the model the engine trained', async () => {
  const o = await resolveBothWays('trained', 2600, true);
  assert.ok(o.records >= 5000, `${o.records} records`);
  assert.equal(o.modelVersion, 'fs-v1.1');
  assert.equal(o.model?.version, 'fs-v1.1');
  assert.ok((o.model?.termFrequencies.length ?? 0) > 100);
  assert.deepEqual(o.differing, { [IDENTITY_RELATION]: [0, 0], [GOLDEN_RELATION]: [0, 0] });
});
