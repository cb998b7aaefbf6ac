import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseLandingFileName } from '../../definitions/landing-files.ts';
import { referencePath } from '../../reference/paths.ts';
import { CliError, parseFormat } from '../errors.ts';
import { filesApiTarget, uploadFiles, volumeFolder, type UploadResult } from '../files-api.ts';

/** The reference files the pipeline reads from the reference volume. */
export const REFERENCE_UPLOADS = [
  'us_states_regions.csv',
  'icd10cm_codes.csv',
  'nicknames/names.csv',
] as const;

interface UploadOptions {
  from: string;
  volume?: string;
  reference?: string;
  host?: string;
  format: string;
}

/** Prints what an upload did, as text or JSON. */
export function printUploads(
  results: readonly UploadResult[],
  format: string,
  out: NodeJS.WritableStream = process.stdout,
): void {
  if (format === 'json') {
    out.write(
      JSON.stringify(
        {
          uploaded: results.filter((r) => r.outcome === 'uploaded').length,
          alreadyThere: results.filter((r) => r.outcome === 'exists').length,
          files: results.map((r) => ({
            file: path.basename(r.file),
            volumePath: r.volumePath,
            outcome: r.outcome,
            bytes: r.bytes,
          })),
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  for (const r of results)
    out.write(`${r.outcome === 'uploaded' ? 'uploaded     ' : 'already there'}  ${r.volumePath}\n`);
  const up = results.filter((r) => r.outcome === 'uploaded').length;
  out.write(`${up} uploaded, ${results.length - up} already in the volume (never overwritten)\n`);
}

/** The landing files of a folder, oldest extract first (names that do not follow the contract are left out). */
export function landingFilesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new CliError(`no landing folder at ${dir}`, 2);
  return fs
    .readdirSync(dir)
    .map((f) => ({ f, parsed: parseLandingFileName(f) }))
    .filter((x) => x.parsed !== undefined)
    .sort(
      (a, b) =>
        (a.parsed?.extractedAt.getTime() ?? 0) - (b.parsed?.extractedAt.getTime() ?? 0) ||
        a.f.localeCompare(b.f),
    )
    .map((x) => path.join(dir, x.f));
}

export function registerUpload(program: Command): void {
  program
    .command('upload')
    .description(
      'Upload landing files (and the reference data) to Unity Catalog volumes through the Databricks Files API.',
    )
    .option('--from <dir>', 'landing folder to upload', './landing')
    .option('--volume <path>', 'landing volume folder, e.g. /Volumes/carelake_dev/medallion/landing')
    .option('--reference <path>', 'also upload the reference CSV files to this volume folder')
    .option(
      '--host <url>',
      'workspace URL (default: env DATABRICKS_HOST); the token is read from env DATABRICKS_TOKEN',
    )
    .option('--format <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      '\nFiles are sent with PUT /api/2.0/fs/files<path>?overwrite=false: a file already in the volume is left\n' +
        'untouched and reported as "already there", so uploading twice is safe.\n',
    )
    .action(async (opts: UploadOptions) => {
      const format = parseFormat(opts.format);
      if (!opts.volume && !opts.reference) throw new CliError('give --volume, --reference or both', 2);
      if (opts.volume) volumeFolder(opts.volume);
      if (opts.reference) volumeFolder(opts.reference);
      const target = filesApiTarget(process.env, opts.host);
      const results: UploadResult[] = [];
      if (opts.reference)
        results.push(
          ...(await uploadFiles(
            target,
            opts.reference,
            REFERENCE_UPLOADS.map((f) => referencePath(f)),
          )),
        );
      if (opts.volume) results.push(...(await uploadFiles(target, opts.volume, landingFilesIn(opts.from))));
      printUploads(results, format);
    });
}
