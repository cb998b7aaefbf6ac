import type { Command } from 'commander';
import { Database } from '../../engine/database.ts';
import { summarise } from '../../monitoring/summary.ts';
import { PipelineLockedError } from '../../runner/lock.ts';
import { runPipeline, RunRefusedError, type RunOptions } from '../../runner/run.ts';
import { restrictToLakehouse } from '../../runner/bronze-store.ts';
import { appendAudit, auditPathFor } from '../../privacy/audit.ts';
import { phiReadsOf } from '../../privacy/catalog.ts';
import { defaultArchiveDir, parseDuration } from '../../privacy/retention.ts';
import { CliError, parseFormat } from '../errors.ts';
import { formatRows, writeRows, type TableFormat } from '../format.ts';
import { writeOut } from '../streams.ts';
import { openLakehouseReadOnly } from '../lakehouse-access.ts';
import { addLakehouseOptions } from '../options.ts';
import { terminalProgress } from '../progress.ts';
import { renderRunReport } from '../report.ts';
import { errorMessage } from '../../support/errors.ts';

interface LakehouseOpts {
  db: string;
  landing: string;
  format: string;
}

/** Runs one update and prints its report; returns the exit code. */
export async function runAndReport(opts: {
  db: string;
  landing: string;
  format: string;
  fullRefresh?: boolean;
  orphanGraceHours?: number;
  retainLanding?: RunOptions['retainLanding'];
  archiveDir?: string;
}): Promise<number> {
  const json = opts.format === 'json';
  const progress = json ? undefined : terminalProgress();
  // The first SIGINT (Ctrl-C) or SIGTERM stops the update cleanly: the running statement is cancelled
  // and the transaction rolled back, the lock and working files released. A second one ends the
  // process at once, which is as safe (a killed run changes no table) but leaves that to the next run.
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(exitCodeOf(name));
    progress?.stop();
    process.stderr.write(
      `carelake: ${name}: stopping the update and rolling it back (${name} again stops at once)\n`,
    );
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result;
  try {
    result = await runPipeline({
      signal: controller.signal,
      dbPath: opts.db,
      landingDir: opts.landing,
      fullRefresh: opts.fullRefresh ?? false,
      ...(opts.orphanGraceHours === undefined ? {} : { orphanGraceHours: opts.orphanGraceHours }),
      ...(opts.retainLanding ? { retainLanding: opts.retainLanding } : {}),
      ...(opts.archiveDir ? { archiveDir: opts.archiveDir } : {}),
      onMessage: (line) => process.stderr.write(`carelake: ${line}\n`),
      ...(progress
        ? {
            onProgress: (label: string, done: number, total: number) => {
              if (done === 0) progress.start(label, total);
              progress.update(done);
              if (done === total) progress.stop();
            },
          }
        : {}),
    });
  } catch (error: unknown) {
    progress?.stop();
    if (error instanceof PipelineLockedError || error instanceof RunRefusedError)
      throw new CliError(error.message, 1, { cause: error });
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  progress?.stop();
  const db = await Database.open(opts.db, { access_mode: 'READ_ONLY' });
  try {
    const summary = await summarise(db);
    if (json) process.stdout.write(JSON.stringify({ run: result, lakehouse: summary }, null, 2) + '\n');
    else process.stdout.write(renderRunReport(result, summary));
  } finally {
    db.close();
  }
  if (result.status === 'INTERRUPTED')
    return exitCodeOf(controller.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  return result.status === 'COMPLETED' ? 0 : 1;
}

/** The shell's exit code for a process ended by `signal`: 128 plus its number (SIGINT 130, SIGTERM 143). */
const exitCodeOf = (signal: NodeJS.Signals): number => 128 + (signal === 'SIGTERM' ? 15 : 2);

/**
 * Opens the lakehouse read-only. `sandboxed` also takes away the engine's access to files other than
 * the lakehouse (reading a CSV or Parquet file, COPY TO, ATTACH, extensions), for queries a user writes:
 * they read the lakehouse's tables, where every query of a PHI table is audited, and write nothing.
 */
async function openForReading(dbPath: string, sandboxed = false): Promise<Database> {
  const db = await openLakehouseReadOnly(dbPath);
  if (sandboxed) {
    try {
      await restrictToLakehouse(db);
    } catch (error: unknown) {
      db.close();
      throw error;
    }
  }
  return db;
}

export function registerPipelineCommands(program: Command): void {
  addLakehouseOptions(
    program
      .command('run')
      .description(
        'Ingest new landing files and update bronze, silver and gold (incremental, exactly once per file).',
      ),
  )
    .option('--full-refresh', 'rebuild every table from all landing files', false)
    .option(
      '--orphan-grace <hours>',
      'hours a claim or event waits for its patient before it is quarantined',
      '24',
    )
    .option(
      '--retain-landing <duration>',
      'after the update, archive (or with --retain-action purge, delete) ingested, unchanged landing files ingested longer ago than this (e.g. 30d, 12h)',
    )
    .option('--retain-action <action>', 'archive or purge', 'archive')
    .option(
      '--archive-dir <dir>',
      'where archived landing files go (default: landing-archive next to the database)',
    )
    .option('--format <format>', 'text or json', 'text')
    .action(
      async (
        opts: LakehouseOpts & {
          fullRefresh: boolean;
          orphanGrace: string;
          retainLanding?: string;
          retainAction: string;
          archiveDir?: string;
        },
      ) => {
        parseFormat(opts.format);
        const grace = Number(opts.orphanGrace);
        if (!Number.isFinite(grace) || grace < 0)
          throw new CliError(`--orphan-grace must be a number of hours ≥ 0, got "${opts.orphanGrace}"`, 2);
        if (opts.retainAction !== 'archive' && opts.retainAction !== 'purge')
          throw new CliError(`--retain-action must be archive or purge, got "${opts.retainAction}"`, 2);
        let retainLanding: RunOptions['retainLanding'];
        if (opts.retainLanding !== undefined) {
          let olderThanMs: number;
          try {
            olderThanMs = parseDuration(opts.retainLanding);
          } catch (error: unknown) {
            throw new CliError(`--retain-landing: ${errorMessage(error)}`, 2);
          }
          retainLanding = {
            olderThanMs,
            action: opts.retainAction,
            archiveDir: opts.archiveDir ?? defaultArchiveDir(opts.db),
          };
        }
        process.exitCode = await runAndReport({
          db: opts.db,
          landing: opts.landing,
          format: opts.format,
          fullRefresh: opts.fullRefresh,
          orphanGraceHours: grace,
          ...(retainLanding ? { retainLanding } : {}),
          ...(opts.archiveDir ? { archiveDir: opts.archiveDir } : {}),
        });
      },
    );

  addLakehouseOptions(
    program
      .command('sql')
      .description(
        "Run an SQL query against the lakehouse (read only: the lakehouse's tables and views, no other files).",
      ),
  )
    .argument('<query>', 'the SQL query')
    .option('--format <format>', 'table, csv or json (an array of row objects)', 'table')
    .action(async (query: string, opts: LakehouseOpts) => {
      const format = parseFormat(opts.format, ['table', 'csv', 'json']) as TableFormat;
      const db = await openForReading(opts.db, true);
      // Every query of PHI is audited (who, when, the query with SSN-shaped text redacted, rows): one
      // that names a PHI table or whose plan reads one or a segment file (privacy/catalog.ts), and one
      // the engine could not plan beforehand if it runs (what it read is not known).
      const reads = await phiReadsOf(db, query);
      const audit = (status: string, rows: number | null, error?: string): void => {
        const unknown = !reads.planned && status === 'ok';
        if (reads.tables.length || unknown)
          appendAudit(auditPathFor(opts.db), {
            action: 'sql_query',
            status,
            rows,
            details: {
              query,
              tables: reads.tables,
              ...(unknown ? { planned: false } : {}),
              ...(error ? { error } : {}),
            },
          });
      };
      try {
        const result = await db.stream(query);
        const rows = await writeRows(result.columns, result.batches, format, writeOut);
        audit('ok', rows);
      } catch (error: unknown) {
        const message = errorMessage(error);
        audit('FAILED', null, message);
        throw new CliError(`query failed: ${message}`, 1, {
          cause: error,
        });
      } finally {
        db.close();
      }
    });

  addLakehouseOptions(
    program.command('status').description('Tables with row counts, quarantine, and the last runs.'),
  )
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: LakehouseOpts) => {
      parseFormat(opts.format);
      const db = await openForReading(opts.db);
      try {
        const stored = await summarise(db);
        // A run holds the lakehouse open (and locked to this command) until it ends, so a run still
        // marked RUNNING here is one whose process died before it committed; the next run marks it so.
        const summary = {
          ...stored,
          lastRuns: stored.lastRuns.map((r) =>
            r.status === 'RUNNING' ? { ...r, status: 'INTERRUPTED' } : r,
          ),
        };
        if (opts.format === 'json') {
          process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        } else {
          process.stdout.write(`Lakehouse ${opts.db}\n\nTables:\n${formatRows(summary.tables, 'table')}`);
          process.stdout.write(`\nLast runs:\n${formatRows(summary.lastRuns, 'table')}`);
          process.stdout.write(
            `\nQuarantine by rule:\n${summary.quarantine.length ? formatRows(summary.quarantine, 'table') : '(empty)\n'}`,
          );
          process.stdout.write(
            `\nParked rows: ${summary.parked}\nAverage data quality score: ${summary.averageDataQualityScore ?? 'n/a'}\n`,
          );
        }
      } finally {
        db.close();
      }
    });
}
