/** `carelake start` (npm start): generates when the landing folder is empty, runs, reports; reruns ingest nothing. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { cli } from './cli-helper.ts';
import { SSN_KEY_HEX, makeLakehouse } from './fixtures.ts';

const lake = makeLakehouse('carelake-start-');
const prevKey = process.env['CARELAKE_SSN_KEY'];
process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
after(() => {
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
});

const args = (): string[] => [
  'start',
  '--patients',
  '400',
  '--seed',
  '3',
  '--db',
  lake.db,
  '--landing',
  lake.landing,
  '--truth',
  path.join(lake.dir, 'truth'),
];

test('start generates a data set into an empty landing folder, runs the pipeline and prints the summary', async () => {
  const first = await cli(args());
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /Generated [\d,]+ rows for 400 people/);
  assert.match(first.out, /Update \S+ COMPLETED .*: 3 file\(s\) ingested/);
  assert.match(first.out, /Average data quality score \(silver_patients\): 0\.9\d+/);
  assert.match(first.out, /Quarantine by rule:/);
  assert.equal(fs.readdirSync(lake.landing).filter((f) => f.endsWith('.csv')).length, 3);
});

test('start on a landing folder with files only runs the pipeline (json), ingesting nothing twice', async () => {
  const again = await cli([...args(), '--format', 'json']);
  assert.equal(again.code, 0, again.err);
  const doc = JSON.parse(again.out) as {
    run: { status: string; files: { action: string }[] };
    lakehouse: { tables: { table: string; rows: number }[] };
  };
  assert.equal(doc.run.status, 'COMPLETED');
  assert.deepEqual(
    doc.run.files.map((f) => f.action),
    ['skipped', 'skipped', 'skipped'],
  );
  // One row per resolved patient: about one per person (400), whatever systems hold their records.
  assert.ok((doc.lakehouse.tables.find((t) => t.table === 'gold_patients')?.rows ?? 0) > 380);
  assert.equal(fs.readdirSync(lake.landing).filter((f) => f.endsWith('.csv')).length, 3);
});

test('start rejects a bad --patients with exit code 2', async () => {
  const bad = await cli([
    ...args().slice(0, 1),
    '--patients',
    'many',
    '--db',
    lake.db,
    '--landing',
    lake.landing,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--patients must be a whole number/);
});
