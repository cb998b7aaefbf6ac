import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How a generator worker thread starts:
 * - `bundle`: on plain JavaScript, the worker module and its imports bundled once per process with
 *   the esbuild that tsx ships (a worker then starts in milliseconds instead of compiling every
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

interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: { text: string }[] }>;
}

let bundled: Promise<WorkerEntry> | undefined;

/**
 * Bundles the worker module into one `.mjs` file in a private temp folder (removed when the
 * process exits). `import.meta.url` keeps meaning each source file's own URL, so files found
 * relative to a module (the reference data) are found from the bundle too.
 */
async function bundleWorker(): Promise<WorkerEntry> {
  // esbuild as tsx resolves it (tsx depends on it), so no dependency of our own is needed.
  const requireFromTsx = createRequire(fileURLToPath(import.meta.resolve('tsx/esm/api')));
  const esbuild = requireFromTsx('esbuild') as EsbuildLike;
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(WORKER_MODULE)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'carelake-module-url',
        setup(build: {
          onLoad(
            o: { filter: RegExp },
            cb: (args: { path: string }) => { contents: string; loader: string },
          ): void;
        }) {
          build.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  const text = result.outputFiles?.[0]?.text;
  if (text === undefined) throw new Error('esbuild produced no output');
  const dir = mkdtempSync(path.join(tmpdir(), 'carelake-worker-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'chunk-worker.mjs');
  writeFileSync(file, text);
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
