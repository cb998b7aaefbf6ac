import fs from 'node:fs';
import { Database, DatabaseInUseError } from '../engine/database.ts';
import { acquireLock, lockHolder, PipelineLockedError } from '../runner/lock.ts';
import { ensureSchema } from '../runner/schema.ts';
import { CliError } from './errors.ts';
import { errorMessage } from '../support/errors.ts';

/**
 * Runs `fn` holding the lakehouse's update lock (as a pipeline run does); a lock held by a running
 * update is a CLI error (exit code 1) with its message.
 */
export async function withUpdateLock<T>(dbPath: string, fn: () => T | Promise<T>): Promise<T> {
  let release: () => void;
  try {
    release = acquireLock(`${dbPath}.lock`);
  } catch (error: unknown) {
    if (error instanceof PipelineLockedError) throw new CliError(error.message, 1, { cause: error });
    throw error;
  }
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Runs `fn` on the lakehouse opened for writing, holding the update lock (as a pipeline run does). */
export async function withWritableLakehouse<T>(dbPath: string, fn: (db: Database) => Promise<T>): Promise<T> {
  if (!fs.existsSync(dbPath))
    throw new CliError(`no lakehouse at ${dbPath} yet: run \`carelake run\` first`, 1);
  return withUpdateLock(dbPath, async () => {
    const db = await Database.open(dbPath);
    try {
      await ensureSchema(db);
      return await fn(db);
    } finally {
      db.close();
    }
  });
}

/** Runs `fn` on the lakehouse opened read-only, or with undefined when there is no database yet. */
export async function withReadableLakehouse<T>(
  dbPath: string,
  fn: (db: Database | undefined) => Promise<T>,
): Promise<T> {
  if (!fs.existsSync(dbPath)) return fn(undefined);
  const db = await openLakehouseReadOnly(dbPath);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/**
 * Opens the lakehouse read-only with the engine `options` given. No file at `dbPath`: the CLI error that
 * says to run first; a file the engine cannot open (not a database, a folder, a newer format): the
 * engine's reason, not "no lakehouse".
 */
export async function openLakehouseReadOnly(
  dbPath: string,
  options: Record<string, string> = {},
): Promise<Database> {
  if (!fs.existsSync(dbPath))
    throw new CliError(`no lakehouse at ${dbPath} yet: run \`carelake run\` first`, 1);
  try {
    return await Database.open(dbPath, { ...options, access_mode: 'READ_ONLY' });
  } catch (error: unknown) {
    // The engine lets one process write a database file and no other open it meanwhile.
    const holder = error instanceof DatabaseInUseError ? lockHolder(`${dbPath}.lock`) : undefined;
    if (holder !== undefined)
      throw new CliError(
        `the lakehouse ${dbPath} is being updated by a carelake run (pid ${holder}); the engine lets no other process open it until the update ends: try again when it finishes`,
        1,
        { cause: error },
      );
    throw new CliError(errorMessage(error), 1, { cause: error });
  }
}
