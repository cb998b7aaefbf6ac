/**
 * Child-process entry for the kill-and-resume and lock tests:
 *   node --import tsx test/pipeline/kill-worker.ts run <db> <landing>   one real pipeline update
 *   node --import tsx test/pipeline/kill-worker.ts hold <lockfile>      writes its pid into the lock file, then sleeps
 * Prints "started" once it is under way, so the parent can time its kill.
 */
import fs from 'node:fs';
import { runPipeline } from '../../src/runner/run.ts';

const [mode, a, b] = process.argv.slice(2);

if (mode === 'hold' && a) {
  fs.writeFileSync(a, String(process.pid), { flag: 'wx' });
  process.stdout.write('started\n');
  setInterval(() => {}, 60_000);
} else if (mode === 'run' && a && b) {
  process.stdout.write('started\n');
  const r = await runPipeline({
    dbPath: a,
    landingDir: b,
    orphanGraceHours: 0,
    onProgress: (label, done, total) => process.stdout.write(`progress ${label} ${done}/${total}\n`),
  });
  process.stdout.write(`done ${r.status}\n`);
  process.exitCode = r.status === 'COMPLETED' ? 0 : 1;
} else {
  process.stderr.write('usage: kill-worker.ts run <db> <landing> | hold <lockfile>\n');
  process.exitCode = 2;
}
