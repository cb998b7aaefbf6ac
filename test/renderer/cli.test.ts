import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../pipeline/cli-helper.ts';
import { renderBundle } from '../../src/renderer/index.ts';
import { Database } from '../../src/engine/database.ts';
import { IDENTITY_DDL } from '../../src/identity/schema.ts';
import { writeDefaultModel } from '../../src/identity/model.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bundle-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('carelake bundle --out DIR --format json writes every rendered file and reports the render time', async () => {
  const out = path.join(dir, 'bundle');
  const r = await cli(['bundle', '--out', out, '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as {
    files: string[];
    libraries: string[];
    renderMs: number;
    bytes: number;
  };
  const expected = renderBundle();
  assert.deepEqual(
    report.files,
    expected.files.map((f) => f.path),
  );
  assert.ok(report.renderMs > 0 && report.bytes > 10_000);
  for (const f of expected.files) assert.equal(fs.readFileSync(path.join(out, f.path), 'utf8'), f.content);
  const text = await cli(['bundle', '--out', out]);
  assert.equal(text.code, 0);
  assert.match(text.out, /Rendered \d+ files \(13 pipeline SQL files\) into/);
});

test('carelake bundle refuses a file as the output folder, needs --out, and has help', async () => {
  const file = path.join(dir, 'afile');
  fs.writeFileSync(file, 'x');
  const r = await cli(['bundle', '--out', file]);
  assert.equal(r.code, 2);
  assert.match(r.err, /is not a folder/);
  assert.equal((await cli(['bundle'])).code, 2);
  assert.equal((await cli(['bundle', '--out', dir, '--format', 'xml'])).code, 2);
  const help = await cli(['bundle', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /databricks bundle validate/);
  const upHelp = await cli(['upload', '--help']);
  assert.match(upHelp.out, /overwrite=false/);
});

test('carelake bundle renders fs-v1 by default, deterministic-v1 on request, and a trained model with --db', async () => {
  const plain = path.join(dir, 'plain');
  const r = await cli(['bundle', '--out', plain, '--format', 'json']);
  const report = JSON.parse(r.out) as { identity: string; modelVersion: string | null; libraries: string[] };
  assert.equal(report.identity, 'fs-v1');
  assert.equal(report.modelVersion, null);
  assert.match(fs.readFileSync(path.join(plain, 'src/pipeline/identity/fs-v1.sql'), 'utf8'), /'fs-v1\.0'/);

  const det = path.join(dir, 'det');
  const d = await cli(['bundle', '--out', det, '--identity', 'deterministic-v1']);
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /identity deterministic-v1/);
  assert.ok(fs.existsSync(path.join(det, 'src/pipeline/identity/deterministic-v1.sql')));
  assert.equal((await cli(['bundle', '--out', det, '--identity', 'nope'])).code, 2);
  assert.equal(
    (await cli(['bundle', '--out', det, '--identity', 'deterministic-v1', '--db', 'x.duckdb'])).code,
    2,
  );
  assert.equal((await cli(['bundle', '--out', det, '--db', path.join(dir, 'none.duckdb')])).code, 2);

  // A lakehouse with the default model only, then with a trained version (written as the engine does).
  const dbPath = path.join(dir, 'lake.duckdb');
  const db = await Database.open(dbPath);
  try {
    for (const ddl of IDENTITY_DDL) await db.run(ddl);
    await writeDefaultModel(db, 100, 'run-1', `TIMESTAMP '2026-01-01 00:00:00'`, 'fs-v1');
  } finally {
    db.close();
  }
  const onlyDefault = await cli([
    'bundle',
    '--out',
    path.join(dir, 'b1'),
    '--db',
    dbPath,
    '--format',
    'json',
  ]);
  assert.equal(onlyDefault.code, 0, onlyDefault.err);
  assert.equal((JSON.parse(onlyDefault.out) as { modelVersion: string | null }).modelVersion, null);
  const db2 = await Database.open(dbPath);
  try {
    await db2.run(`INSERT INTO identity_model_parameters
      SELECT 'fs-v1.1', comparison, level, level_name, m, u, weight + 0.5, TIMESTAMP '2026-02-01 00:00:00',
        'run-2', 12, 9000, 300000, 8000
      FROM identity_model_parameters WHERE model_version = 'fs-v1.0'`);
    await db2.run(`INSERT INTO identity_term_frequencies VALUES ('fs-v1.1', 'fn', 'o''brien', 0.002)`);
  } finally {
    db2.close();
  }
  const out = path.join(dir, 'trained');
  const t = await cli(['bundle', '--out', out, '--db', dbPath]);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /identity fs-v1 \(model fs-v1\.1\)/);
  const sql = fs.readFileSync(path.join(out, 'src/pipeline/identity/fs-v1.sql'), 'utf8');
  assert.match(sql, /'fs-v1\.1' AS model_version/);
  assert.match(sql, /\('fn', 'o\\'brien', 2e-3\)/);
  assert.doesNotMatch(sql, /'fs-v1\.0'/);
  // The trained prior is data, not recomputed from the record count.
  assert.doesNotMatch(sql, /prior_share/);
});
