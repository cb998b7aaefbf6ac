/**
 * --db naming something that is no DuckDB database. The engine opens an existing file named like a
 * data file (.csv, .parquet, .json) as an in-memory database over it: an update ran there, said
 * COMPLETED (audited so) and kept nothing. Such paths are refused before anything is written next to
 * them; a new path with such a name becomes a real database file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { checkDatabaseFile, Database, NotADatabaseError } from '../../src/engine/database.ts';
import { cli } from './cli-helper.ts';
import {
  T0,
  makeLakehouse,
  query,
  range,
  run,
  withSsnKey,
  writeValidBatch,
  type Lakehouse,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

function lakehouse(): Lakehouse {
  const lake = makeLakehouse('carelake-notdb-');
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  return lake;
}

test('a landing CSV, a Parquet or JSON file, a folder or an empty file given as --db is refused', async () => {
  const lake = lakehouse();
  const csv = path.join(lake.landing, fs.readdirSync(lake.landing).find((f) => f.startsWith('claims')) ?? '');
  const parquet = path.join(lake.dir, 'data.parquet');
  fs.writeFileSync(parquet, 'PAR1 not really');
  const json = path.join(lake.dir, 'data.json');
  fs.writeFileSync(json, '[{"a": 1}]');
  const empty = path.join(lake.dir, 'empty.duckdb');
  fs.writeFileSync(empty, '');
  const cases: [string, RegExp][] = [
    [
      csv,
      /^the file .*\.csv is not a DuckDB database, so it is no carelake lakehouse: choose the lakehouse file with --db/,
    ],
    [parquet, /is not a DuckDB database/],
    [json, /is not a DuckDB database/],
    [lake.dir, /is a folder, not a database file/],
    [empty, /^the file .*empty\.duckdb is empty, so it is no carelake lakehouse/],
  ];
  const csvBefore = fs.readFileSync(csv);
  const listing = (dir: string): string[] => fs.readdirSync(dir).sort();
  const landingBefore = listing(lake.landing);
  const dirBefore = listing(lake.dir);
  for (const [db, message] of cases) {
    await assert.rejects(run({ db, landing: lake.landing }), (error: Error) => {
      assert.ok(error instanceof NotADatabaseError, `${db}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
    // Every command that opens the lakehouse says the same, and exits 1.
    for (const args of [['status'], ['sql', 'SELECT 1']]) {
      const r = await cli([...args, '--db', db]);
      assert.equal(r.code, 1, `${args[0]} ${db}`);
      assert.match(r.err.replace(/^carelake: /, ''), message);
    }
  }
  assert.deepEqual(fs.readFileSync(csv), csvBefore, 'the CSV is untouched');
  assert.deepEqual(listing(lake.landing), landingBefore, 'no lock or audit trail next to the CSV');
  assert.deepEqual(listing(lake.dir), dirBefore, 'nor next to the other files');
});

test('through the CLI, a run with a landing CSV as --db reports no update at all', async () => {
  const lake = lakehouse();
  const csv = path.join(lake.landing, fs.readdirSync(lake.landing)[0] ?? '');
  const r = await withSsnKey(() => cli(['run', '--db', csv, '--landing', lake.landing]));
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.out, /COMPLETED/);
  assert.match(r.err, /is not a DuckDB database/);
});

test('a new path named like a data file becomes a real database, and opens as one again', async () => {
  const lake = lakehouse();
  const db = path.join(lake.dir, 'lake.csv');
  assert.equal((await run({ db, landing: lake.landing })).status, 'COMPLETED');
  assert.equal(fs.readFileSync(db).subarray(8, 12).toString(), 'DUCK');
  checkDatabaseFile(db);
  const rows = await query<{ n: string }>(db, 'SELECT COUNT(*) AS n FROM gold_patients WHERE is_current');
  assert.equal(Number(rows[0]?.n), 3, 'the rows were kept in the file');
  const reopened = await Database.open(db);
  const found = await reopened.one<{ path: string }>(
    'SELECT path FROM duckdb_databases() WHERE database_name = current_database()',
  );
  reopened.close();
  assert.equal(found?.path, db);
});
