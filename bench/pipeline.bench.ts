/**
 * Pipeline benchmark: generates N people (default 1,000,000, about 10 million rows), then measures
 * in one child process per phase set:
 *   - the floor: DuckDB merely scanning the same CSV files (read_csv, every column as text);
 *   - the full pipeline from landing to gold: wall time, rows per second, peak memory, per flow;
 *   - one incremental batch of about 10,000 new rows through all layers.
 *
 *   npm run bench                    # 1,000,000 people
 *   npm run bench -- 100000          # another size
 *   BENCH_KEEP=/tmp/dir npm run bench -- 100000   # keep (and reuse) the generated data set there
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../src/generator/generate.ts';
import { runPipeline } from '../src/runner/run.ts';
import { Database } from '../src/engine/database.ts';

const KEY = { CARELAKE_SSN_KEY: '5a'.repeat(32) };
const AS_OF = new Date('2026-11-20T12:00:00Z');
const peakMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function child(mode: string, dir: string): Promise<unknown> {
  const landing = path.join(dir, 'landing');
  const dbPath = path.join(dir, 'lake.duckdb');
  if (mode === 'floor') {
    const db = await Database.open(':memory:');
    const started = performance.now();
    let rows = 0;
    for (const file of fs.readdirSync(landing)) {
      // Every column as text, the same parser settings as bronze, no transformation.
      const header = fs.readFileSync(path.join(landing, file), 'utf8').slice(0, 4096).split('\n')[0] ?? '';
      const columns = header.split(',').map((_, i) => `'f${i + 1}': 'VARCHAR'`);
      const r = await db.one<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (SELECT * FROM read_csv('${path.join(landing, file)}', header = true,
           columns = {${columns.join(', ')}, '_overflow': 'VARCHAR'}, delim = ',', quote = '"', escape = '"',
           strict_mode = false, null_padding = true, auto_detect = false))`,
      );
      rows += r?.n ?? 0;
    }
    db.close();
    return { seconds: (performance.now() - started) / 1000, rows, peakMb: peakMb() };
  }
  if (mode === 'full') {
    fs.rmSync(dbPath, { force: true });
    fs.rmSync(`${dbPath}.wal`, { force: true });
    const started = performance.now();
    const r = await runPipeline({ dbPath, landingDir: landing, env: KEY });
    const seconds = (performance.now() - started) / 1000;
    return { status: r.status, error: r.error, seconds, flows: r.flows, peakMb: peakMb() };
  }
  if (mode === 'incremental') {
    // About 10,000 rows: 700 new people with their claims and events, plus the data set's small
    // shares of changed and active existing people (set when it was generated).
    const g = await generate({
      patients: 700,
      incremental: true,
      outDir: landing,
      truthDir: path.join(dir, 'truth'),
      asOf: new Date(AS_OF.getTime() + 3600_000),
    });
    const started = performance.now();
    const r = await runPipeline({ dbPath, landingDir: landing, env: KEY });
    const seconds = (performance.now() - started) / 1000;
    return { status: r.status, error: r.error, rows: g.totalRows, seconds, flows: r.flows, peakMb: peakMb() };
  }
  throw new Error(`unknown mode ${mode}`);
}

function runChild(mode: string, dir: string): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', mode, dir], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(JSON.stringify(await child(args[1] ?? '', args[2] ?? '')) + '\n');
    return;
  }
  const people = Number(args[0] ?? 1_000_000);
  const keep = process.env['BENCH_KEEP'];
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bench-'));
  try {
    const landing = path.join(dir, 'landing');
    if (!fs.existsSync(landing) || fs.readdirSync(landing).length === 0) {
      process.stderr.write(`generating ${people.toLocaleString('en-US')} people into ${dir} …\n`);
      await generate({
        patients: people,
        seed: 1,
        asOf: AS_OF,
        outDir: landing,
        truthDir: path.join(dir, 'truth'),
        workers: 2,
      });
    } else {
      // A kept data set is reused as it was generated: drop incremental batches of an earlier bench.
      for (const f of fs.readdirSync(landing))
        if (!f.includes('_261120_1200')) fs.rmSync(path.join(landing, f));
    }
    const bytes = fs.readdirSync(landing).reduce((s, f) => s + fs.statSync(path.join(landing, f)).size, 0);
    const floor = runChild('floor', dir) as { seconds: number; rows: number };
    const full = runChild('full', dir) as {
      status: string;
      error?: string;
      seconds: number;
      peakMb: number;
      flows: { dataset: string; rowsIn: number; rowsOut: number; rowsQuarantined: number; seconds: number }[];
    };
    const inc = runChild('incremental', dir) as {
      status: string;
      rows: number;
      seconds: number;
      peakMb: number;
    };
    const lines = [
      `carelake pipeline benchmark: ${people.toLocaleString('en-US')} people, ${floor.rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(0)} MB of CSV, ${os.availableParallelism()} cores`,
      '',
      `floor (DuckDB scans the CSV files):  ${floor.seconds.toFixed(2)} s  ${Math.round(floor.rows / floor.seconds).toLocaleString('en-US')} rows/s`,
      `full pipeline, landing → gold:       ${full.seconds.toFixed(2)} s  ${Math.round(floor.rows / full.seconds).toLocaleString('en-US')} rows/s  peak ${full.peakMb} MB  ${full.status}${full.error ? ` (${full.error})` : ''}`,
      `ratio full / floor:                  ${(full.seconds / floor.seconds).toFixed(1)}×`,
      '',
      'per flow:                      rows in     seconds   rows/s',
      ...full.flows.map(
        (f) =>
          `  ${f.dataset.padEnd(24)} ${String(f.rowsIn).padStart(12)} ${f.seconds.toFixed(2).padStart(10)} ${String(Math.round(f.rowsIn / Math.max(f.seconds, 0.001))).padStart(9)}`,
      ),
      '',
      `incremental batch (${inc.rows.toLocaleString('en-US')} new rows) through all layers: ${inc.seconds.toFixed(2)} s  peak ${inc.peakMb} MB  ${inc.status}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
