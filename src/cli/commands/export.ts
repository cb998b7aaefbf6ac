import type { Command } from 'commander';
import { appendAudit, auditPathFor } from '../../privacy/audit.ts';
import { exportGold, type ExportManifest, type ExportMode } from '../../privacy/export.ts';
import { CliError, parseFormat } from '../errors.ts';
import { formatRows } from '../format.ts';
import { withWritableLakehouse } from '../lakehouse-access.ts';
import { addLakehouseOptions } from '../options.ts';
import { errorMessage } from '../../support/errors.ts';

interface ExportOpts {
  db: string;
  landing: string;
  format: string;
  deidentified?: boolean;
  limited?: boolean;
  out?: string;
  csv?: boolean;
}

/** `carelake export --deidentified|--limited --out DIR [--csv]`. */
export function registerExport(program: Command, version: string): void {
  addLakehouseOptions(
    program
      .command('export')
      .description(
        'Export the gold tables as Parquet (and CSV): --deidentified (HIPAA Safe Harbor) or --limited (a limited data set, still PHI).',
      ),
  )
    .option(
      '--deidentified',
      'Safe Harbor: 18 identifiers removed, ZIP3 (restricted → 000), dates as years, ages 90+',
    )
    .option(
      '--limited',
      'limited data set: dates and five-digit ZIP kept (still PHI; needs a data use agreement)',
    )
    .option('--out <dir>', 'an empty or new folder for the files and manifest.json')
    .option('--csv', 'also write one CSV file per table', false)
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: ExportOpts) => {
      parseFormat(o.format);
      if (Boolean(o.deidentified) === Boolean(o.limited))
        throw new CliError('choose exactly one of --deidentified or --limited', 2);
      if (!o.out) throw new CliError('--out <dir> is required', 2);
      const mode: ExportMode = o.deidentified ? 'deidentified' : 'limited';
      const out = o.out;
      let manifest: ExportManifest;
      try {
        manifest = await withWritableLakehouse(o.db, (db) =>
          exportGold(db, { outDir: out, mode, csv: o.csv ?? false, version }),
        );
      } catch (error: unknown) {
        const message = errorMessage(error);
        appendAudit(auditPathFor(o.db), {
          action: 'export',
          status: 'FAILED',
          details: { mode, out, error: message },
        });
        if (error instanceof CliError) throw error;
        throw new CliError(`export failed: ${message}`, 1, { cause: error });
      }
      const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0);
      appendAudit(auditPathFor(o.db), {
        action: 'export',
        rows,
        details: {
          mode,
          out,
          csv: o.csv ?? false,
          tables: Object.fromEntries(Object.entries(manifest.tables).map(([k, t]) => [k, t.rows])),
          files: manifest.files.length,
          pseudonyms_created: manifest.pseudonymsCreated,
        },
      });
      if (o.format === 'json') {
        process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        [
          `Exported ${rows} row(s) in ${manifest.files.length} file(s) to ${out} (${manifest.standard}).`,
          manifest.notice,
          '',
          formatRows(
            Object.entries(manifest.tables).map(([table, t]) => ({
              table,
              rows: t.rows,
              partitioned_by: t.partitionBy.join(', '),
            })),
            'table',
          ).trimEnd(),
          '',
          `Manifest: ${out}/manifest.json (row counts per file, the rules applied, how each of the 18 identifiers is handled).`,
        ].join('\n') + '\n',
      );
    });
}
