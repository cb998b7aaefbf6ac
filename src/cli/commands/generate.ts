import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { CliError, parseFormat, parseIntegerOption, parseRateOption } from '../errors.ts';
import { silentProgress, terminalProgress } from '../progress.ts';
import { generate, type GenerateSummary } from '../../generator/generate.ts';
import { parseDuration } from '../../generator/housekeeping.ts';
import { readManifest } from '../../generator/manifest.ts';
import { GenerateOptionError, type GenerateOptions } from '../../generator/options.ts';
import {
  parseSchedule,
  runSchedule,
  systemClock,
  type Clock,
  type Schedule,
} from '../../generator/schedule.ts';
import { floorToMinute } from '../../generator/dates.ts';
import { filesApiTarget, uploadFiles, volumeFolder } from '../files-api.ts';
import { errorMessage } from '../../support/errors.ts';

interface RawOptions {
  patients: string;
  seed?: string;
  out: string;
  truth: string;
  asOf?: string;
  defectRate: string;
  adtShare?: string;
  labShare?: string;
  changeShare?: string;
  activityShare?: string;
  incremental?: boolean;
  keepLast?: string;
  maxAge?: string;
  every?: string;
  maxTicks?: string;
  chunkSize: string;
  workers: string;
  format: string;
  uploadVolume?: string;
}

/** Options of the command after validation. */
export interface GenerateCommandOptions {
  readonly base: GenerateOptions;
  readonly schedule: Schedule | undefined;
  readonly maxTicks: number | undefined;
  readonly format: 'text' | 'json';
  /** Upload each batch's files to this Unity Catalog volume folder (Files API). */
  readonly uploadVolume?: string;
}

/** Workers used when --workers is "auto": two threads for big batches, none for small ones. */
export function autoWorkers(patients: number): number {
  return patients >= 100_000 ? Math.min(2, Math.max(1, availableParallelism())) : 0;
}

export function parseGenerateOptions(raw: RawOptions): GenerateCommandOptions {
  const incremental = raw.incremental === true;
  const patients = parseIntegerOption(
    '--patients',
    raw.patients,
    incremental || raw.every !== undefined ? 0 : 1,
    50_000_000,
  );
  let asOf: Date | undefined;
  if (raw.asOf !== undefined) {
    if (
      !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw.asOf) ||
      Number.isNaN(Date.parse(raw.asOf))
    ) {
      throw new CliError(`--as-of must be an ISO timestamp like 2026-11-20T12:00:00Z, got "${raw.asOf}"`, 2);
    }
    asOf = new Date(
      Date.parse(/T/.test(raw.asOf) && !/(Z|[+-]\d{2}:?\d{2})$/.test(raw.asOf) ? `${raw.asOf}Z` : raw.asOf),
    );
  }
  let maxAgeMs: number | undefined;
  if (raw.maxAge !== undefined) {
    maxAgeMs = parseDuration(raw.maxAge);
    if (maxAgeMs === undefined || maxAgeMs < 60_000)
      throw new CliError(
        `--max-age must be a duration like 90m, 12h or 7d (at least 1m), got "${raw.maxAge}"`,
        2,
      );
  }
  let schedule: Schedule | undefined;
  if (raw.every !== undefined) {
    try {
      schedule = parseSchedule(raw.every);
    } catch (error: unknown) {
      throw new CliError(errorMessage(error), 2);
    }
    if (asOf !== undefined)
      throw new CliError('--as-of cannot be combined with --every (each tick uses the clock)', 2);
  }
  const maxTicks =
    raw.maxTicks === undefined ? undefined : parseIntegerOption('--max-ticks', raw.maxTicks, 1);
  if (maxTicks !== undefined && schedule === undefined) throw new CliError('--max-ticks needs --every', 2);
  if (incremental) {
    const fixed = [
      ['--adt-share', raw.adtShare],
      ['--lab-share', raw.labShare],
    ].find(([, v]) => v !== undefined);
    if (fixed)
      throw new CliError(
        `${fixed[0]} cannot be used with --incremental: the data set's first batch fixed it (recorded in manifest.json in the --truth folder)`,
        2,
      );
  }
  type Share = 'adtShare' | 'labShare' | 'changeShare' | 'activityShare';
  const rateIfGiven = <K extends Share>(
    name: string,
    key: K,
    value: string | undefined,
  ): Partial<Record<K, number>> =>
    value === undefined ? {} : ({ [key]: parseRateOption(name, value) } as Partial<Record<K, number>>);
  const workers =
    raw.workers === 'auto' ? autoWorkers(patients) : parseIntegerOption('--workers', raw.workers, 0, 16);
  const base: GenerateOptions = {
    patients,
    ...(raw.seed === undefined ? {} : { seed: parseIntegerOption('--seed', raw.seed, 0) }),
    outDir: raw.out,
    truthDir: raw.truth,
    ...(asOf ? { asOf } : {}),
    defectRate: parseRateOption('--defect-rate', raw.defectRate),
    ...rateIfGiven('--adt-share', 'adtShare', raw.adtShare),
    ...rateIfGiven('--lab-share', 'labShare', raw.labShare),
    ...rateIfGiven('--change-share', 'changeShare', raw.changeShare),
    ...rateIfGiven('--activity-share', 'activityShare', raw.activityShare),
    incremental,
    chunkSize: parseIntegerOption('--chunk-size', raw.chunkSize, 100, 1_000_000),
    workers,
    ...(raw.keepLast === undefined ? {} : { keepLast: parseIntegerOption('--keep-last', raw.keepLast, 1) }),
    ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
  };
  if (raw.uploadVolume !== undefined) volumeFolder(raw.uploadVolume);
  return {
    base,
    schedule,
    maxTicks,
    format: parseFormat(raw.format) as 'text' | 'json',
    ...(raw.uploadVolume === undefined ? {} : { uploadVolume: raw.uploadVolume }),
  };
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

export function formatSummaryText(s: GenerateSummary): string {
  const lines = [
    `Generated batch ${s.batch}${s.incremental ? ' (incremental)' : ''} as of ${s.asOf}, seed ${s.seed}, generator ${s.generatorVersion}`,
    `  people: ${n(s.people.created)} new, ${n(s.people.changed)} changed, ${n(s.people.active)} active existing; ${n(s.people.total)} in the data set`,
    ...s.files.map((f) => `  ${f.entity.padEnd(15)} ${n(f.rows).padStart(12)} rows  ${f.path}`),
    `  defects: ${Object.values(s.defects).reduce((a, b) => a + (b ?? 0), 0)} injected (${
      Object.entries(s.defects)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    })`,
    `  ground truth: ${s.truthDir}`,
    `  ${n(s.totalRows)} rows in ${s.seconds.toFixed(2)} s (${n(Math.round(s.rowsPerSecond))} rows/s)`,
  ];
  if (s.deletedFiles.length > 0)
    lines.push(`  deleted ${s.deletedFiles.length} old landing file(s): ${s.deletedFiles.join(', ')}`);
  return lines.join('\n') + '\n';
}

/** The JSON summary of `--format json` (one object per batch; one line per tick with --every). */
export function summaryJson(s: GenerateSummary): Record<string, unknown> {
  return {
    generatorVersion: s.generatorVersion,
    seed: s.seed,
    batch: s.batch,
    incremental: s.incremental,
    asOf: s.asOf,
    files: s.files.map((f) => ({
      entity: f.entity,
      fileName: f.fileName,
      path: f.path,
      truthPath: f.truthPath,
      rows: f.rows,
      bytes: f.bytes,
    })),
    rows: s.rows,
    totalRows: s.totalRows,
    bytes: s.bytes,
    people: s.people,
    defects: s.defects,
    deletedFiles: s.deletedFiles,
    seconds: s.seconds,
    rowsPerSecond: s.rowsPerSecond,
  };
}

async function runOnce(options: GenerateOptions): Promise<GenerateSummary> {
  try {
    return await generate(options);
  } catch (error: unknown) {
    if (error instanceof GenerateOptionError) throw new CliError(error.message, 2, { cause: error });
    throw error;
  }
}

/** Runs the command (also with an injected clock and stop signal, for tests of --every). */
export async function runGenerateCommand(
  opts: GenerateCommandOptions,
  deps: { clock?: Clock; signal?: AbortSignal; out?: NodeJS.WritableStream } = {},
): Promise<GenerateSummary[]> {
  const out = deps.out ?? process.stdout;
  const progress = opts.format === 'text' ? terminalProgress() : silentProgress;
  const target = opts.uploadVolume === undefined ? undefined : filesApiTarget(process.env);
  const print = async (s: GenerateSummary): Promise<void> => {
    const uploads =
      target && opts.uploadVolume !== undefined
        ? await uploadFiles(
            target,
            opts.uploadVolume,
            s.files.map((f) => f.path),
          )
        : undefined;
    const json = {
      ...summaryJson(s),
      ...(uploads ? { uploads: uploads.map((u) => ({ volumePath: u.volumePath, outcome: u.outcome })) } : {}),
    };
    out.write(
      opts.format === 'json'
        ? JSON.stringify(json, null, opts.schedule ? undefined : 2) + '\n'
        : formatSummaryText(s) +
            (uploads
              ? uploads
                  .map(
                    (u) => `  ${u.outcome === 'uploaded' ? 'uploaded' : 'already there'}: ${u.volumePath}\n`,
                  )
                  .join('')
              : ''),
    );
  };
  if (!opts.schedule) {
    const summary = await runOnce({ ...opts.base, progress });
    await print(summary);
    return [summary];
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  deps.signal?.addEventListener('abort', stop);
  if (!deps.signal) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  const summaries: GenerateSummary[] = [];
  let lastAsOf: Date | undefined;
  try {
    await runSchedule({
      schedule: opts.schedule,
      clock: deps.clock ?? systemClock,
      signal: controller.signal,
      maxTicks: opts.maxTicks,
      onTick: async (due) => {
        let asOf = floorToMinute(due);
        if (lastAsOf && asOf.getTime() <= lastAsOf.getTime()) asOf = new Date(lastAsOf.getTime() + 60_000);
        const existing = readManifest(opts.base.truthDir ?? 'truth');
        const summary = await runOnce({ ...opts.base, asOf, incremental: existing !== undefined, progress });
        lastAsOf = asOf;
        summaries.push(summary);
        await print(summary);
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    deps.signal?.removeEventListener('abort', stop);
  }
  return summaries;
}

/** Registers `carelake generate`. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description(
      'Write synthetic landing files (patients, claims, medical_events) with injected defects, plus their ground truth.',
    )
    .option('--patients <n>', 'people created in this batch (in an incremental batch: new people)', '1000')
    .option(
      '--seed <n>',
      "seed; the same seed, options, --as-of and generator version give byte-identical files (default 1; incremental batches keep the data set's seed)",
    )
    .option('--out <dir>', 'landing folder', './landing')
    .option(
      '--truth <dir>',
      'ground-truth folder (outside the landing folder): one CSV per landing file plus manifest.json',
      './truth',
    )
    .option(
      '--as-of <timestamp>',
      'extract time (ISO 8601, UTC if no offset): names the files and bounds all dates (default: now, rounded down to the minute)',
    )
    .option('--defect-rate <rate>', 'share of rows with an injected defect (0–1)', '0.005')
    .option(
      '--adt-share <rate>',
      'share of people with an ADT_SYSTEM record (0–1, default 0.6); fixed by the first batch, refused with --incremental',
    )
    .option(
      '--lab-share <rate>',
      'share of people with a LAB_SYSTEM record (0–1, default 0.55); fixed by the first batch, refused with --incremental',
    )
    .option(
      '--change-share <rate>',
      'share of existing people with changed attributes per incremental batch (0–1, default 0.03); a new data set records it, --incremental uses the recorded share unless given, then for that batch only',
    )
    .option(
      '--activity-share <rate>',
      'share of existing people with new claims and events per incremental batch (0–1, default 0.08); recorded like --change-share',
    )
    .option(
      '--incremental',
      'add a batch to the data set in --truth: new people, changed people, new claims and events (--as-of must be later than the last batch)',
    )
    .option('--keep-last <n>', 'after writing, keep only the newest N landing files per entity')
    .option(
      '--max-age <duration>',
      'after writing, delete landing files whose extract time is older than this (e.g. 90m, 12h, 7d)',
    )
    .option(
      '--every <schedule>',
      'run until stopped (SIGINT/SIGTERM), one incremental batch per tick: an interval like 15m or a cron expression like "*/5 * * * *" (UTC)',
    )
    .option('--max-ticks <n>', 'with --every: stop after N ticks')
    .option('--chunk-size <n>', 'people per chunk (memory/speed only; output is identical)', '10000')
    .option('--workers <n>', 'worker threads, or "auto" (2 for 100,000+ people); output is identical', 'auto')
    .option('--format <format>', 'summary format: text or json', 'text')
    .option(
      '--upload-volume <path>',
      'also upload each batch to this Unity Catalog volume folder through the Files API (env DATABRICKS_HOST, DATABRICKS_TOKEN)',
    )
    .addHelpText(
      'after',
      '\nFiles are named {entity}_{yymmdd}_{hhmm}.csv after --as-of; an existing name is never overwritten (the next\n' +
        'extract of the same minute gets _2, _3, ...). See docs/cli-generate.md for the ground-truth format.\n',
    )
    .action(async (raw: RawOptions) => {
      await runGenerateCommand(parseGenerateOptions(raw));
    });
}
