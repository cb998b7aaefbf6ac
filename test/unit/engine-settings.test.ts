/**
 * Engine settings applied by Database.open (string compression, insertion order, memory cap, each
 * overridable from the environment) and the CARELAKE_TRACE_SQL statement trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Database, EngineError, sqlString, tempLimit } from '../../src/engine/database.ts';
import { ensureSchema } from '../../src/runner/schema.ts';

async function settings(): Promise<Record<string, string>> {
  const db = await Database.open(':memory:');
  try {
    const rows = await db.all<{ name: string; value: string }>(
      `SELECT name, value FROM duckdb_settings()
       WHERE name IN ('disabled_compression_methods', 'preserve_insertion_order', 'memory_limit', 'disabled_optimizers')`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  } finally {
    db.close();
  }
}

async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
}

describe('engine settings', () => {
  test('by default: FSST off, dictionary compression on, insertion order not preserved, join sides chosen by the optimizer, memory capped at 2.5 GB', async () => {
    const s = await withEnv(
      { CARELAKE_STRING_COMPRESSION: undefined, CARELAKE_MEMORY_LIMIT: undefined },
      settings,
    );
    assert.equal((s['disabled_compression_methods'] ?? '').toLowerCase(), 'fsst');
    assert.equal(s['preserve_insertion_order'], 'false');
    assert.equal(s['disabled_optimizers'], '');
    // 2.5 GB as DuckDB reports it (2.3 GiB)
    assert.match(s['memory_limit'] ?? '', /^2\.3[0-9]* GiB$/);
  });

  test('CARELAKE_STRING_COMPRESSION=off turns string compression off; CARELAKE_MEMORY_LIMIT sets the cap', async () => {
    const s = await withEnv({ CARELAKE_STRING_COMPRESSION: 'off', CARELAKE_MEMORY_LIMIT: '1GB' }, settings);
    const disabled = (s['disabled_compression_methods'] ?? '').toLowerCase().split(',');
    assert.deepEqual([...disabled].sort(), ['dict_fsst', 'dictionary', 'fsst']);
    assert.match(s['memory_limit'] ?? '', /^9[0-9.]+ MiB$/);
  });

  test('limitMemory lowers the memory limit for what follows, never above the 2.5 GB default, and sets the default again; a limit set with CARELAKE_MEMORY_LIMIT holds for all work', async () => {
    const limit = async (db: Database): Promise<string> =>
      (await db.one<{ m: string }>(`SELECT current_setting('memory_limit') AS m`))?.m ?? '';
    await withEnv({ CARELAKE_MEMORY_LIMIT: undefined }, async () => {
      const db = await Database.open(':memory:');
      try {
        assert.match(await limit(db), /^2\.3[0-9]* GiB$/);
        await db.limitMemory(300 * 2 ** 20);
        assert.equal(await limit(db), '300.0 MiB');
        // Work past the lower limit spills (or fails for want of memory) as it would at the default.
        await db.run(
          'CREATE TEMP TABLE t AS SELECT range AS x, md5(CAST(range AS VARCHAR)) AS h FROM range(200000)',
        );
        assert.equal((await db.one<{ n: number }>('SELECT COUNT(DISTINCT h) AS n FROM t'))?.n, 200000);
        await db.limitMemory(8 * 2 ** 30);
        assert.match(await limit(db), /^2\.3[0-9]* GiB$/, 'never above the default');
        await db.limitMemory(300 * 2 ** 20);
        await db.limitMemory();
        assert.match(await limit(db), /^2\.3[0-9]* GiB$/);
      } finally {
        db.close();
      }
    });
    await withEnv({ CARELAKE_MEMORY_LIMIT: '1GiB' }, async () => {
      const db = await Database.open(':memory:');
      try {
        await db.limitMemory(300 * 2 ** 20);
        assert.equal(await limit(db), '1.0 GiB', 'the configured limit holds');
        await db.limitMemory();
        assert.equal(await limit(db), '1.0 GiB');
      } finally {
        db.close();
      }
    });
  });

  test('running out of memory says which setting gives the engine more', async () => {
    const db = await Database.open(':memory:');
    try {
      await db.limitMemory(2 ** 20);
      const error = await db.all('SELECT list(range) AS l FROM range(10000000)').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof EngineError, 'the statement fails');
      assert.match(error.message, /out of memory/i);
      assert.match(error.message, /CARELAKE_MEMORY_LIMIT sets one limit for all work/);
    } finally {
      db.close();
    }
  });

  test('spilling is capped at half the free disk space, or at CARELAKE_TEMP_LIMIT; past the cap a statement fails and says which setting to change', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-temp-'));
    const dbPath = path.join(dir, 'lake.duckdb');
    try {
      // Half the free space (other tests may write meanwhile: within 1 GiB of what is free now).
      const free = fs.statfsSync(dir);
      const halfMiB = (free.bavail * free.bsize) / 2 / 2 ** 20;
      const limit = tempLimit(dbPath, {});
      assert.match(limit, /^[0-9]+MiB$/);
      assert.ok(
        Math.abs(Number.parseInt(limit, 10) - Math.max(halfMiB, 1024)) < 1024,
        `${limit} vs ${halfMiB} MiB`,
      );
      assert.equal(tempLimit(dbPath, { CARELAKE_TEMP_LIMIT: '40GB' }), '40GB');
      const db = await withEnv({ CARELAKE_TEMP_LIMIT: '16MB', CARELAKE_MEMORY_LIMIT: '64MB' }, () =>
        Database.open(dbPath),
      );
      try {
        const cap = await db.one<{ v: string }>(`SELECT current_setting('max_temp_directory_size') AS v`);
        assert.match(cap?.v ?? '', /^15\.[0-9]+ MiB$/);
        // About 300 MB of sorted text: far more than 64 MB of memory and 16 MB of temporary files.
        await assert.rejects(
          db.run(
            `CREATE TABLE t AS SELECT range AS i, md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS s FROM range(4000000) ORDER BY s`,
          ),
          (error: unknown) =>
            error instanceof EngineError &&
            /max_temp_directory_size/.test(error.message) &&
            /CARELAKE_TEMP_LIMIT/.test(error.message),
        );
      } finally {
        db.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a full disk: the engine's message and what to do", async () => {
    const db = await Database.open(':memory:');
    try {
      // Every write to /dev/full fails with ENOSPC, as on a full disk.
      await assert.rejects(
        db.run(`COPY (SELECT range, md5(range::VARCHAR) FROM range(200000)) TO '/dev/full' (FORMAT csv)`),
        (error: unknown) =>
          error instanceof EngineError &&
          /No space left on device/.test(error.message) &&
          /the disk is full: free space and run again; an update that fails commits nothing/.test(
            error.message,
          ),
      );
    } finally {
      db.close();
    }
  });

  test('bulk mode keeps the written join sides: the hash table is built on the named (smaller) input', async () => {
    const db = await Database.open(':memory:');
    // Inside a transaction, tables written in it have no statistics: the optimizer sees two empty
    // inputs. Bulk mode turns its side flipping off, so the right-hand input is the build side.
    const buildSide = async (sql: string): Promise<string> => {
      const plan = await db.all<{ explain_value: string }>(`EXPLAIN ${sql}`);
      const text = plan.map((r) => r.explain_value).join('\n');
      // The rendered plan puts the probe side's scan on the left, the build side's on the right.
      const scans = [...text.matchAll(/"temp"\.main\.([a-z]+)/g)].map((m) => m[1] ?? '');
      return scans[1] ?? '';
    };
    try {
      await db.run('BEGIN TRANSACTION');
      await db.run('CREATE TEMP TABLE big AS SELECT range AS k FROM range(300000)');
      await db.run('CREATE TEMP TABLE small AS SELECT range * 7 AS k FROM range(10)');
      await db.setBulkMode(true);
      assert.equal(await buildSide('SELECT COUNT(*) FROM big b JOIN small s ON s.k = b.k'), 'small');
      assert.equal(await buildSide('SELECT COUNT(*) FROM small s JOIN big b ON s.k = b.k'), 'big');
      const on = await db.one<{ v: string }>(`SELECT current_setting('disabled_optimizers') AS v`);
      assert.equal(on?.v, 'build_side_probe_side');
      await db.setBulkMode(false);
      const off = await db.one<{ v: string }>(`SELECT current_setting('disabled_optimizers') AS v`);
      assert.equal(off?.v, '');
      await db.run('ROLLBACK');
    } finally {
      db.close();
    }
  });

  test('bulk mode keeps freed memory for reuse: the block allocator up to the memory limit, no flush on a large release; leaving it restores the flush, entering again works', async () => {
    const current = async (db: Database, name: string): Promise<string> =>
      (await db.one<{ v: string }>(`SELECT current_setting('${name}') AS v`))?.v ?? '';
    const check = async (limit: string | undefined, expected: string): Promise<void> =>
      withEnv({ CARELAKE_MEMORY_LIMIT: limit }, async () => {
        const db = await Database.open(':memory:');
        try {
          const flushDefault = await current(db, 'allocator_bulk_deallocation_flush_threshold');
          assert.equal(await current(db, 'block_allocator_memory'), '0 bytes');
          await db.setBulkMode(true);
          assert.equal(await current(db, 'block_allocator_memory'), expected);
          assert.equal(await current(db, 'block_allocator_memory'), await current(db, 'memory_limit'));
          assert.equal(await current(db, 'allocator_bulk_deallocation_flush_threshold'), '931.3 GiB');
          // Work that allocates and frees far more than the old flush threshold completes.
          const n = await db.one<{ n: number }>(
            'SELECT COUNT(DISTINCT s) AS n FROM (SELECT repeat(CAST(range AS VARCHAR), 20) AS s FROM range(2000000))',
          );
          assert.equal(n?.n, 2_000_000);
          await db.setBulkMode(false);
          assert.equal(await current(db, 'allocator_bulk_deallocation_flush_threshold'), flushDefault);
          assert.notEqual(flushDefault, '931.3 GiB');
          // The engine cannot lower the block allocator again: a second bulk update leaves it as it is.
          await db.setBulkMode(true);
          assert.equal(await current(db, 'block_allocator_memory'), expected);
          await db.setBulkMode(false);
        } finally {
          db.close();
        }
      });
    await check(undefined, '2.3 GiB');
    await check('1GB', '953.6 MiB');
  });

  test('flushBehind writes a database file out in the background; the commit (or a rollback) waits for it; nothing for an in-memory database', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-flush-'));
    const db = await Database.open(path.join(dir, 'lake.duckdb'));
    try {
      const n = await db.transaction(async () => {
        await db.run('CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS h FROM range(500000)');
        db.flushBehind();
        db.flushBehind();
        assert.equal(db.pendingFlushes, 2);
        await db.run('INSERT INTO t SELECT range, md5(range::VARCHAR) FROM range(500000, 600000)');
        return (await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM t'))?.n;
      });
      assert.equal(n, 600000);
      assert.equal(db.pendingFlushes, 0, 'the commit awaited them');
      await assert.rejects(
        db.transaction(async () => {
          db.flushBehind();
          await db.run('SELECT * FROM no_such_table');
        }),
      );
      assert.equal(db.pendingFlushes, 0, 'the rollback awaited it');
      assert.equal((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM t'))?.n, 600000);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const memory = await Database.open(':memory:');
    try {
      memory.flushBehind();
      assert.equal(memory.pendingFlushes, 0);
    } finally {
      memory.close();
    }
  });

  test('bulk mode materialises working tables as files: types and values round-trip, text with many distinct values is written without a dictionary, nothing piles up in the transaction', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bulk-'));
    const dbPath = path.join(dir, 'lake.duckdb');
    const db = await Database.open(dbPath);
    const inMemoryTables = async (): Promise<number> =>
      (
        await db.one<{ n: number }>(
          `SELECT COALESCE(SUM(memory_usage_bytes + temporary_storage_bytes), 0)::BIGINT AS n FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'`,
        )
      )?.n ?? 0;
    const rows = `SELECT range AS id, 'name ' || range AS name, 'kind ' || (range % 5) AS kind, [CAST(range AS VARCHAR), 'x'] AS tags,
        CASE WHEN range % 97 = 0 THEN ['rule_a', 'rule_b'] WHEN range % 89 = 0 THEN ['rule_c'] ELSE CAST([] AS VARCHAR[]) END AS failed,
        json_object('k', range) AS doc, DATE '2026-01-01' + CAST(range % 300 AS INTEGER) AS day,
        TIMESTAMP '2026-01-01 10:00:00' AS "at", hash(range) AS h, range % 2 = 0 AS even, range / 7 AS ratio
      FROM range(300000)`;
    try {
      await db.run('BEGIN TRANSACTION');
      // Outside bulk mode: a temporary table, whose memory stays with the transaction after a drop.
      await db.materialize('w', rows);
      await db.dropTempTables('w');
      assert.ok((await inMemoryTables()) > 0, 'a dropped temporary table keeps its memory until the commit');
      await db.run('ROLLBACK');

      await db.run('BEGIN TRANSACTION');
      await db.setBulkMode(true);
      await db.materialize('w', rows);
      await db.materialize('w', `SELECT * FROM w WHERE id < 200000`);
      // Replaced and dropped files are deleted in the background.
      await db.filesRemoved();
      const files = fs.readdirSync(`${dbPath}.work`);
      assert.equal(files.length, 1, 'replacing a working relation deletes its old file');
      const t = await db.one<Record<string, unknown>>(
        `SELECT COUNT(*) AS n, any_value(typeof(tags)) AS tags, any_value(typeof(doc)) AS doc, any_value(typeof(day)) AS day,
           any_value(typeof("at")) AS "at", any_value(typeof(h)) AS h, any_value(typeof(even)) AS even, SUM(id) AS s FROM w`,
      );
      assert.deepEqual(t, {
        n: 200000,
        tags: 'VARCHAR[]',
        doc: 'JSON',
        day: 'DATE',
        at: 'TIMESTAMP',
        h: 'UBIGINT',
        even: 'BOOLEAN',
        s: 19999900000,
      });
      const digest = `SELECT COUNT(*) AS n, SUM(hash(id, name, kind, tags, failed, doc, day, "at", h, even, ratio)) AS d`;
      assert.deepEqual(
        await db.one(`${digest} FROM w`),
        await db.one(`${digest} FROM (${rows}) WHERE id < 200000`),
        'every value reads back as written',
      );
      // Past 1,000 distinct values in a row group a text column is written plain (a dictionary of
      // values that nearly all differ costs more to build than it saves); few distinct values keep one.
      const encodings = Object.fromEntries(
        (
          await db.all<{ col: string; enc: string }>(
            `SELECT path_in_schema AS col, string_agg(DISTINCT encodings, ',') AS enc
             FROM parquet_metadata('${path.join(`${dbPath}.work`, files[0] ?? '')}') GROUP BY path_in_schema`,
          )
        ).map((r) => [r.col, r.enc]),
      );
      assert.doesNotMatch(encodings['name'] ?? '', /DICTIONARY/, JSON.stringify(encodings));
      assert.match(encodings['kind'] ?? '', /DICTIONARY/, JSON.stringify(encodings));
      assert.match(encodings['failed, list, element'] ?? '', /DICTIONARY/, JSON.stringify(encodings));
      assert.equal(await inMemoryTables(), 0, 'working data lives in files, not in the transaction');
      await db.dropTempTables('w');
      await db.filesRemoved();
      assert.deepEqual(fs.readdirSync(`${dbPath}.work`), []);
      await db.setBulkMode(false);
      await db.filesRemoved();
      assert.equal(fs.existsSync(`${dbPath}.work`), false);
      await db.run('COMMIT');
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('materialize reports the rows it wrote in every form, and replaces views it made, also after a rollback', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-mat-'));
    const dbPath = path.join(dir, 'lake.duckdb');
    const db = await Database.open(dbPath);
    const kinds = async (): Promise<unknown[]> =>
      db.all(
        `SELECT table_name AS name, 'table' AS kind FROM duckdb_tables() WHERE temporary
         UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE temporary AND NOT internal ORDER BY 1`,
      );
    try {
      // A temporary table, a table with a view over its row ids, and (bulk mode) a file behind a view.
      assert.equal(await db.materialize('t1', 'SELECT range AS x FROM range(7)'), 7);
      assert.equal(await db.materialize('t2', 'SELECT range AS x FROM range(5)', { position: 'pos' }), 5);
      assert.deepEqual(await db.all('SELECT MIN(x) AS lo, COUNT(DISTINCT pos) AS n FROM t2'), [
        { lo: 0, n: 5 },
      ]);
      // A view defineView made is replaced by a table of the same name.
      await db.defineView('t3', 'SELECT 1 AS x');
      assert.equal(await db.materialize('t3', 'SELECT range AS x FROM range(4) WHERE range > 0'), 3);
      assert.deepEqual(await kinds(), [
        { name: 't1', kind: 'table' },
        { name: 't2', kind: 'view' },
        { name: 't2__rows', kind: 'table' },
        { name: 't3', kind: 'table' },
      ]);
      // A view made in a transaction that rolled back is gone; making the relation again still works.
      await db.run('BEGIN TRANSACTION');
      await db.defineView('t4', 'SELECT 1 AS x');
      await db.run('ROLLBACK');
      assert.equal(await db.materialize('t4', 'SELECT 2 AS x'), 1);
      assert.deepEqual(await db.all('SELECT x FROM t4'), [{ x: 2 }]);
      await db.run('BEGIN TRANSACTION');
      await db.setBulkMode(true);
      assert.equal(await db.materialize('f1', 'SELECT range AS x FROM range(11)'), 11);
      assert.equal(await db.materialize('f1', 'SELECT x FROM f1 WHERE x < 3', { position: 'pos' }), 3);
      assert.deepEqual(await db.all('SELECT SUM(x) AS s, SUM(pos) AS p FROM f1'), [{ s: 3, p: 3 }]);
      await db.setBulkMode(false);
      await db.run('COMMIT');
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a commit of more than 1 MB checkpoints at once (no log left), a small one is logged', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-ckpt-'));
    const file = path.join(dir, 'x.duckdb');
    const walBytes = (): number => (fs.existsSync(`${file}.wal`) ? fs.statSync(`${file}.wal`).size : 0);
    const db = await Database.open(file);
    try {
      await db.run('CREATE TABLE t (k BIGINT, v VARCHAR)');
      await db.run('CHECKPOINT');
      await db.transaction(() => db.run(`INSERT INTO t SELECT range, 'value ' || range FROM range(3)`));
      const small = walBytes();
      assert.ok(small > 0, 'a small commit is written to the log');
      await db.transaction(() =>
        // Fewer rows than a row group: logged row by row (a larger insert is written to the file at once).
        db.run(`INSERT INTO t SELECT range, repeat('x', 40) || range FROM range(100000)`),
      );
      assert.equal(
        walBytes(),
        0,
        'the large commit checkpointed instead of logging (and took the log with it)',
      );
      assert.deepEqual(await db.one('SELECT COUNT(*) AS n FROM t'), { n: 100003 });
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('updateRows: changed rows are deleted and appended again (in place in bulk mode), every other row untouched', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-update-'));
    const dbPath = path.join(dir, 'lake.duckdb');
    const db = await Database.open(dbPath);
    const snapshot = (): Promise<{ k: number; v: string; w: number; at: number }[]> =>
      db.all(`SELECT k, v, w, rowid AS at FROM t ORDER BY k`);
    try {
      await db.run(
        `CREATE TABLE t AS SELECT range AS k, 'v' || range AS v, range % 7 AS w FROM range(200000)`,
      );
      await db.run(
        `CREATE TABLE src AS SELECT * FROM (VALUES (5, 'five'), (150000, 'many'), (999999, 'none')) s(k, v)`,
      );
      await db.run('CHECKPOINT');
      const before = await snapshot();
      await db.run('BEGIN TRANSACTION');
      await db.updateRows('t', 'r', { v: 's.v', w: 'r.w + 100' }, 's.k = r.k', 'src s');
      await db.updateRows('t', 'r', { w: '-1' }, 'r.k = 7');
      await db.updateRows('t', 'r', { w: '-2' }, 'r.k < 0');
      await db.run('COMMIT');
      const after = await snapshot();
      assert.equal(after.length, before.length);
      const changed = new Map([
        [5, { v: 'five', w: 105 }],
        [150000, { v: 'many', w: 100 + (150000 % 7) }],
        [7, { v: 'v7', w: -1 }],
      ]);
      for (const [i, row] of after.entries()) {
        const old = before[i];
        const want = changed.get(row.k);
        if (want) {
          assert.deepEqual({ v: row.v, w: row.w }, want, `row ${row.k}`);
          assert.ok(row.at >= 200000, `row ${row.k} was appended again (row id ${row.at})`);
        } else assert.deepEqual(row, old);
      }
      // Bulk mode: a plain UPDATE, the row keeps its place.
      await db.run('BEGIN TRANSACTION');
      await db.setBulkMode(true);
      await db.updateRows('t', 'r', { v: "'bulk'" }, 'r.k = 9');
      await db.setBulkMode(false);
      await db.run('COMMIT');
      assert.deepEqual(await db.one(`SELECT v, rowid AS at FROM t WHERE k = 9`), { v: 'bulk', at: 9 });
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the lakehouse stores text whose values nearly all differ uncompressed; other text is still analysed for a dictionary', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-storage-'));
    const db = await Database.open(path.join(dir, 'lake.duckdb'));
    try {
      await ensureSchema(db);
      // 100,000 source patient records: distinct ids, SSN hashes and phone numbers; 50 last names, 2 sexes.
      await db.run(`INSERT INTO silver_patient_sources (source_system, source_patient_id, last_name_norm, sex, ssn_hash, phone_digits, patient_id)
        SELECT 'EHR_SYSTEM', 'E' || i, 'name' || (i % 50), CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END,
          sha256(CAST(i AS VARCHAR)), CAST(5550000000 + i AS VARCHAR), 'P' || LPAD(CAST(i AS VARCHAR), 9, '0')
        FROM range(100000) r(i)`);
      await db.run('CHECKPOINT');
      const stored = Object.fromEntries(
        (
          await db.all<{ c: string; methods: string }>(
            `SELECT column_name AS c, string_agg(DISTINCT compression, ',' ORDER BY compression) AS methods
             FROM pragma_storage_info('silver_patient_sources')
             WHERE segment_type = 'VARCHAR' -- the values, not their validity masks
               AND column_name IN ('source_patient_id', 'ssn_hash', 'phone_digits', 'patient_id', 'last_name_norm', 'sex') GROUP BY 1`,
          )
        ).map((r) => [r.c, r.methods]),
      );
      for (const c of ['source_patient_id', 'ssn_hash', 'phone_digits', 'patient_id'])
        assert.equal(stored[c], 'Uncompressed', `${c}: ${stored[c]}`);
      assert.match(stored['last_name_norm'] ?? '', /Dictionary/, 'a column of 50 names gets a dictionary');
      assert.doesNotMatch(stored['sex'] ?? '', /Uncompressed/, 'a column of two values is compressed');
      // Dataset tables carry the hint from their definitions (silver_claims: claim_id).
      await db.run(`INSERT INTO silver_claims (claim_id, patient_id, claim_status)
        SELECT 'C' || i, 'P' || (i % 20000), CASE WHEN i % 3 = 0 THEN 'paid' ELSE 'submitted' END FROM range(100000) r(i)`);
      await db.run('CHECKPOINT');
      const claims = Object.fromEntries(
        (
          await db.all<{ c: string; methods: string }>(
            `SELECT column_name AS c, string_agg(DISTINCT compression, ',' ORDER BY compression) AS methods
             FROM pragma_storage_info('silver_claims') WHERE segment_type = 'VARCHAR' GROUP BY 1`,
          )
        ).map((r) => [r.c, r.methods]),
      );
      assert.equal(claims['claim_id'], 'Uncompressed');
      assert.match(claims['patient_id'] ?? '', /Dictionary/, 'resolved patient ids repeat: a dictionary');
      // A closed set of values is an enumeration: one small integer a value, read back as its text.
      assert.equal(claims['claim_status'], undefined, 'no text segment for the status');
      const types = Object.fromEntries(
        (
          await db.all<{ c: string; t: string }>(
            `SELECT column_name AS c, data_type AS t FROM information_schema.columns
             WHERE table_name = 'silver_claims' AND column_name IN ('claim_status', '_change_type', 'claim_id')`,
          )
        ).map((r) => [r.c, r.t]),
      );
      assert.equal(types['claim_status'], "ENUM('approved', 'denied', 'paid', 'submitted')");
      assert.equal(types['_change_type'], "ENUM('insert', 'update_postimage')");
      assert.match(types['claim_id'] ?? '', /^VARCHAR/);
      assert.deepEqual(
        await db.all(`SELECT claim_status, COUNT(*) AS n FROM silver_claims GROUP BY 1 ORDER BY 1`),
        [
          { claim_status: 'paid', n: 33334 },
          { claim_status: 'submitted', n: 66666 },
        ],
      );
      await assert.rejects(
        db.run(`INSERT INTO silver_claims (claim_id, claim_status) VALUES ('C-x', 'pending')`),
        /Could not convert string 'pending'/,
        'a value outside the set fails the write',
      );
      // JSON is text too: the match evidence is declared uncompressed (here ten values repeated, which an
      // analysis would give a dictionary; a real record's evidence names its matched record).
      await db.run(`INSERT INTO silver_resolved_identity_resolution (source_system, source_patient_id, patient_id, match_evidence, match_rule)
        SELECT 'LAB_SYSTEM', 'L' || i, 'P' || i, json_object('decision', 'probabilistic', 'matched_record', 'EHR_SYSTEM:E' || (i % 10)),
          CASE WHEN i % 2 = 0 THEN 'fs-v1:probabilistic' ELSE 'fs-v1:new_patient' END
        FROM range(100000) r(i)`);
      await db.run('CHECKPOINT');
      const resolved = Object.fromEntries(
        (
          await db.all<{ c: string; methods: string }>(
            `SELECT column_name AS c, string_agg(DISTINCT compression, ',' ORDER BY compression) AS methods
             FROM pragma_storage_info('silver_resolved_identity_resolution') WHERE segment_type IN ('VARCHAR', 'JSON') GROUP BY 1`,
          )
        ).map((r) => [r.c, r.methods]),
      );
      assert.equal(resolved['match_evidence'], 'Uncompressed');
      assert.doesNotMatch(resolved['match_rule'] ?? '', /Uncompressed/);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('CARELAKE_TRACE_SQL=1 prints each statement with its wall and CPU time, and the memory by purpose, to stderr', () => {
    const engine = fileURLToPath(new URL('../../src/engine/database.ts', import.meta.url));
    const script = `const { Database } = await import(${JSON.stringify(engine)});
      const db = await Database.open(':memory:');
      await db.run('CREATE TABLE t AS SELECT range AS x FROM range(10)');
      await db.all('SELECT SUM(x) AS s FROM t');
      await db.all("SELECT 'a  b' AS spaced,\\n        1 AS one");
      await db.traceMemory('the sum');
      db.close();`;
    const run = (trace: string): string =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, CARELAKE_TRACE_SQL: trace },
      }).stderr;
    const out = run('1');
    assert.match(out, /\[sql \d+ ms, cpu \d+ ms\] CREATE TABLE t AS SELECT range AS x FROM range\(10\)/);
    assert.match(out, /\[sql \d+ ms, cpu \d+ ms\] SELECT SUM\(x\) AS s FROM t/);
    // A statement is one line, and a string literal keeps its spaces (the trace can be run again).
    assert.match(out, /\[sql \d+ ms, cpu \d+ ms\] SELECT 'a {2}b' AS spaced, 1 AS one\n/);
    assert.match(out, /\[memory after the sum\] [A-Z_]+ \d+ MB/);
    const quiet = run('');
    assert.doesNotMatch(quiet, /\[sql /);
    assert.doesNotMatch(quiet, /\[memory /);
  });

  test('the HMAC key blocks of the SSN hash never reach the trace or an error', async () => {
    const ipad = '36'.repeat(32) + '9a'.repeat(32);
    const opad = '5c'.repeat(32) + 'f0'.repeat(32);
    const hmac = `sha256(unhex('${opad}') || unhex(sha256(unhex('${ipad}') || encode('123456789'))))`;
    const engine = fileURLToPath(new URL('../../src/engine/database.ts', import.meta.url));
    const script = `const { Database } = await import(${JSON.stringify(engine)});
      const db = await Database.open(':memory:');
      const rows = await db.all(${JSON.stringify(`SELECT ${hmac} AS h`)});
      process.stdout.write(rows[0].h);
      db.close();`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, CARELAKE_TRACE_SQL: 'full' },
    });
    assert.match(child.stdout, /^[0-9a-f]{64}$/, 'the statement ran');
    assert.match(child.stderr, /\[sql \d+ ms, cpu \d+ ms\] SELECT sha256\(unhex\('<redacted>'\)/);
    assert.doesNotMatch(child.stderr, /[0-9a-f]{16}/, 'a piece of a key block is in the trace');

    // A failing statement: the engine quotes it in its message ("LINE 1: …"), and the error keeps it.
    const db = await Database.open(':memory:');
    try {
      const error = await db.all(`SELECT unhex('${ipad}') + 1 AS x`).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof EngineError, 'the statement fails');
      assert.match(error.message, /LINE 1: .*<redacted>/);
      assert.match(error.sql, /unhex\('<redacted>'\) \+ 1/);
      for (const text of [error.message, error.sql, String(error.stack)])
        assert.doesNotMatch(text, /[0-9a-f]{16}/, 'a piece of the key block is in the error');
    } finally {
      db.close();
    }
  });
});

test('sqlString spells any text as a literal the engine reads back unchanged (quotes, NUL, line breaks)', async () => {
  const db = await Database.open(':memory:');
  try {
    const values = ["O'Hara", 'a\0b', '\0', "\0'\0", 'line\nbreak\r\ttab', 'back\\slash', 'Zoë 😀', '', "''"];
    for (const v of values) {
      const row = await db.one<{ v: string; n: number }>(
        `SELECT ${sqlString(v)} AS v, LENGTH(${sqlString(v)}) AS n`,
      );
      assert.equal(row?.v, v, JSON.stringify(v));
      assert.equal(row?.n, [...v].length, JSON.stringify(v));
    }
  } finally {
    db.close();
  }
});

test('a damaged or cut-short database file is named as such, with what to do, not as one in use', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-damaged-'));
  try {
    const file = path.join(dir, 'lake.duckdb');
    const db = await Database.open(file);
    await db.run('CREATE TABLE t AS SELECT range AS i FROM range(1000)');
    db.close();
    const good = fs.readFileSync(file);
    const opened = async (): Promise<string> => {
      try {
        (await Database.open(file)).close();
        return 'opened';
      } catch (error: unknown) {
        assert.ok(error instanceof EngineError);
        return error.message;
      }
    };
    // A few bytes changed in the first block (after the file's three 4 KiB headers), which opening reads.
    const damaged = Buffer.from(good);
    damaged.fill(0xa5, 12288 + 100, 12288 + 104);
    fs.writeFileSync(file, damaged);
    const corrupt = await opened();
    assert.match(corrupt, /^cannot open the database .*Corrupt database file/);
    assert.match(
      corrupt,
      /the database file is damaged or cut short: restore it from a backup, or build a new lakehouse/,
    );
    assert.doesNotMatch(corrupt, /in use by another/);
    // Cut short.
    fs.writeFileSync(file, good.subarray(0, 20_000));
    const cut = await opened();
    assert.match(cut, /Could not read enough bytes|damaged or cut short/);
    assert.doesNotMatch(cut, /in use by another/);
    // Whole again: it opens.
    fs.writeFileSync(file, good);
    assert.equal(await opened(), 'opened');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged write-ahead log is named as such, with what to do', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-damaged-wal-'));
  try {
    const file = path.join(dir, 'lake.duckdb');
    const db = await Database.open(file);
    await db.run('CREATE TABLE t AS SELECT range AS i FROM range(1000)');
    await db.run('CHECKPOINT');
    // Small commits go to the log; the copy taken before close holds them only there.
    for (let i = 0; i < 3; i++) await db.run('INSERT INTO t SELECT range FROM range(2000)');
    const copy = path.join(dir, 'copy.duckdb');
    fs.copyFileSync(file, copy);
    fs.copyFileSync(`${file}.wal`, `${copy}.wal`);
    db.close();
    const wal = fs.readFileSync(`${copy}.wal`);
    assert.ok(wal.length > 1000, 'the commits are in the log');
    wal.fill(0xa5, Math.floor(wal.length / 3), Math.floor(wal.length / 3) + 4);
    fs.writeFileSync(`${copy}.wal`, wal);
    await assert.rejects(Database.open(copy), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.match(error.message, /Corrupt WAL file/);
      assert.match(
        error.message,
        /the \.wal file next to it, is damaged: restore a backup, or move the \.wal file aside/,
      );
      assert.doesNotMatch(error.message, /in use by another/);
      return true;
    });
    // Moved aside, the database opens as it was at its checkpoint.
    fs.renameSync(`${copy}.wal`, `${copy}.wal.damaged`);
    const reopened = await Database.open(copy);
    try {
      assert.deepEqual(await reopened.all('SELECT COUNT(*) AS n FROM t'), [{ n: 1000 }]);
    } finally {
      reopened.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
