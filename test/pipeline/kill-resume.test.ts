/**
 * Kill and resume: real pipeline updates in a child process are killed with SIGKILL at random points;
 * the next run takes over the stale lock and completes, and the lakehouse then equals, table by table
 * (row count and content checksum), a clean single run over the same landing files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli } from './cli-helper.ts';
import {
  TEST_ENV,
  fingerprint,
  makeLakehouse,
  query,
  run,
  writeSizedBatches,
  type Lakehouse,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const WORKER = fileURLToPath(new URL('./kill-worker.ts', import.meta.url));
const lakes = lakehousesRemovedAfterwards();

/**
 * Spawns a worker run and SIGKILLs it `ms` after its output first contains `trigger` (a progress line);
 * resolves how it ended.
 */
function runAndKill(
  lake: Lakehouse,
  trigger: string,
  ms: number,
): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, 'run', lake.db, lake.landing], {
      env: TEST_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!timer && output.includes(trigger)) timer = setTimeout(() => child.kill('SIGKILL'), ms);
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', output: output + `exit ${code} ${signal}` });
    });
  });
}

let clean: Awaited<ReturnType<typeof fingerprint>>;
let landingSource: Lakehouse;

before(async () => {
  landingSource = makeLakehouse('carelake-kill-clean-');
  lakes.push(landingSource);
  writeSizedBatches(landingSource.landing, [0, 1, 2]);
  const r = await run(landingSource);
  assert.equal(r.status, 'COMPLETED', r.error);
  clean = await fingerprint(landingSource.db);
  assert.ok((clean['bronze_claims']?.rows ?? 0) >= 3000, 'the fixture is big enough');
});

function copyLanding(to: Lakehouse): void {
  for (const f of fs.readdirSync(landingSource.landing))
    fs.copyFileSync(path.join(landingSource.landing, f), path.join(to.landing, f));
}

const rnd = (n: number): number => Math.floor(Math.random() * n);

test('SIGKILL at random points, then resume: identical to a clean single run; stale locks taken over', async () => {
  const lake = makeLakehouse('carelake-kill-');
  lakes.push(lake);
  copyLanding(lake);
  // Kill points spread over one update: setup, bronze ingestion, silver, gold (plus random jitter).
  const points: [string, number][] = [
    ['started', 50 + rnd(100)],
    ['progress bronze 0/', rnd(150)],
    ['progress bronze 4/', rnd(100)],
    ['progress silver_claims', rnd(50)],
    ['progress gold_patients', rnd(30)],
  ];
  const outputs: string[] = [];
  let killedInTransaction = 0;
  for (const [trigger, ms] of points) {
    const r = await runAndKill(lake, trigger, ms);
    const last = r.output.trim().split('\n').slice(-2).join(' / ');
    outputs.push(`${trigger}+${ms}ms: ${last}`);
    if (!r.killed) {
      assert.match(r.output, /done COMPLETED/, r.output);
      continue;
    }
    if (r.output.includes('progress ')) {
      killedInTransaction += 1;
      // Killed inside the update: its lock is left behind, stale, for the next run to take over.
      assert.ok(fs.existsSync(`${lake.db}.lock`), `stale lock left (${last})`);
      const pid = Number(fs.readFileSync(`${lake.db}.lock`, 'utf8'));
      assert.ok(Number.isInteger(pid) && pid > 0);
      // Nothing of the killed update is visible.
      const files = await query<{ n: number }>(lake.db, 'SELECT COUNT(*) AS n FROM ingest_files');
      assert.equal(files[0]?.n, 0, `a killed update committed nothing (${last})`);
      // `carelake status` does not call the dead update RUNNING.
      const status = await cli(['status', '--db', lake.db, '--format', 'json']);
      assert.equal(status.code, 0, status.err);
      const runs = (JSON.parse(status.out) as { lastRuns: { status: string }[] }).lastRuns;
      assert.ok(runs.length > 0 && runs.every((x) => x.status !== 'RUNNING'), JSON.stringify(runs));
      assert.equal(runs[0]?.status, 'INTERRUPTED', JSON.stringify(runs));
    }
  }
  assert.ok(killedInTransaction >= 3, `at least three runs killed inside the update: ${outputs.join(' | ')}`);
  const resumed = await run(lake);
  assert.equal(resumed.status, 'COMPLETED', resumed.error);
  assert.ok(!fs.existsSync(`${lake.db}.lock`), 'the lock is released');
  assert.ok(!fs.existsSync(`${lake.db}.work`), 'no working files are left behind');
  // Working files a killed first load left behind go with the next update, even an incremental one.
  fs.mkdirSync(`${lake.db}.work`);
  fs.writeFileSync(`${lake.db}.work/bronze_raw-1.parquet`, 'left by a killed update');
  const again = await run(lake);
  assert.equal(again.status, 'COMPLETED', again.error);
  assert.ok(!fs.existsSync(`${lake.db}.work`), 'stale working files removed');
  const got = await fingerprint(lake.db);
  for (const t of Object.keys(clean)) {
    if (t === 'ingest_files') {
      assert.equal(got[t]?.rows, clean[t]?.rows, 'ingest_files rows');
      continue; // file paths and mtimes differ by construction
    }
    assert.deepEqual(got[t], clean[t], `${t}: rows and checksum equal a clean run`);
  }
  // No duplicates and no lost rows: each landing line is in bronze or the quarantine exactly once.
  for (const t of ['bronze_patients', 'bronze_claims', 'bronze_medical_events']) {
    const dup = await query<{ n: number }>(
      lake.db,
      `SELECT COUNT(*) AS n FROM (SELECT _file_name, _line_number FROM ${t} GROUP BY ALL HAVING COUNT(*) > 1)`,
    );
    assert.equal(dup[0]?.n, 0, `${t} has no duplicate line`);
  }
  const lines = fs
    .readdirSync(lake.landing)
    .reduce(
      (n, f) => n + fs.readFileSync(path.join(lake.landing, f), 'utf8').trim().split('\n').length - 1,
      0,
    );
  const stored = await query<{ n: number }>(
    lake.db,
    `SELECT (SELECT COUNT(*) FROM bronze_patients) + (SELECT COUNT(*) FROM bronze_claims)
      + (SELECT COUNT(*) FROM bronze_medical_events)
      + (SELECT COUNT(*) FROM quarantine WHERE dataset LIKE 'bronze_%') AS n`,
  );
  assert.equal(stored[0]?.n, lines, 'every landing line is stored exactly once');
});
