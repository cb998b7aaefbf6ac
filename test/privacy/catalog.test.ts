import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DATASETS } from '../../src/definitions/pipeline.ts';
import { Database } from '../../src/engine/database.ts';
import { isPii, SUPPORTING_TABLES } from '../../src/definitions/supporting-tables.ts';
import { buildCatalog, definedCatalog, phiTablesIn, type Catalog } from '../../src/privacy/catalog.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  SSN_KEY_HEX,
  T0,
  makeLakehouse,
  range,
  withDb,
  writeValidBatch,
  type Lakehouse,
} from '../pipeline/fixtures.ts';

const CLASSES = new Set(['phi_direct', 'quasi_identifier', 'clinical', 'financial', 'operational']);
let lake: Lakehouse;
const prevKey = process.env['CARELAKE_SSN_KEY'];
before(async () => {
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  lake = makeLakehouse('carelake-catalog-');
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  assert.equal((await cli(['run', '--db', lake.db, '--landing', lake.landing])).code, 0);
  assert.equal(
    (await cli(['export', '--deidentified', '--out', path.join(lake.dir, 'x'), '--db', lake.db])).code,
    0,
  );
});
after(() => {
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
});

test('every column of every defined table carries a classification and a PII flag; tables carry the HIPAA properties', () => {
  const tables = definedCatalog();
  assert.equal(tables.filter((t) => t.kind === 'dataset').length, DATASETS.length);
  assert.equal(tables.filter((t) => t.kind === 'supporting').length, SUPPORTING_TABLES.length);
  for (const t of tables) {
    for (const key of [
      'pipelines.pii.fields',
      'compliance.framework',
      'data.classification',
      'delta.enableChangeDataFeed',
    ])
      assert.ok(key in t.properties, `${t.table} lacks ${key}`);
    assert.equal(t.properties['compliance.framework'], 'HIPAA');
    for (const c of t.columns) {
      assert.ok(CLASSES.has(c.classification), `${t.table}.${c.name}: ${c.classification}`);
      assert.equal(typeof c.pii, 'boolean');
      assert.ok(c.description.length > 0, `${t.table}.${c.name} has no description`);
    }
    const pii = t.columns.filter((c) => c.pii).map((c) => c.name);
    assert.deepEqual(
      t.properties['pipelines.pii.fields']?.split(',').filter(Boolean).sort(),
      [...pii].sort(),
      t.table,
    );
  }
  const bronze = tables.find((t) => t.table === 'bronze_patients');
  assert.equal(bronze?.columns.find((c) => c.name === 'ssn_hash')?.classification, 'phi_direct');
  assert.equal(bronze?.columns.find((c) => c.name === 'city')?.classification, 'phi_direct');
  assert.equal(isPii({ classification: 'clinical' }), false);
  assert.equal(isPii({ classification: 'clinical', pii: true }), true);
  assert.equal(tables.find((t) => t.table === 'dim_patients')?.kind, 'view');
});

test('the database has no unclassified column, and the catalogue types are the real ones', async () => {
  const catalog = await withDb(lake.db, (db) => buildCatalog(db));
  assert.deepEqual(catalog.unclassified, []);
  const real = await withDb(lake.db, (db) =>
    db.all<{ t: string; c: string; ty: string }>(
      `SELECT table_name AS t, column_name AS c, data_type AS ty FROM information_schema.columns
       WHERE table_schema = 'main' AND table_catalog = current_database()`,
    ),
  );
  for (const s of SUPPORTING_TABLES) {
    const cols = real.filter((r) => r.t === s.name);
    assert.deepEqual(
      cols.map((r) => `${r.c} ${r.ty}`),
      s.columns.map((c) => `${c.name} ${c.type}`),
      s.name,
    );
  }
  const pseudonyms = catalog.tables.find((t) => t.table === 'privacy_pseudonyms');
  assert.equal(pseudonyms?.rows, 3);
  assert.equal(pseudonyms?.classification, 'PHI');
});

test('carelake catalog prints tables, columns, types, classifications and row counts', async () => {
  const json = await cli(['catalog', '--db', lake.db, '--format', 'json']);
  assert.equal(json.code, 0, json.err);
  const catalog = JSON.parse(json.out) as Catalog;
  const gold = catalog.tables.find((t) => t.table === 'gold_patients');
  assert.equal(gold?.rows, 3);
  assert.deepEqual(
    gold?.columns.find((c) => c.name === 'mrn'),
    {
      name: 'mrn',
      type: 'VARCHAR',
      classification: 'phi_direct',
      pii: true,
      description: gold?.columns.find((c) => c.name === 'mrn')?.description,
    },
  );
  const text = await cli(['catalog', '--db', lake.db]);
  assert.match(text.out, /gold_patients \(dataset, gold; PHI; rows: 3\)/);
  assert.match(text.out, /pipelines\.pii\.fields: patient_id,mrn/);
  assert.match(text.out, /ssn_hash\s+VARCHAR\s+phi_direct\s+yes/);
  const bare = await cli(['catalog', '--db', path.join(lake.dir, 'none.duckdb'), '--format', 'json']);
  assert.equal((JSON.parse(bare.out) as Catalog).tables.find((t) => t.table === 'gold_patients')?.rows, null);
});

test('unknown tables and columns are reported as unclassified; change-feed columns are known', async () => {
  const scratch = makeLakehouse('carelake-catalog-scratch-');
  try {
    const db = await Database.open(scratch.db);
    try {
      await db.run(
        'CREATE TABLE gold_claims__changes (claim_id VARCHAR, _change_type VARCHAR, _commit_version BIGINT)',
      );
      await db.run('CREATE TABLE mystery (secret VARCHAR)');
      const c = await buildCatalog(db);
      assert.deepEqual(c.unclassified, [{ table: 'mystery', column: 'secret' }]);
      assert.equal(c.tables.find((t) => t.table === 'gold_claims__changes')?.kind, 'change_feed');
      assert.equal(c.tables.find((t) => t.table === 'mystery')?.classification, 'PHI');
    } finally {
      db.close();
    }
    const text = await cli(['catalog', '--db', scratch.db]);
    assert.match(text.out, /Unclassified columns: mystery\.secret/);
  } finally {
    scratch.cleanup();
  }
});

test('queries are matched to the PHI tables they name', () => {
  assert.deepEqual(phiTablesIn('SELECT * FROM Gold_Patients g JOIN quarantine q USING (x)'), [
    'gold_patients',
    'quarantine',
  ]);
  assert.deepEqual(phiTablesIn('SELECT COUNT(*) FROM pipeline_runs'), []);
  assert.deepEqual(phiTablesIn('select * from silver_claims__changes'), ['silver_claims__changes']);
});
