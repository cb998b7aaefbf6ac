/**
 * Identity-resolution benchmark: generates N people (default 465,000 ≈ 1,000,000 patient source
 * records), loads the patient extract through bronze and silver, then measures in one child process
 * per phase (wall time, CPU seconds, peak memory):
 *   - resolve: every source record from scratch (blocking, EM training, scoring, clustering, golden);
 *   - resolve without SSN: the same with the SSN removed from every record;
 *   - incremental: one later extract of about 10,000 new source records through the pipeline;
 * and scores each result against the generator's ground truth (pairwise and B-cubed).
 *
 *   npm run bench:identity                        # 465,000 people
 *   npm run bench:identity -- 50000               # another size
 *   BENCH_KEEP=/tmp/dir npm run bench:identity    # keep (and reuse) the generated data and databases
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyFileDurably, peakMb, runChild } from './child.ts';
import { Database } from '../src/engine/database.ts';
import { generate, readGroundTruth } from '../src/generator/index.ts';
import { evaluateIdentity, type IdentityEvaluation } from '../src/identity/evaluate.ts';
import { resetIdentityState, resolveIdentities } from '../src/identity/resolve.ts';
import { runPipeline } from '../src/runner/run.ts';
import { ensureSchema } from '../src/runner/schema.ts';

const SELF = fileURLToPath(import.meta.url);

const KEY = { ...process.env, CARELAKE_SSN_KEY: '5a'.repeat(32) };
const AS_OF = new Date('2026-11-20T12:00:00Z');
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function score(
  db: Database,
  truthDir: string,
): Promise<IdentityEvaluation['pairwise'] & { bcubed: IdentityEvaluation['bcubed'] }> {
  const truth: { recordKey: string; personId: string }[] = [];
  for await (const r of readGroundTruth(truthDir)) if (r.entity === 'patients') truth.push(r);
  const e = await evaluateIdentity(db, truth);
  return { ...e.pairwise, bcubed: e.bcubed };
}

function copyDb(from: string, to: string): void {
  fs.rmSync(to, { force: true });
  fs.rmSync(`${to}.wal`, { force: true });
  copyFileDurably(from, to);
  if (fs.existsSync(`${from}.wal`)) copyFileDurably(`${from}.wal`, `${to}.wal`);
}

async function child(mode: string, dir: string): Promise<unknown> {
  const base = path.join(dir, 'base.duckdb');
  const truth = path.join(dir, 'truth');
  if (mode === 'load') {
    // Bronze + silver patients (and the first identity resolution) from the patient extract only.
    if (fs.existsSync(base)) return { reused: true };
    const started = performance.now();
    const r = await runPipeline({ dbPath: base, landingDir: path.join(dir, 'patients'), env: KEY });
    return {
      status: r.status,
      error: r.error,
      seconds: (performance.now() - started) / 1000,
      identity: r.identity,
    };
  }
  if (mode === 'resolve' || mode === 'resolve-without-ssn') {
    const file = path.join(dir, `${mode}.duckdb`);
    copyDb(base, file);
    const db = await Database.open(file);
    try {
      await ensureSchema(db);
      await resetIdentityState(db);
      await db.run('CHECKPOINT');
      const cpu0 = cpuSeconds();
      const started = performance.now();
      const stats = await resolveIdentities(db, {
        runId: mode,
        resolvedAtSql: 'now()::TIMESTAMP',
        sourceFilter: 'TRUE',
        withoutSsn: mode === 'resolve-without-ssn',
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuSeconds() - cpu0;
      const peak = peakMb();
      return { seconds, cpuSeconds: cpu, peakMb: peak, stats, quality: await score(db, truth) };
    } finally {
      db.close();
      if (mode !== 'resolve') fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.wal`, { force: true });
    }
  }
  if (mode === 'incremental') {
    const file = path.join(dir, 'incremental.duckdb');
    copyDb(path.join(dir, 'resolve.duckdb'), file);
    const landing = path.join(dir, 'incremental-landing');
    fs.rmSync(landing, { recursive: true, force: true });
    fs.mkdirSync(landing);
    const inc = path.join(dir, 'incremental-all');
    fs.rmSync(inc, { recursive: true, force: true });
    fs.mkdirSync(inc);
    const incTruth = path.join(dir, 'incremental-truth');
    fs.rmSync(incTruth, { recursive: true, force: true });
    fs.cpSync(truth, incTruth, { recursive: true });
    // About 10,000 new source records: 4,000 new people (≈ 2.15 records each) and a few changed ones.
    await generate({
      patients: 4000,
      incremental: true,
      changeShare: 0.002,
      outDir: inc,
      truthDir: incTruth,
      asOf: new Date(AS_OF.getTime() + 3600_000),
    });
    for (const f of fs.readdirSync(inc))
      if (f.startsWith('patients_')) fs.copyFileSync(path.join(inc, f), path.join(landing, f));
    const rows = fs
      .readdirSync(landing)
      .reduce((s, f) => s + fs.readFileSync(path.join(landing, f), 'utf8').split('\n').length - 2, 0);
    const cpu0 = cpuSeconds();
    const started = performance.now();
    const r = await runPipeline({ dbPath: file, landingDir: landing, env: KEY });
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const db = await Database.open(file);
    try {
      return {
        status: r.status,
        error: r.error,
        rows,
        seconds,
        cpuSeconds: cpu,
        identitySeconds: r.identity?.seconds,
        identity: r.identity,
        peakMb: peakMb(),
        quality: await score(db, incTruth),
      };
    } finally {
      db.close();
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.wal`, { force: true });
    }
  }
  throw new Error(`unknown mode ${mode}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const result = await child(argv[1] ?? '', argv[2] ?? '');
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const people = Number(argv[0] ?? 465_000);
  const keep = process.env['BENCH_KEEP'];
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-identity-bench-'));
  fs.mkdirSync(dir, { recursive: true });
  try {
    if (!fs.existsSync(path.join(dir, 'truth', 'manifest.json'))) {
      process.stderr.write(`generating ${people.toLocaleString('en-US')} people in ${dir}…\n`);
      await generate({
        patients: people,
        seed: 1,
        outDir: path.join(dir, 'landing'),
        truthDir: path.join(dir, 'truth'),
        asOf: AS_OF,
      });
    }
    const patients = path.join(dir, 'patients');
    fs.mkdirSync(patients, { recursive: true });
    for (const f of fs.readdirSync(path.join(dir, 'landing')))
      if (f.startsWith('patients_')) fs.copyFileSync(path.join(dir, 'landing', f), path.join(patients, f));
    process.stderr.write('loading the patient extract through bronze and silver…\n');
    const load = runChild(SELF, 'load', dir);
    process.stderr.write('resolving from scratch…\n');
    const resolve = runChild(SELF, 'resolve', dir);
    process.stderr.write('resolving from scratch without SSN…\n');
    const withoutSsn = runChild(SELF, 'resolve-without-ssn', dir);
    process.stderr.write('linking an incremental batch…\n');
    const incremental = runChild(SELF, 'incremental', dir);
    const stats = resolve['stats'] as { newRecords?: number; candidatePairs?: number; phases?: unknown };
    const q = (r: Record<string, unknown>): string => {
      const x = r['quality'] as {
        precision: number;
        recall: number;
        f1: number;
        bcubed: { precision: number; recall: number };
      };
      return `pairwise P ${x.precision.toFixed(6)} R ${x.recall.toFixed(6)} F1 ${x.f1.toFixed(6)}; B-cubed P ${x.bcubed.precision.toFixed(6)} R ${x.bcubed.recall.toFixed(6)}`;
    };
    const num = (r: Record<string, unknown>, k: string): string => Number(r[k] ?? NaN).toFixed(2);
    const lines = [
      `identity resolution benchmark (${people.toLocaleString('en-US')} people, ${stats.newRecords?.toLocaleString('en-US')} source records; load ${os.loadavg()[0]?.toFixed(1)})`,
      `  resolve from scratch:  ${num(resolve, 'seconds')} s wall, ${num(resolve, 'cpuSeconds')} CPU-s, peak ${String(resolve['peakMb'])} MB (target 60 s, 4,096 MB); ${stats.candidatePairs?.toLocaleString('en-US')} candidate pairs`,
      `    phases (s): ${JSON.stringify(stats.phases)}`,
      `    ${q(resolve)}`,
      `  without SSN:           ${num(withoutSsn, 'seconds')} s wall, ${num(withoutSsn, 'cpuSeconds')} CPU-s, peak ${String(withoutSsn['peakMb'])} MB`,
      `    ${q(withoutSsn)}`,
      `  incremental batch:     ${String(incremental['rows'])} new source rows; identity step ${Number(incremental['identitySeconds'] ?? NaN).toFixed(2)} s, ${Number((incremental['identity'] as { cpuSeconds?: number } | undefined)?.cpuSeconds ?? NaN).toFixed(2)} CPU-s (target 5 s); whole pipeline run ${num(incremental, 'seconds')} s wall, ${num(incremental, 'cpuSeconds')} CPU-s, peak ${String(incremental['peakMb'])} MB`,
      `    ${q(incremental)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    process.stdout.write(JSON.stringify({ people, load, resolve, withoutSsn, incremental }) + '\n');
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
