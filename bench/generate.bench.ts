/**
 * Generator benchmark: rows/s, bytes/s and peak memory at 100,000 and 1,000,000 people, written to a
 * temp folder that is deleted afterwards. Each size runs in its own child process, so the peak RSS
 * (process.resourceUsage().maxRSS, all threads) belongs to that size alone.
 *
 *   npm run bench:generate                 # both sizes, 2 workers
 *   npm run bench:generate -- 250000       # other sizes
 *   BENCH_WORKERS=0 npm run bench:generate # on one thread
 *   CARELAKE_GENERATOR_WORKER=tsx npm run bench:generate  # workers load TypeScript through tsx (the fallback)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Result {
  people: number;
  workers: number;
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  megabytesPerSecond: number;
  peakRssMb: number;
  /** CPU time of all threads (user + system): independent of other load on the machine. */
  cpuSeconds: number;
}

async function runOne(people: number, workers: number): Promise<Result> {
  // Imported here, in the child only: the parent process does not load the generator.
  const { generate } = await import('../src/generator/generate.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'carelake-bench-'));
  try {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const s = await generate({
      patients: people,
      seed: 1,
      asOf: new Date('2026-11-20T12:00:00Z'),
      outDir: path.join(dir, 'landing'),
      truthDir: path.join(dir, 'truth'),
      workers,
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      people,
      workers,
      rows: s.totalRows,
      bytes: s.bytes,
      seconds: Math.round(seconds * 100) / 100,
      rowsPerSecond: Math.round(s.totalRows / seconds),
      megabytesPerSecond: Math.round((s.bytes / 1e6 / seconds) * 10) / 10,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const result = await runOne(Number(args[1]), Number(args[2]));
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const sizes = args.length > 0 ? args.map(Number) : [100_000, 1_000_000];
  const workers =
    process.env.BENCH_WORKERS === undefined
      ? Math.min(2, availableParallelism())
      : Number(process.env.BENCH_WORKERS);
  const self = fileURLToPath(import.meta.url);
  console.log(
    `carelake generate benchmark: ${availableParallelism()} CPU(s), node ${process.version}, ${workers} worker(s)` +
      (workers > 0
        ? ` started from ${process.env.CARELAKE_GENERATOR_WORKER === 'tsx' ? 'TypeScript via tsx' : 'a JavaScript bundle'}`
        : ''),
  );
  for (const people of sizes) {
    const out = execFileSync(
      process.execPath,
      [...process.execArgv, self, '--child', String(people), String(workers)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const r = JSON.parse(out.trim().split('\n').pop() as string) as Result;
    console.log(
      `${r.people.toLocaleString('en-US').padStart(10)} people  ${r.rows.toLocaleString('en-US').padStart(11)} rows  ` +
        `${r.seconds.toFixed(2).padStart(7)} s  ${r.rowsPerSecond.toLocaleString('en-US').padStart(9)} rows/s  ` +
        `${r.megabytesPerSecond.toFixed(1).padStart(6)} MB/s  peak RSS ${r.peakRssMb} MB  CPU ${r.cpuSeconds.toFixed(1)} s`,
    );
  }
}
