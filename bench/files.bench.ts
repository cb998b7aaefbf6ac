/**
 * Many small landing files: a backlog of deliveries (a feed that was down, a watch folder catching up)
 * ingested by one update. Generates N people, splits each entity's file into files of R rows (each
 * under its own extract time, patients first), then measures one first load in a child process: wall
 * time, CPU seconds, per-file time and peak memory. Then an incremental batch (a quarter of N new
 * people, with changed and active existing ones), split the same way, as one incremental update: an
 * update with its own memory limit, which a backlog must not outgrow. The cost per file should stay
 * flat as files grow.
 *
 *   npm run bench:files                 # 2,000 people in files of 25 rows (about 900 files, then about 300)
 *   npm run bench:files -- 2000 100     # files of 100 rows (about 230 files, then about 80)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { peakMb, runChild, settleDisk } from './child.ts';
import { generate } from '../src/generator/generate.ts';
import { runPipeline } from '../src/runner/run.ts';

const SELF = fileURLToPath(import.meta.url);
const AS_OF = new Date('2026-11-20T12:00:00Z');

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Splits every landing file into files of `rows` records, named by extract times three minutes apart. */
function split(from: string, to: string, rows: number, firstDay = 1): number {
  fs.mkdirSync(to, { recursive: true });
  const entities = ['patients', 'claims', 'medical_events'];
  let files = 0;
  for (const [e, entity] of entities.entries()) {
    const name = fs.readdirSync(from).find((f) => f.startsWith(`${entity}_`));
    if (!name) throw new Error(`no ${entity} file in ${from}`);
    const [header, ...lines] = fs.readFileSync(path.join(from, name), 'utf8').trimEnd().split('\n');
    // Patients on the first day, claims on the second, events on the third: facts find their patients.
    let at = Date.UTC(2026, 9, firstDay + e);
    for (let i = 0; i < lines.length; i += rows, at += 180_000) {
      const d = new Date(at);
      const stamp = `${String(d.getUTCFullYear() % 100).padStart(2, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}_${String(d.getUTCHours()).padStart(2, '0')}${String(d.getUTCMinutes()).padStart(2, '0')}`;
      const file = path.join(to, `${entity}_${stamp}.csv`);
      fs.writeFileSync(file, `${header}\n${lines.slice(i, i + rows).join('\n')}\n`);
      // Older than the landing settle time, as files that waited in the folder are.
      const old = new Date(Date.now() - 3600_000);
      fs.utimesSync(file, old, old);
      files += 1;
    }
  }
  return files;
}

interface Measured {
  readonly status: string;
  readonly error?: string | undefined;
  readonly files: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakMb: number;
}

async function child(dir: string): Promise<Measured> {
  const started = performance.now();
  const cpu = cpuSeconds();
  const r = await runPipeline({
    dbPath: path.join(dir, 'lake.duckdb'),
    landingDir: path.join(dir, 'landing'),
    env: { ...process.env, CARELAKE_SSN_KEY: '5a'.repeat(32) },
  });
  return {
    status: r.status,
    error: r.error,
    files: r.files.filter((f) => f.action === 'ingested').length,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSeconds() - cpu,
    peakMb: peakMb(),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(JSON.stringify(await child(args[2] ?? '')) + '\n');
    return;
  }
  const people = Number(args[0] ?? 2000);
  const rows = Number(args[1] ?? 25);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bench-files-'));
  try {
    await generate({
      patients: people,
      seed: 1,
      asOf: AS_OF,
      outDir: path.join(dir, 'generated'),
      truthDir: path.join(dir, 'truth'),
    });
    const files = split(path.join(dir, 'generated'), path.join(dir, 'landing'), rows);
    settleDisk();
    const line = (label: string, m: Measured): string =>
      `${label}: ${m.status}${m.error ? ` (${m.error})` : ''}, ${m.files} files ingested, ${m.seconds.toFixed(2)} s wall, ` +
      `${m.cpuSeconds.toFixed(2)} CPU-s, ${((m.seconds / Math.max(1, m.files)) * 1000).toFixed(1)} ms per file, peak ${m.peakMb} MB\n`;
    const first = runChild(SELF, 'load', dir) as unknown as Measured;
    process.stdout.write(
      `carelake many-files benchmark: ${people} people in ${files} files of ${rows} rows, ${os.availableParallelism()} cores\n` +
        line('first load', first),
    );
    await generate({
      patients: Math.max(1, Math.round(people / 4)),
      incremental: true,
      asOf: new Date(AS_OF.getTime() + 3600_000),
      outDir: path.join(dir, 'generated-later'),
      truthDir: path.join(dir, 'truth'),
    });
    const later = split(path.join(dir, 'generated-later'), path.join(dir, 'landing'), rows, 10);
    settleDisk();
    const backlog = runChild(SELF, 'load', dir) as unknown as Measured;
    process.stdout.write(line(`incremental backlog of ${later} files`, backlog));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
