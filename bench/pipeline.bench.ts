/**
 * Pipeline benchmark: generates N people (default 1,000,000, about 11 million rows), then measures,
 * each in its own child process (so peak memory belongs to that measurement alone):
 *   - the floor: DuckDB merely scanning the same CSV files (read_csv, every column as text), the
 *     fastest of three scans;
 *   - the full pipeline from landing to gold, per phase (planning, each bronze file, each silver and
 *     gold flow, commit) and in all: wall time, CPU seconds of all threads, rows per second, peak memory;
 *   - one incremental batch of about 10,000 new rows through all layers, with the same figures.
 * CPU seconds do not depend on other load on the machine; wall time does, so the load average is
 * printed before and after. At 1,000,000 people the run ends with each performance target (landing →
 * gold in 60 s, peak memory 4,096 MB, the incremental batch in 3 s) said met or not.
 *
 *   npm run bench                    # 1,000,000 people
 *   npm run bench -- 100000          # another size
 *   BENCH_KEEP=/tmp/dir npm run bench -- 100000   # keep (and reuse) the generated data set there
 *   BENCH_PHASES=full npm run bench  # only some measurements (floor, full, incremental)
 *   BENCH_REPEAT=5 npm run bench     # the incremental batch five times, each on the lakehouse as the full
 *                                    # run left it (the host's speed varies: compare medians)
 *   BENCH_FULL_REPEAT=3 npm run bench    # the full run three times, each from an empty lakehouse; the
 *                                        # target is judged on the median, whose phases are shown
 *   CARELAKE_TRACE_SQL=1 npm run bench   # also every statement's wall and CPU time, on stderr
 * Before and after the measurements a fixed CPU-bound query (the host speed check) is timed: this host's
 * speed moves by a third within an hour, and wall and CPU time move with it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyFileDurably, peakMb, runChild, settleDisk } from './child.ts';
import { generate } from '../src/generator/generate.ts';
import { readManifest, writeManifest } from '../src/generator/manifest.ts';
import { runPipeline, type RunResult } from '../src/runner/run.ts';
import { Database } from '../src/engine/database.ts';

const SELF = fileURLToPath(import.meta.url);

const KEY = { CARELAKE_SSN_KEY: '5a'.repeat(32) };
const AS_OF = new Date('2026-11-20T12:00:00Z');
/** The incremental batch: new people, plus small shares of changed and active existing people. */
const INCREMENTAL_NEW_PEOPLE = 500;
const INCREMENTAL_CHANGED_PEOPLE = 1500;
const INCREMENTAL_ACTIVE_PEOPLE = 1200;
/** Rows of the host speed check (about 2 s of two cores on the development machine). */
const SPEED_CHECK_ROWS = 8_000_000;

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Phase {
  readonly name: string;
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** Rows the phase read (rows in of its flow); 0 for planning and commit. */
  readonly rows: number;
  /** Peak memory of the process at the end of the phase (a running maximum). */
  readonly peakMb: number;
}

interface Measured {
  readonly status: string;
  readonly error?: string;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakMb: number;
  readonly rows: number;
  readonly phases: Phase[];
  /** Of the CPU seconds, those spent in the kernel (page faults, file reads and writes). */
  readonly systemSeconds: number;
  /** Page faults: minor (memory taken from the system) and major (a file page read from disk). */
  readonly minorFaults: number;
  readonly majorFaults: number;
}

/**
 * Runs the pipeline once and splits its time into phases at the runner's progress calls: the runner
 * reports 'bronze' before each file and each flow's name before the flow, and 'gold' after the last.
 */
async function measuredRun(dbPath: string, landing: string): Promise<Measured> {
  const marks: { label: string; wall: number; cpu: number; peak: number }[] = [];
  const mark = (label: string): void => {
    marks.push({ label, wall: performance.now(), cpu: cpuSeconds(), peak: peakMb() });
  };
  mark('plan');
  const usage = process.resourceUsage();
  let last = '';
  const r: RunResult = await runPipeline({
    dbPath,
    landingDir: landing,
    env: KEY,
    onProgress: (label, done, total) => {
      const name = label === 'bronze' ? (done < total ? `bronze#${done}` : '') : label;
      if (name && name !== last) mark(name);
      last = name;
    },
  });
  mark('end');
  // Bronze files are ingested in the order of the decisions; name each by its entity.
  const ingested = r.files.filter((f) => f.action === 'ingested').map((f) => f.fileName);
  const entityOf = (n: string): string => n.replace(/_\d{6}_\d{4}(_\d+)?\.csv$/, '');
  const phases = new Map<string, Phase>();
  for (let i = 0; i < marks.length - 1; i++) {
    const a = marks[i];
    const b = marks[i + 1];
    if (!a || !b) continue;
    let name = a.label === 'gold' ? 'commit' : a.label;
    if (name.startsWith('bronze#')) name = `bronze_${entityOf(ingested[Number(name.slice(7))] ?? '?')}`;
    const prev = phases.get(name);
    const rows = r.flows.find((f) => f.dataset === name)?.rowsIn ?? 0;
    phases.set(name, {
      name,
      seconds: (prev?.seconds ?? 0) + (b.wall - a.wall) / 1000,
      cpuSeconds: (prev?.cpuSeconds ?? 0) + (b.cpu - a.cpu),
      rows,
      peakMb: b.peak,
    });
  }
  const first = marks[0];
  const end = marks[marks.length - 1];
  return {
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    seconds: first && end ? (end.wall - first.wall) / 1000 : 0,
    cpuSeconds: first && end ? end.cpu - first.cpu : 0,
    peakMb: peakMb(),
    rows: r.flows.filter((f) => f.dataset.startsWith('bronze_')).reduce((s, f) => s + f.rowsIn, 0),
    phases: [...phases.values()],
    ...usageSince(usage),
  };
}

function usageSince(
  before: NodeJS.ResourceUsage,
): Pick<Measured, 'systemSeconds' | 'minorFaults' | 'majorFaults'> {
  const now = process.resourceUsage();
  return {
    systemSeconds: (now.systemCPUTime - before.systemCPUTime) / 1e6,
    minorFaults: now.minorPageFault - before.minorPageFault,
    majorFaults: now.majorPageFault - before.majorPageFault,
  };
}

/** A kept data set is reused as first generated: its later batches are dropped (files and manifest). */
function resetToFirstBatch(dir: string): void {
  const landing = path.join(dir, 'landing');
  const truth = path.join(dir, 'truth');
  const manifest = readManifest(truth);
  const first = manifest?.batches[0];
  if (!manifest || !first) return;
  const keep = new Set(first.files.map((f) => f.fileName));
  for (const f of fs.readdirSync(landing)) if (!keep.has(f)) fs.rmSync(path.join(landing, f));
  if (manifest.batches.length > 1)
    writeManifest(truth, { ...manifest, people: first.peopleEnd, batches: [first], defects: first.defects });
}

/** The first `n` bytes of a file, as UTF-8 text. */
function firstBytes(file: string, n: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(n);
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, n, 0)).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

async function child(mode: string, dir: string): Promise<unknown> {
  const landing = path.join(dir, 'landing');
  const dbPath = path.join(dir, 'lake.duckdb');
  if (mode === 'speed') {
    // A fixed piece of CPU-bound engine work on every core (hashing 8 M short texts of a table in memory),
    // no file read: its time before and after the measurements shows how fast the host was meanwhile.
    const db = await Database.open(':memory:');
    await db.run(`CREATE TABLE speed AS SELECT CAST(i AS VARCHAR) AS v FROM range(${SPEED_CHECK_ROWS}) t(i)`);
    const started = performance.now();
    const cpu = cpuSeconds();
    await db.one('SELECT SUM(hash(sha256(v))) AS h FROM speed');
    const result = { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds() - cpu };
    db.close();
    return result;
  }
  if (mode === 'floor') {
    const db = await Database.open(':memory:');
    const started = performance.now();
    const cpu = cpuSeconds();
    let rows = 0;
    for (const file of fs.readdirSync(landing)) {
      // Every column as text, the same parser settings as bronze, no transformation. The header comes
      // from the file's first 4 KiB only: the floor times DuckDB's scan, not a read of the whole file
      // into a JavaScript string (8.1 s of a 9.9 s floor of 1 GB of CSV when the file was read whole).
      const header = firstBytes(path.join(landing, file), 4096).split('\n')[0] ?? '';
      const columns = header.split(',').map((_, i) => `'f${i + 1}': 'VARCHAR'`);
      const r = await db.one<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (SELECT * FROM read_csv('${path.join(landing, file)}', header = true,
           columns = {${columns.join(', ')}, '_overflow': 'VARCHAR'}, delim = ',', quote = '"', escape = '"',
           strict_mode = false, null_padding = true, auto_detect = false))`,
      );
      rows += r?.n ?? 0;
    }
    db.close();
    return {
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: cpuSeconds() - cpu,
      rows,
      peakMb: peakMb(),
    };
  }
  if (mode === 'full') {
    for (const f of [dbPath, `${dbPath}.wal`, `${dbPath}.lock`, `${dbPath}.bronze`])
      fs.rmSync(f, { recursive: true, force: true });
    return measuredRun(dbPath, landing);
  }
  // The batch is generated in a process of its own: the measured process runs the pipeline only, as the
  // repeats do (its heap holds nothing of the generator's).
  if (mode === 'incremental-generate') {
    const truth = path.join(dir, 'truth');
    const manifest = readManifest(truth);
    if (!manifest) throw new Error(`no data set in ${dir}`);
    const people = manifest.people;
    const shares = {
      changeShare: Math.min(1, INCREMENTAL_CHANGED_PEOPLE / people),
      activityShare: Math.min(1, INCREMENTAL_ACTIVE_PEOPLE / people),
    };
    const g = await generate({
      patients: INCREMENTAL_NEW_PEOPLE,
      incremental: true,
      outDir: landing,
      truthDir: truth,
      asOf: new Date(AS_OF.getTime() + 3600_000),
      ...shares,
    });
    return { generatedRows: g.totalRows };
  }
  // The batch, on the lakehouse as the full run left it (repeats: restored to that state, see main).
  if (mode === 'incremental') return measuredRun(dbPath, landing);
  throw new Error(`unknown mode ${mode}`);
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const s2 = (x: number): string => x.toFixed(2);
/** The host speed check, in a child process of its own: the fastest of three. */
function speedCheck(): { seconds: number; cpuSeconds: number } {
  const runs = [1, 2, 3].map(() => runChild(SELF, 'speed', '') as { seconds: number; cpuSeconds: number });
  return runs.reduce((best, r) => (r.seconds < best.seconds ? r : best));
}
/** How many times to measure: the environment variable `name`, at least 1. */
const repeats = (name: string): number => Math.max(1, Math.floor(Number(process.env[name] ?? 1)) || 1);
/** The median of some figures (the mean of the middle two of an even count). */
function medianOf(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2
    ? (sorted[Math.floor(mid)] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

function phaseTable(m: Measured): string[] {
  const row = (name: string, seconds: number, cpu: number, rows: number, peak: number): string =>
    `  ${name.padEnd(24)} ${s2(seconds).padStart(9)} ${s2(cpu).padStart(9)} ${(rows ? n(rows) : '').padStart(12)} ${(rows ? n(rows / Math.max(seconds, 0.001)) : '').padStart(11)} ${String(peak).padStart(8)}`;
  return [
    `  ${'phase'.padEnd(24)} ${'wall s'.padStart(9)} ${'CPU s'.padStart(9)} ${'rows in'.padStart(12)} ${'rows/s'.padStart(11)} ${'peak MB'.padStart(8)}`,
    ...m.phases.map((p) => row(p.name, p.seconds, p.cpuSeconds, p.rows, p.peakMb)),
    row('total', m.seconds, m.cpuSeconds, m.rows, m.peakMb),
  ];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(JSON.stringify(await child(args[1] ?? '', args[2] ?? '')) + '\n');
    return;
  }
  const people = Number(args[0] ?? 1_000_000);
  const wanted = new Set((process.env['BENCH_PHASES'] ?? 'floor,full,incremental').split(','));
  const keep = process.env['BENCH_KEEP'];
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bench-'));
  try {
    const landing = path.join(dir, 'landing');
    if (!fs.existsSync(landing) || fs.readdirSync(landing).length === 0) {
      process.stderr.write(`generating ${n(people)} people into ${dir} …\n`);
      await generate({
        patients: people,
        seed: 1,
        asOf: AS_OF,
        outDir: landing,
        truthDir: path.join(dir, 'truth'),
        workers: 2,
      });
    } else resetToFirstBatch(dir);
    const bytes = fs.readdirSync(landing).reduce((s, f) => s + fs.statSync(path.join(landing, f)).size, 0);
    const loadBefore = load();
    const speedBefore = speedCheck();
    const lines: string[] = [];
    // The performance targets on a 2-core machine (for 1,000,000 people and a batch of about 10,000 rows),
    // each said met or not with the figure it was judged on.
    const targets: string[] = [];
    const judged = (what: string, figure: string, met: boolean): string =>
      `  ${what}: ${figure}, ${met ? 'met' : 'NOT met'}`;
    let floor: { seconds: number; cpuSeconds: number; rows: number; peakMb: number } | undefined;
    if (wanted.has('floor')) {
      // Three scans, the fastest kept: one scan takes a few seconds, and a stall of the host's disk
      // once made one take 17.5 s of wall time for 3.6 CPU-s, which no ratio should be read against.
      const scans = [1, 2, 3].map(() => {
        settleDisk();
        return runChild(SELF, 'floor', dir) as NonNullable<typeof floor>;
      });
      floor = scans.reduce((best, scan) => (scan.seconds < best.seconds ? scan : best));
      lines.push(
        `floor (DuckDB scans the CSV files, fastest of ${scans.length}): ${s2(floor.seconds)} s wall, ${s2(floor.cpuSeconds)} CPU-s, ${n(floor.rows / floor.seconds)} rows/s, peak ${floor.peakMb} MB (all: ${scans.map((f) => `${s2(f.seconds)} s`).join(', ')})`,
      );
    }
    if (wanted.has('full')) {
      const repeat = repeats('BENCH_FULL_REPEAT');
      const runs: Measured[] = [];
      for (let i = 0; i < repeat; i++) {
        settleDisk();
        runs.push(runChild(SELF, 'full', dir) as unknown as Measured);
      }
      // The run of the median wall time (the lower middle one of an even count) stands for all.
      const byWall = [...runs].sort((a, b) => a.seconds - b.seconds);
      const full = byWall[Math.floor((byWall.length - 1) / 2)] ?? runs[0];
      if (!full) throw new Error('no full run');
      const median = medianOf(runs.map((r) => r.seconds));
      lines.push(
        '',
        `full pipeline, landing → gold${repeat > 1 ? ' (the median run)' : ''}: ${s2(full.seconds)} s wall, ${s2(full.cpuSeconds)} CPU-s, ${n(full.rows / full.seconds)} rows/s, peak ${full.peakMb} MB, ${full.status}${full.error ? ` (${full.error})` : ''}`,
        `  of the CPU time ${s2(full.systemSeconds)} s in the kernel; page faults ${n(full.minorFaults)} minor, ${n(full.majorFaults)} major (read from disk)`,
        ...(repeat > 1
          ? [
              `  ${repeat} runs, each from an empty lakehouse: ${runs.map((r) => `${s2(r.seconds)} s${r.status === 'COMPLETED' ? '' : ` ${r.status}`}`).join(', ')}; median ${s2(median)} s, fastest ${s2(byWall[0]?.seconds ?? 0)} s`,
              `  CPU-s per run (kernel): ${runs.map((r) => `${s2(r.cpuSeconds)} (${s2(r.systemSeconds)})`).join(', ')}; peak MB: ${runs.map((r) => n(r.peakMb)).join(', ')}`,
            ]
          : []),
        ...(floor ? [`ratio full / floor: ${(median / floor.seconds).toFixed(1)}× wall`] : []),
        ...phaseTable(full),
      );
      const peak = Math.max(...runs.map((r) => r.peakMb));
      targets.push(
        judged(
          'landing → gold in at most 60 s',
          `${repeat > 1 ? 'median ' : ''}${s2(median)} s`,
          runs.every((r) => r.status === 'COMPLETED') && median <= 60,
        ),
        judged('peak memory at most 4,096 MB', `${repeat > 1 ? 'highest ' : ''}${n(peak)} MB`, peak <= 4096),
      );
    }
    if (wanted.has('incremental')) {
      const repeat = repeats('BENCH_REPEAT');
      // The lakehouse files (database, log, audit trail) before the batch, restored before each repeat.
      const lakehouseFiles = (): string[] =>
        fs
          .readdirSync(dir)
          .filter((f) => f.startsWith('lake.duckdb') && fs.statSync(path.join(dir, f)).isFile());
      const lakeFiles = lakehouseFiles();
      const saved = path.join(dir, 'before-batch');
      if (repeat > 1) {
        fs.rmSync(saved, { recursive: true, force: true });
        fs.mkdirSync(saved);
        for (const f of lakeFiles) copyFileDurably(path.join(dir, f), path.join(saved, f));
      }
      const { generatedRows } = runChild(SELF, 'incremental-generate', dir) as { generatedRows: number };
      // The lakehouse as the full run left it and the batch are on disk before the batch is measured, as
      // before each repeat, and as they are when a next batch lands hours later.
      settleDisk();
      const inc = { ...(runChild(SELF, 'incremental', dir) as unknown as Measured), generatedRows };
      const runs: Measured[] = [inc];
      for (let i = 1; i < repeat; i++) {
        for (const f of lakehouseFiles()) fs.rmSync(path.join(dir, f));
        for (const f of lakeFiles) fs.copyFileSync(path.join(saved, f), path.join(dir, f));
        settleDisk();
        runs.push(runChild(SELF, 'incremental', dir) as unknown as Measured);
      }
      fs.rmSync(saved, { recursive: true, force: true });
      // The batch is generated again from the data set's seed: on a lakehouse that already ingested it
      // (BENCH_PHASES=incremental after an earlier incremental run) its files are not new, and the run
      // only retries parked rows. Such a run measures nothing of the batch.
      if (inc.rows === 0)
        throw new Error(
          `the lakehouse in ${dir} already holds the incremental batch (no landing row was read): run BENCH_PHASES=full,incremental to measure it`,
        );
      const walls = runs.map((r) => r.seconds);
      const median = medianOf(walls);
      lines.push(
        '',
        `incremental batch (${n(inc.generatedRows)} new rows) through all layers: ${s2(inc.seconds)} s wall, ${s2(inc.cpuSeconds)} CPU-s, peak ${inc.peakMb} MB, ${inc.status}${inc.error ? ` (${inc.error})` : ''}`,
        `  of the CPU time ${s2(inc.systemSeconds)} s in the kernel; page faults ${n(inc.minorFaults)} minor, ${n(inc.majorFaults)} major (read from disk)`,
        ...(repeat > 1
          ? [
              `  ${repeat} runs of the batch: ${runs.map((r) => `${s2(r.seconds)} s${r.status === 'COMPLETED' ? '' : ` ${r.status}`}${r.rows === inc.rows ? '' : ` (${n(r.rows)} rows read, not ${n(inc.rows)})`}`).join(', ')}; median ${s2(median)} s, fastest ${s2(Math.min(...walls))} s`,
              `  CPU-s per run (kernel): ${runs.map((r) => `${s2(r.cpuSeconds)} (${s2(r.systemSeconds)})`).join(', ')}; major page faults: ${runs.map((r) => n(r.majorFaults)).join(', ')}`,
            ]
          : []),
        ...phaseTable(inc),
      );
      targets.push(
        judged(
          'an incremental batch through all layers in at most 3 s',
          `${repeat > 1 ? 'median ' : ''}${s2(median)} s`,
          runs.every((r) => r.status === 'COMPLETED') && median <= 3,
        ),
      );
    }
    if (targets.length > 0)
      lines.push(
        '',
        ...(people === 1_000_000
          ? ['targets (2 cores, 1,000,000 people):', ...targets]
          : [`targets: set for 1,000,000 people, not judged on ${n(people)}`]),
      );
    const speedAfter = speedCheck();
    const header = `carelake pipeline benchmark: ${n(people)} people, ${floor ? `${n(floor.rows)} rows, ` : ''}${(bytes / 1e6).toFixed(0)} MB of CSV, ${os.availableParallelism()} cores, load average ${loadBefore} before, ${load()} after`;
    const speed = `host speed check (the same CPU-bound SQL before and after the measurements; compare runs of different hours by it): ${s2(speedBefore.seconds)} s (${s2(speedBefore.cpuSeconds)} CPU-s) before, ${s2(speedAfter.seconds)} s (${s2(speedAfter.cpuSeconds)} CPU-s) after`;
    process.stdout.write([header, speed, '', ...lines].join('\n') + '\n');
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
