/**
 * While carelake has the lakehouse open, no other process opens it, not even read-only: the engine's
 * lock on the database file holds for the whole update, including after its background flushes of the
 * file to the disk (a process loses a POSIX record lock when it closes any descriptor of the file).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Database } from '../../src/engine/database.ts';
import { T0, makeLakehouse, range, run, writeValidBatch, lakehousesRemovedAfterwards } from './fixtures.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const lakes = lakehousesRemovedAfterwards();

/** Whether another process can open the database file read-only right now ('opened' or the engine's refusal). */
function openFromAnotherProcess(dbPath: string): string {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { DuckDBInstance } from '@duckdb/node-api';
       try { (await DuckDBInstance.create(process.argv[1], { access_mode: 'READ_ONLY' })).closeSync(); console.log('opened'); }
       catch (e) { console.log('refused: ' + e.message.split('\\n')[0]); }`,
      dbPath,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return `${r.stdout.trim()}${r.stderr.trim() ? ` (stderr: ${r.stderr.trim()})` : ''}`;
}

test('the database stays locked after background flushes, until it is closed', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const db = await Database.open(lake.db);
  try {
    await db.transaction(async () => {
      await db.run('CREATE TABLE t AS SELECT range AS n FROM range(100000)');
      db.flushBehind();
      db.flushBehind();
    });
    db.flushBehind();
    await db.transaction(async () => db.run('INSERT INTO t VALUES (1)'));
    assert.match(openFromAnotherProcess(lake.db), /^refused: .*lock/);
  } finally {
    db.close();
  }
  assert.equal(openFromAnotherProcess(lake.db), 'opened');
});

test('during a first load, after each step flushed its tables, the lakehouse is locked to other processes', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 30) });
  const seen = new Map<string, string>();
  const result = await run(lake, {
    onProgress: (label) => {
      // silver_claims and later steps start after the earlier steps' flushes (a first load is bulk);
      // 'gold' is the end of the last step, before the commit.
      if (['silver_claims', 'gold_patients', 'gold'].includes(label) && !seen.has(label))
        seen.set(label, openFromAnotherProcess(lake.db));
    },
  });
  assert.equal(result.status, 'COMPLETED');
  assert.deepEqual([...seen.keys()], ['silver_claims', 'gold_patients', 'gold']);
  for (const [label, outcome] of seen) assert.match(outcome, /^refused: .*lock/, label);
  assert.equal(openFromAnotherProcess(lake.db), 'opened');
});
