import type { Command } from 'commander';

export const DEFAULT_DB = '.carelake/carelake.duckdb';
export const DEFAULT_LANDING = 'landing';

/** --db and --landing, shared by every command that touches the lakehouse. */
export function addLakehouseOptions(cmd: Command): Command {
  return cmd
    .option(
      '--db <file>',
      `the DuckDB database file (env CARELAKE_DB)`,
      process.env['CARELAKE_DB'] ?? DEFAULT_DB,
    )
    .option(
      '--landing <dir>',
      `the landing folder with the CSV extracts (env CARELAKE_LANDING)`,
      process.env['CARELAKE_LANDING'] ?? DEFAULT_LANDING,
    );
}
