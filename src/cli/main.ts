import { Command, CommanderError } from 'commander';
import { registerChanges } from './commands/changes.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerIdentityCommands } from './commands/identity.ts';
import { registerPipelineCommands } from './commands/pipeline.ts';
import { registerStart } from './commands/start.ts';
import { registerAudit } from './commands/audit.ts';
import { registerCatalog } from './commands/catalog.ts';
import { registerExport } from './commands/export.ts';
import { registerKeys } from './commands/keys.ts';
import { registerLanding } from './commands/landing.ts';
import { registerBundle } from './commands/bundle.ts';
import { registerUpload } from './commands/upload.ts';
import { CliError } from './errors.ts';
import { printableLines } from './format.ts';
import { errorMessage, systemHint } from '../support/errors.ts';

export { toleratePipeClose } from './streams.ts';

export const VERSION = '0.1.0';

/** Builds the `carelake` command tree. Each command module registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command('carelake')
    .description(
      'Healthcare data pipeline: synthetic data, a medallion pipeline on embedded DuckDB, and a Databricks bundle.',
    )
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerGenerate(program);
  registerPipelineCommands(program);
  registerStart(program);
  registerKeys(program);
  registerLanding(program);
  registerExport(program, VERSION);
  registerAudit(program);
  registerCatalog(program);
  registerBundle(program);
  registerUpload(program);
  registerIdentityCommands(program);
  registerChanges(program);
  return program;
}

/** Runs the CLI and returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // --help and --version end with exit code 0; usage errors were already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      process.stderr.write(`carelake: ${printableLines(error.message)}\n`);
      return error.exitCode;
    }
    process.stderr.write(`carelake: ${printableLines(errorMessage(error) + systemHint(error))}\n`);
    return 1;
  }
}
