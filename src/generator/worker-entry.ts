import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleModule } from '../launch/bundle.ts';

/**
 * How a generator worker thread starts:
 * - `bundle`: on plain JavaScript, the worker module and its imports bundled once per process
 *   (`launch/bundle.ts`; a worker then starts in milliseconds instead of compiling every
 *   TypeScript module through tsx, about one CPU-second each);
 * - `tsx`: registers tsx's loader in the worker, then imports the TypeScript module (the fallback,
 *   also chosen with `CARELAKE_GENERATOR_WORKER=tsx`).
 * Both run the same code, so the output is the same (a test runs both).
 */
export type WorkerMode = 'bundle' | 'tsx';

/** What `new Worker(...)` is given: a file URL, or code to evaluate. */
export interface WorkerEntry {
  readonly mode: WorkerMode;
  readonly source: string | URL;
  readonly eval: boolean;
}

const WORKER_MODULE = new URL('./chunk-worker.ts', import.meta.url);

export function workerModeFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerMode {
  const v = env.CARELAKE_GENERATOR_WORKER;
  if (v === undefined || v === '' || v === 'bundle') return 'bundle';
  if (v === 'tsx') return 'tsx';
  throw new Error(`CARELAKE_GENERATOR_WORKER must be "bundle" or "tsx", got "${v}"`);
}

export function tsxWorkerEntry(): WorkerEntry {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return {
    mode: 'tsx',
    source: `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_MODULE.href)}); });`,
    eval: true,
  };
}

let bundled: Promise<WorkerEntry> | undefined;

/**
 * Bundles the worker module into one `.mjs` file in a private temp folder (removed when the
 * process exits), with `bundleModule` (`import.meta.url` keeps meaning each source file's URL).
 */
async function bundleWorker(): Promise<WorkerEntry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'carelake-worker-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'chunk-worker.mjs');
  const { files } = await bundleModule(fileURLToPath(WORKER_MODULE), { outfile: file });
  writeFileSync(file, files[0]?.text ?? '');
  return { mode: 'bundle', source: pathToFileURL(file), eval: false };
}

/**
 * The worker entry for `mode` (default: from the environment). A failed bundle falls back to tsx.
 * The bundle is built once per process (again if its temp file has gone).
 */
export async function workerEntry(mode: WorkerMode = workerModeFromEnv()): Promise<WorkerEntry> {
  if (mode === 'tsx') return tsxWorkerEntry();
  bundled ??= bundleWorker().catch(() => tsxWorkerEntry());
  const entry = await bundled;
  // A long-running process (generate --every) rebuilds the bundle if the temp file was cleaned away.
  if (entry.mode === 'bundle' && !existsSync(entry.source as URL)) {
    bundled = undefined;
    return workerEntry(mode);
  }
  return entry;
}
