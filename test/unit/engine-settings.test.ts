/**
 * Engine settings applied by Database.open (string compression, insertion order, memory cap, each
 * overridable from the environment) and the CARELAKE_TRACE_SQL statement trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Database } from '../../src/engine/database.ts';

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
  test('by default: FSST off, dictionary compression on, insertion order not preserved, join sides chosen by the optimizer, memory capped at 3 GB', async () => {
    const s = await withEnv(
      { CARELAKE_STRING_COMPRESSION: undefined, CARELAKE_MEMORY_LIMIT: undefined },
      settings,
    );
    assert.equal((s['disabled_compression_methods'] ?? '').toLowerCase(), 'fsst');
    assert.equal(s['preserve_insertion_order'], 'false');
    assert.equal(s['disabled_optimizers'], '');
    // 3 GB as DuckDB reports it (in GiB)
    assert.match(s['memory_limit'] ?? '', /^2\.[0-9]+ GiB$/);
  });

  test('CARELAKE_STRING_COMPRESSION=off turns string compression off; CARELAKE_MEMORY_LIMIT sets the cap', async () => {
    const s = await withEnv({ CARELAKE_STRING_COMPRESSION: 'off', CARELAKE_MEMORY_LIMIT: '1GB' }, settings);
    const disabled = (s['disabled_compression_methods'] ?? '').toLowerCase().split(',');
    assert.deepEqual([...disabled].sort(), ['dict_fsst', 'dictionary', 'fsst']);
    assert.match(s['memory_limit'] ?? '', /^9[0-9.]+ MiB$/);
  });

  test('withoutStringCompression turns dictionary compression off for its statements only', async () => {
    const db = await Database.open(':memory:');
    const current = async (): Promise<string> =>
      ((await db.one<{ v: string }>(`SELECT current_setting('disabled_compression_methods') AS v`))?.v ?? '')
        .toLowerCase()
        .split(',')
        .sort()
        .join(',');
    try {
      const inside = await db.withoutStringCompression(current);
      assert.equal(inside, 'dict_fsst,dictionary,fsst');
      assert.equal(await current(), 'fsst');
      await assert.rejects(
        db.withoutStringCompression(() => db.run('SELECT * FROM no_such_table')),
        /no_such_table/,
      );
      assert.equal(await current(), 'fsst', 'restored after a failure');
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

  test('CARELAKE_TRACE_SQL=1 prints each statement with its wall and CPU time to stderr', () => {
    const engine = fileURLToPath(new URL('../../src/engine/database.ts', import.meta.url));
    const script = `const { Database } = await import(${JSON.stringify(engine)});
      const db = await Database.open(':memory:');
      await db.run('CREATE TABLE t AS SELECT range AS x FROM range(10)');
      await db.all('SELECT SUM(x) AS s FROM t');
      db.close();`;
    const run = (trace: string): string =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, CARELAKE_TRACE_SQL: trace },
      }).stderr;
    const out = run('1');
    assert.match(out, /\[sql \d+ ms, cpu \d+ ms\] CREATE TABLE t AS SELECT range AS x FROM range\(10\)/);
    assert.match(out, /\[sql \d+ ms, cpu \d+ ms\] SELECT SUM\(x\) AS s FROM t/);
    assert.doesNotMatch(run(''), /\[sql /);
  });
});
