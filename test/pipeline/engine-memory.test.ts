/**
 * The engine's memory limit per update: a first load keeps the 2.5 GB default, an incremental update
 * runs under 384 MiB plus four times its landing bytes (Database.limitMemory) and sets the default
 * again when its flows are done; CARELAKE_MEMORY_LIMIT holds for every update. Read from the statement
 * trace of real runs in a child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { incrementalMemoryLimit } from '../../src/runner/run.ts';
import { makeLakehouse, type Lakehouse, lakehousesRemovedAfterwards } from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

const fixtures = fileURLToPath(new URL('./fixtures.ts', import.meta.url));

/** Runs one update on `lake` after writing a batch of `patients` fixture patients; returns the trace. */
function tracedRun(lake: Lakehouse, from: number, to: number, at: string, memoryLimit?: string): string {
  const script = `const f = await import(${JSON.stringify(fixtures)});
    f.writeValidBatch(${JSON.stringify(lake.landing)}, new Date(${JSON.stringify(at)}),
      { patients: f.range(${from}, ${to}), firstKey: ${from * 10} });
    const r = await f.run({ db: ${JSON.stringify(lake.db)}, landing: ${JSON.stringify(lake.landing)} });
    if (r.status !== 'COMPLETED') throw new Error(r.status + ' ' + r.error);`;
  const env: NodeJS.ProcessEnv = { ...process.env, CARELAKE_TRACE_SQL: '1' };
  delete env['CARELAKE_MEMORY_LIMIT'];
  if (memoryLimit) env['CARELAKE_MEMORY_LIMIT'] = memoryLimit;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env,
  });
  assert.equal(child.status, 0, child.stderr);
  return child.stderr;
}

const memorySettings = (trace: string): string[] =>
  [...trace.matchAll(/\] SET memory_limit = '([^']+)'/g)].map((m) => m[1] ?? '');

test('an incremental update runs under a memory limit sized by its landing bytes; a first load keeps the cap', () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const first = tracedRun(lake, 1, 301, '2026-01-05T10:00:00Z');
  // The default set at open (not traced) is never lowered.
  assert.deepEqual(memorySettings(first), []);

  const before = new Set(fs.readdirSync(lake.landing));
  const second = tracedRun(lake, 301, 321, '2026-01-05T11:00:00Z');
  const newBytes = fs
    .readdirSync(lake.landing)
    .filter((f) => !before.has(f))
    .reduce((sum, f) => sum + fs.statSync(path.join(lake.landing, f)).size, 0);
  assert.ok(newBytes > 0);
  // Lowered for the flows, the default again before the accounting and the commit.
  assert.deepEqual(memorySettings(second), [`${incrementalMemoryLimit(newBytes)} bytes`, '2.5GB']);
  assert.equal(incrementalMemoryLimit(newBytes), 384 * 2 ** 20 + 4 * newBytes);
  const lowered = second.indexOf(`SET memory_limit = '${incrementalMemoryLimit(newBytes)} bytes'`);
  assert.ok(lowered < second.indexOf('eval_silver_patients'), 'lowered before the silver flows');
  // An incremental update keeps the insertion order (its small inserts append to open row groups
  // instead of each adding its own, held until the commit); a first load's bulk flows do not.
  const orderBeforeSilver = (trace: string): string | undefined =>
    [
      ...trace
        .slice(0, trace.indexOf('eval_silver_patients'))
        .matchAll(/SET preserve_insertion_order = (\w+)/g),
    ].at(-1)?.[1];
  assert.equal(orderBeforeSilver(second), 'true');
  assert.equal(orderBeforeSilver(first), 'false');

  // A limit the user set holds for an incremental update too.
  const third = tracedRun(lake, 321, 341, '2026-01-05T12:00:00Z', '3GB');
  assert.match(third, /eval_silver_patients/, 'the update ran its flows');
  assert.deepEqual(memorySettings(third), []);
});

test('an incremental update of a backlog of small files holds no memory per file until its commit', () => {
  // Each file's staging and check, and its inserts, would otherwise each keep memory until the commit
  // (temporary tables, row groups of their own): 360 files of 100 rows outgrew an update's limit.
  const lake = makeLakehouse();
  lakes.push(lake);
  tracedRun(lake, 1, 801, '2026-01-05T10:00:00Z');
  // Fewer new landing bytes than the first load's: an incremental update (not bulk mode), which stages
  // its many files in working files.
  const script = `const f = await import(${JSON.stringify(fixtures)});
    const fs = await import('node:fs');
    const bytes = () => fs.readdirSync(${JSON.stringify(lake.landing)}).reduce(
      (n, x) => n + fs.statSync(${JSON.stringify(lake.landing)} + '/' + x).size, 0);
    const before = bytes();
    const at = new Date('2026-01-05T11:00:00Z');
    for (let n = 0; n < 200; n++) {
      const claims = f.range(0, 5).map((j) => f.claimRow(100000 + n * 5 + j, 1 + ((n * 5 + j) % 40)));
      f.writeLandingFile(${JSON.stringify(lake.landing)}, 'claims', at, f.csvText('claims', claims), n + 1);
    }
    if (bytes() - before >= before) throw new Error('the backlog would be a bulk update');
    const r = await f.run({ db: ${JSON.stringify(lake.db)}, landing: ${JSON.stringify(lake.landing)} });
    if (r.status !== 'COMPLETED') throw new Error(r.status + ' ' + r.error);
    const ingested = r.files.filter((x) => x.action === 'ingested').length;
    process.stdout.write(JSON.stringify({ ingested }));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CARELAKE_MEMORY_LIMIT: '200MB' },
  });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { ingested: 200 });
});
