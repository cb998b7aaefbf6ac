import type { Command } from 'commander';
import { appendAudit, auditPathFor } from '../../privacy/audit.ts';
import { phiTablesIn } from '../../privacy/catalog.ts';
import { ChangeFeedError, FEED_DATASETS, changesSql } from '../../runner/change-feed.ts';
import { CliError, parseFormat, parseIntegerOption } from '../errors.ts';
import { writeRows, type TableFormat } from '../format.ts';
import { writeOut } from '../streams.ts';
import { openLakehouseReadOnly } from '../lakehouse-access.ts';
import { addLakehouseOptions } from '../options.ts';

interface ChangesOpts {
  db: string;
  landing: string;
  fromVersion: string;
  toVersion?: string;
  format: string;
}

/** `carelake changes <table> --from-version N [--to-version M]`: the change data feed of a table. */
export function registerChanges(program: Command): void {
  addLakehouseOptions(
    program
      .command('changes')
      .description(
        "The change data feed of a silver or gold table, like Delta's table_changes(): every insert, update pre-/post-image and delete with its _commit_version and _commit_timestamp.",
      ),
  )
    .argument('<table>', `one of ${FEED_DATASETS.join(', ')}`)
    .requiredOption('--from-version <n>', 'first version to return (inclusive)')
    .option('--to-version <m>', 'last version to return (inclusive; default: the latest)')
    .option('--format <format>', 'table, csv or json (an array of row objects)', 'table')
    .action(async (table: string, opts: ChangesOpts) => {
      const format = parseFormat(opts.format, ['table', 'csv', 'json']) as TableFormat;
      const fromVersion = parseIntegerOption('--from-version', opts.fromVersion, 0);
      const toVersion =
        opts.toVersion === undefined ? undefined : parseIntegerOption('--to-version', opts.toVersion, 0);
      if (toVersion !== undefined && toVersion < fromVersion)
        throw new CliError(`--to-version (${toVersion}) is before --from-version (${fromVersion})`, 2);
      if (!FEED_DATASETS.includes(table))
        throw new CliError(
          `no change feed for "${table}"; tables with a change feed: ${FEED_DATASETS.join(', ')}`,
          2,
        );
      const db = await openLakehouseReadOnly(opts.db);
      try {
        const sql = await changesSql(db, table, {
          fromVersion,
          ...(toVersion === undefined ? {} : { toVersion }),
        });
        // Reading the feed of a PHI table is audited like a query of it, whether it ends or fails.
        const audit = (status: string, rows: number | null): void => {
          if (phiTablesIn(table).length)
            appendAudit(auditPathFor(opts.db), {
              action: 'changes_read',
              status,
              rows,
              details: { table, from_version: fromVersion, to_version: toVersion ?? null },
            });
        };
        try {
          const result = await db.stream(sql);
          audit('ok', await writeRows(result.columns, result.batches, format, writeOut));
        } catch (error: unknown) {
          audit('FAILED', null);
          throw error;
        }
      } catch (error: unknown) {
        if (error instanceof ChangeFeedError) throw new CliError(error.message, 1, { cause: error });
        throw error;
      } finally {
        db.close();
      }
    });
}
