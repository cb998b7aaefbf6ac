import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Database, InterruptedError } from '../../src/engine/database.ts';

test('interrupt cancels the running statement and fails the rest of its transaction, which rolls back', async () => {
  const db = await Database.open(':memory:');
  try {
    // Outside a transaction it does nothing.
    db.interrupt('not now');
    assert.deepEqual(await db.all('SELECT 42 AS x'), [{ x: 42 }]);

    // A long statement is cancelled; the error carries the reason.
    const long = db.transaction(async () => {
      await db.run('CREATE TABLE t AS SELECT 1 AS a');
      const slow = db.run('SELECT COUNT(*) FROM range(20000000000) r(i) WHERE i % 7 = 3');
      setTimeout(() => db.interrupt('stopped by the test'), 100);
      await slow;
    });
    await assert.rejects(
      long,
      (e: unknown) => e instanceof InterruptedError && e.message === 'stopped by the test',
    );
    assert.deepEqual(
      await db.all(`SELECT COUNT(*) AS n FROM duckdb_tables() WHERE table_name = 't'`),
      [{ n: 0 }],
      'rolled back',
    );

    // Between statements: the next one fails, and so does a caller that catches and goes on.
    let afterwards = 0;
    const between = db.transaction(async () => {
      await db.run('CREATE TABLE u AS SELECT 1 AS a');
      db.interrupt('between statements');
      try {
        await db.run('INSERT INTO u VALUES (2)');
      } catch {
        afterwards += 1;
      }
      await db.all('SELECT * FROM u');
    });
    await assert.rejects(between, InterruptedError);
    assert.equal(afterwards, 1);
    assert.deepEqual(await db.all(`SELECT COUNT(*) AS n FROM duckdb_tables() WHERE table_name = 'u'`), [
      { n: 0 },
    ]);

    // The next transaction runs as usual.
    await db.transaction(async () => db.run('CREATE TABLE v AS SELECT 1 AS a'));
    assert.deepEqual(await db.all('SELECT a FROM v'), [{ a: 1 }]);
  } finally {
    db.close();
  }
});
