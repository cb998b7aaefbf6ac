import path from 'node:path';
import type { Command } from 'commander';
import { generate } from '../../generator/generate.ts';
import { scanLanding } from '../../runner/landing.ts';
import { parseFormat, parseIntegerOption } from '../errors.ts';
import { addLakehouseOptions } from '../options.ts';
import { terminalProgress } from '../progress.ts';
import { runAndReport } from './pipeline.ts';
import { makeDirectory } from '../../support/files.ts';

interface StartOptions {
  db: string;
  landing: string;
  truth: string;
  patients: string;
  seed: string;
  format: string;
}

/**
 * `carelake start`, the main job behind `npm start`: generates a synthetic data set when the landing
 * folder holds no landing file yet, then runs the pipeline and prints the summary.
 */
export function registerStart(program: Command): void {
  addLakehouseOptions(
    program
      .command('start')
      .description(
        'Generate a data set if the landing folder is empty, run the pipeline, print the summary.',
      ),
  )
    .option('--truth <dir>', 'ground-truth folder for a generated data set', 'truth')
    .option('--patients <n>', 'people to generate when the landing folder is empty', '10000')
    .option('--seed <n>', 'seed for the generated data set', '1')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: StartOptions) => {
      const format = parseFormat(opts.format);
      const patients = parseIntegerOption('--patients', opts.patients, 1, 50_000_000);
      const seed = parseIntegerOption('--seed', opts.seed, 0);
      if (scanLanding(opts.landing).files.length === 0) {
        makeDirectory(opts.landing);
        const summary = await generate({
          patients,
          seed,
          outDir: opts.landing,
          truthDir: opts.truth,
          ...(format === 'json' ? {} : { progress: terminalProgress() }),
        });
        if (format !== 'json') {
          process.stdout.write(
            `Generated ${summary.totalRows.toLocaleString('en-US')} rows for ${patients.toLocaleString('en-US')} people into ${path.resolve(opts.landing)} (ground truth in ${path.resolve(opts.truth)}).\n\n`,
          );
        }
      }
      process.exitCode = await runAndReport({ db: opts.db, landing: opts.landing, format });
    });
}
