/**
 * Stopping an update: an aborted `RunOptions.signal` (the CLI aborts it on SIGINT and SIGTERM) cancels
 * the running statement and rolls the update back; the run is recorded as INTERRUPTED, nothing of it
 * is kept, no lock or working file is left, and the next run does the work in full.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPipeline, type RunResult } from '../../src/runner/run.ts';
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

const BIN = fileURLToPath(new URL('../../bin/carelake.js', import.meta.url));
const lakes = lakehousesRemovedAfterwards();

let clean: Awaited<ReturnType<typeof fingerprint>>;

before(async () => {
  const lake = makeLakehouse('carelake-interrupt-clean-');
  lakes.push(lake);
  writeSizedBatches(lake.landing, [0, 1, 2]);
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);
  clean = await fingerprint(lake.db);
});

/** One update stopped when its progress first reports `label`. */
function runStoppedAt(lake: Lakehouse, label: string, reason = 'SIGINT'): Promise<RunResult> {
  const controller = new AbortController();
  return runPipeline({
    dbPath: lake.db,
    landingDir: lake.landing,
    env: TEST_ENV,
    orphanGraceHours: 0,
    signal: controller.signal,
    onProgress: (l) => {
      if (l === label) controller.abort(reason);
    },
  });
}

async function assertStopped(lake: Lakehouse, r: RunResult, reason: string): Promise<void> {
  assert.equal(r.status, 'INTERRUPTED', r.error);
  assert.match(r.error ?? '', new RegExp(`^interrupted by ${reason} before the update committed`));
  assert.deepEqual(r.flows, []);
  assert.ok(!fs.existsSync(`${lake.db}.lock`), 'the lock is released');
  assert.ok(!fs.existsSync(`${lake.db}.work`), 'no working files are left');
  const runs = await query<{ status: string; error: string }>(
    lake.db,
    `SELECT status, error FROM pipeline_runs WHERE run_id = '${r.runId}'`,
  );
  assert.equal(runs[0]?.status, 'INTERRUPTED');
  assert.match(runs[0]?.error ?? '', /rolled back/);
  const events = await query<{ state: string; level: string }>(
    lake.db,
    `SELECT details->>'$.update_progress.state' AS state, level FROM event_log
     WHERE origin->>'$.update_id' = '${r.runId}' AND event_type = 'update_progress'`,
  );
  assert.deepEqual(events, [{ state: 'CANCELED', level: 'WARN' }]);
}

test('a first load stopped in bronze, silver or gold keeps nothing; the next run equals a clean run', async () => {
  const lake = makeLakehouse('carelake-interrupt-');
  lakes.push(lake);
  writeSizedBatches(lake.landing, [0, 1, 2]);
  for (const label of ['bronze', 'silver_patients', 'silver_medical_events', 'gold_patients']) {
    const r = await runStoppedAt(lake, label, label === 'gold_patients' ? 'SIGTERM' : 'SIGINT');
    await assertStopped(lake, r, label === 'gold_patients' ? 'SIGTERM' : 'SIGINT');
    const kept = await query<{ files: number; bronze: number; silver: number }>(
      lake.db,
      `SELECT (SELECT COUNT(*) FROM ingest_files) AS files, (SELECT COUNT(*) FROM bronze_claims) AS bronze,
        (SELECT COUNT(*) FROM silver_patients) AS silver`,
    );
    assert.deepEqual(kept, [{ files: 0, bronze: 0, silver: 0 }], `stopped at ${label}`);
  }
  const resumed = await run(lake);
  assert.equal(resumed.status, 'COMPLETED', resumed.error);
  const got = await fingerprint(lake.db);
  for (const t of Object.keys(clean)) {
    if (t === 'ingest_files') assert.equal(got[t]?.rows, clean[t]?.rows, 'ingest_files rows');
    else assert.deepEqual(got[t], clean[t], `${t}: rows and checksum equal a clean run`);
  }
});

test('an incremental update stopped in silver leaves every table as the last update left it', async () => {
  const lake = makeLakehouse('carelake-interrupt-inc-');
  lakes.push(lake);
  writeSizedBatches(lake.landing, [0, 1]);
  assert.equal((await run(lake)).status, 'COMPLETED');
  const before = await fingerprint(lake.db);
  writeSizedBatches(lake.landing, [2]);
  const r = await runStoppedAt(lake, 'silver_claims');
  await assertStopped(lake, r, 'SIGINT');
  assert.deepEqual(await fingerprint(lake.db), before, 'nothing of the stopped update is kept');
  const resumed = await run(lake);
  assert.equal(resumed.status, 'COMPLETED', resumed.error);
  assert.equal(resumed.files.filter((f) => f.action === 'ingested').length, 3, 'its files are ingested now');
  const got = await fingerprint(lake.db);
  assert.equal(got['bronze_claims']?.rows, clean['bronze_claims']?.rows);
  assert.deepEqual(got['gold_patients'], clean['gold_patients']);
});

test('a signal aborted before the update began stops it before it reads anything', async () => {
  const lake = makeLakehouse('carelake-interrupt-early-');
  lakes.push(lake);
  writeSizedBatches(lake.landing, [0]);
  const controller = new AbortController();
  controller.abort('SIGTERM');
  const r = await runPipeline({
    dbPath: lake.db,
    landingDir: lake.landing,
    env: TEST_ENV,
    signal: controller.signal,
  });
  await assertStopped(lake, r, 'SIGTERM');
  assert.deepEqual(r.files, []);
});

/** Runs the CLI's `run` and sends it `signals` once its working folder appears (a first load under way). */
function cliRunSignalled(
  lake: Lakehouse,
  signals: NodeJS.Signals[],
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', '--db', lake.db, '--landing', lake.landing], {
      env: TEST_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const poll = setInterval(() => {
      if (!fs.existsSync(`${lake.db}.work`)) return;
      clearInterval(poll);
      for (const s of signals) child.kill(s);
    }, 2);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, out, err });
    });
  });
}

test('carelake run: Ctrl-C (SIGINT) rolls the update back and exits 130; a second one stops at once', async () => {
  const lake = makeLakehouse('carelake-interrupt-cli-');
  lakes.push(lake);
  writeSizedBatches(lake.landing, [0, 1, 2]);
  const r = await cliRunSignalled(lake, ['SIGINT']);
  assert.equal(r.code, 130, r.out + r.err);
  assert.match(r.err, /SIGINT: stopping the update and rolling it back/);
  assert.match(
    r.out,
    /INTERRUPTED in [\d.]+ s: nothing ingested \(rolled back; 9 file\(s\) will be tried again\)/,
  );
  assert.match(r.out, /Error: interrupted by SIGINT before the update committed/);
  assert.ok(!fs.existsSync(`${lake.db}.lock`) && !fs.existsSync(`${lake.db}.work`), 'nothing left behind');
  const runs = await query<{ status: string }>(lake.db, 'SELECT status FROM pipeline_runs');
  assert.deepEqual(runs, [{ status: 'INTERRUPTED' }]);

  // Two signals: the second ends the process at once; the next run still finds a consistent lakehouse.
  const twice = await cliRunSignalled(lake, ['SIGINT', 'SIGINT']);
  assert.equal(twice.code, 130, twice.out + twice.err);
  const files = await query<{ n: number }>(lake.db, 'SELECT COUNT(*) AS n FROM ingest_files');
  assert.equal(files[0]?.n, 0);
  const resumed = await run(lake);
  assert.equal(resumed.status, 'COMPLETED', resumed.error);
  assert.deepEqual((await fingerprint(lake.db))['gold_claims'], clean['gold_claims']);
});
