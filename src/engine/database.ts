import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  type DuckDBConnection,
  type DuckDBValue,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import { BackgroundFileOps, backgroundLimit } from './background.ts';
import { makeDirectory } from '../support/files.ts';
import { errorMessage } from '../support/errors.ts';

/**
 * Runs of 16 or more hex digits in statement text: the padded HMAC key blocks the SSN hash is computed
 * with are written into the statement (dialect `hmacSha256Hex`), and whoever holds them can hash every
 * possible SSN. They never reach a trace or an error, not even in part (the engine quotes a cut piece
 * of a failed statement in its message). Hashes and long numbers in a trace are redacted with them.
 */
const KEY_MATERIAL = /[0-9a-fA-F]{16,}/g;
export const redactKeyMaterial = (text: string): string => text.replace(KEY_MATERIAL, '<redacted>');

/** What the engine's message leaves out: which carelake setting moves the limit it names. */
function withHint(message: string): string {
  if (/max_temp_directory_size/.test(message))
    return `${message}\n(carelake lets the engine spill at most half the disk space free when the database opened; CARELAKE_TEMP_LIMIT sets another cap, e.g. 40GB)`;
  if (/No space left on device/i.test(message))
    return `${message}\n(the disk is full: free space and run again; an update that fails commits nothing, and the next run ingests its files)`;
  if (/Corrupt WAL file|Failure while replaying WAL/i.test(message))
    return `${message}\n(the database's log of its latest commits, the .wal file next to it, is damaged: restore a backup, or move the .wal file aside to open the database as it was at its last checkpoint; the updates logged since are then lost, and the next run ingests their landing files again if they are still in the landing folder)`;
  if (/Corrupt database file|Could not read enough bytes from file/i.test(message))
    return `${message}\n(the database file is damaged or cut short: restore it from a backup, or build a new lakehouse from the landing files with \`carelake run --db <new file>\`, after copying any archived landing files back into the landing folder)`;
  if (/out of memory/i.test(message))
    return `${message}\n(carelake gives the engine 2.5 GB, an incremental update less; CARELAKE_MEMORY_LIMIT sets one limit for all work, e.g. 4GB)`;
  return message;
}

/** A failed statement: the engine's message and the statement, both without key material. */
export class EngineError extends Error {
  readonly sql: string;
  constructor(message: string, sql: string, options?: { cause?: unknown }) {
    super(redactKeyMaterial(withHint(message)), options);
    this.name = 'EngineError';
    this.sql = redactKeyMaterial(sql);
  }
}

/** The database file is held by another process (the engine lets one process open a file for writing). */
export class DatabaseInUseError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, '', options);
    this.name = 'DatabaseInUseError';
  }
}

/**
 * The path holds something other than a DuckDB database (a landing CSV given as --db, a folder). Told
 * before the engine opens it: the engine opens an existing file named like a data file (.csv, .parquet,
 * .json) as an in-memory database over that file, where an update would run, report success and keep
 * nothing.
 */
export class NotADatabaseError extends EngineError {
  constructor(message: string) {
    super(message, '');
    this.name = 'NotADatabaseError';
  }
}

/** Bytes 8-11 of every DuckDB database file (its header's magic). */
const DUCKDB_MAGIC = Buffer.from('DUCK');

/**
 * Throws NotADatabaseError when `path` exists and is not a DuckDB database file (a missing path is
 * fine: opening it creates the database). Reads the first 12 bytes only; never quotes them (the file
 * may be a landing file full of PHI).
 */
export function checkDatabaseFile(path: string): void {
  if (path === ':memory:') return;
  const stat = fs.statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return;
  const choose = 'choose the lakehouse file with --db (a new path creates one)';
  if (stat.isDirectory()) throw new NotADatabaseError(`${path} is a folder, not a database file: ${choose}`);
  if (!stat.isFile()) throw new NotADatabaseError(`${path} is not a regular file: ${choose}`);
  const header = Buffer.alloc(12);
  let n = 0;
  const fd = fs.openSync(path, 'r');
  try {
    n = fs.readSync(fd, header, 0, 12, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n === 12 && header.subarray(8, 12).equals(DUCKDB_MAGIC)) return;
  throw new NotADatabaseError(
    `the file ${path} is ${stat.size === 0 ? 'empty' : 'not a DuckDB database'}, so it is no carelake lakehouse: ${choose}`,
  );
}

/** One operator of a statement's plan (`Database.plan`). */
export interface PlanNode {
  readonly name: string;
  readonly extra_info?: Readonly<Record<string, unknown>>;
  readonly children?: readonly PlanNode[];
}

/**
 * A statement of a transaction that `Database.interrupt` stopped: the one running when it was called
 * (cancelled by the engine) or any later one of the same transaction. The message is the reason given.
 */
export class InterruptedError extends EngineError {
  constructor(reason: string, sql: string, options?: { cause?: unknown }) {
    super(reason, sql, options);
    this.name = 'InterruptedError';
  }
}

/**
 * CARELAKE_TRACE_SQL=1 prints each statement's wall time and the process CPU time it took (all engine
 * threads) to stderr, for profiling; `=full` prints whole statements instead of their first 160 characters.
 */
const TRACE = process.env['CARELAKE_TRACE_SQL'];
const TRACING = TRACE === '1' || TRACE === 'full';
interface TraceStart {
  readonly wall: number;
  readonly cpu: NodeJS.CpuUsage;
}
function traceStart(): TraceStart | undefined {
  return TRACING ? { wall: performance.now(), cpu: process.cpuUsage() } : undefined;
}
function trace(sql: string, started: TraceStart | undefined): void {
  if (started === undefined) return;
  const cpu = process.cpuUsage(started.cpu);
  // One line per statement: line breaks and the indentation around them become one space; every
  // other character is as run (two spaces inside a string literal stay two).
  const text = redactKeyMaterial(sql.replace(/[ \t]*\r?\n\s*/g, ' '));
  process.stderr.write(
    `[sql ${Math.round(performance.now() - started.wall)} ms, cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms] ${TRACE === 'full' ? text : text.slice(0, 160)}\n`,
  );
}

/**
 * Engine settings (measured with `npm run bench`):
 * - FSST string compression off: analysing it doubles the cost of bulk writes on 2 cores. Dictionary
 *   compression stays on, since whole-table scans (incremental updates) read far fewer bytes; text
 *   that would not compress (raw landing text, ids, hashes) is declared uncompressed in its table
 *   (the dialect's `storedType`), so no write analyses it.
 *   CARELAKE_STRING_COMPRESSION=off turns it off everywhere (faster full loads, slower incremental
 *   updates, a file two to three times larger).
 * - insertion order not preserved: inserts and CREATE TABLE AS run on every thread without keeping
 *   batches in order. Queries that need an order say ORDER BY; a statement that needs the order of
 *   its input sets `preserve_insertion_order` for itself (bronze staging).
 * - a commit that changed more than 1 MB checkpoints at once instead of writing the log first (an
 *   incremental update logged 7.3 MB, written at its commit and again by the checkpoint at close:
 *   commit and close took 0.42–0.54 s with the log, 0.39–0.47 s without). Small commits still go to the log.
 * - memory capped at 2.5 GB unless CARELAKE_MEMORY_LIMIT says otherwise (DuckDB's own default is 80% of
 *   the machine); larger work spills to a temporary folder next to the database, at most half the disk
 *   space free when the database opens (`tempLimit`; CARELAKE_TEMP_LIMIT).
 */
const STRING_COMPRESSION_OFF = "SET disabled_compression_methods = 'fsst,dictionary,dict_fsst'";

/**
 * In bulk mode, the release above which the engine flushes its allocator's free memory at once (its
 * default is 512 MiB), and the peak of a thread's task above which it flushes that thread's free memory
 * when the task ends (default 128 MiB): larger than any of a first load, so freed memory stays for reuse.
 */
const BULK_FLUSH_THRESHOLD = '1TB';

/**
 * The most distinct values a column of a working Parquet file keeps in a dictionary; past it, the column
 * is written plain. The engine's own limit grows with the row group (up to its 122,880 rows), so on
 * text whose values nearly all differ (names, addresses, ids, hashes) it builds a large dictionary for
 * each row group before giving up: the wide working files of a 1M-people first load took 1.8-3.5 CPU-s
 * less each to write with this limit (figures in CONTEXT.md). Not lower: with a limit of 0 or 1 the
 * engine fails to write the list of failed rule names of the staged claims ("not enough space in
 * buffer"); those lists hold a handful of distinct names, far below 1,000.
 */
const WORKING_DICTIONARY_LIMIT = 1000;

/** A size setting from the environment, reduced to what a size can hold (digits, a point, a unit). */
const sizeSetting = (value: string): string => value.replace(/[^0-9A-Za-z.]/g, '');

/** The engine's memory limit unless CARELAKE_MEMORY_LIMIT sets one: 2.5 GB. */
const DEFAULT_MEMORY_LIMIT = '2.5GB';
const DEFAULT_MEMORY_LIMIT_BYTES = 2_500_000_000;

/** The engine's memory limit at open: CARELAKE_MEMORY_LIMIT, else 2.5 GB. */
const memoryLimitSetting = (env: NodeJS.ProcessEnv): string =>
  sizeSetting(env['CARELAKE_MEMORY_LIMIT'] ?? DEFAULT_MEMORY_LIMIT);

/**
 * How much the engine may spill to its temporary folder (next to the database): half the space free on
 * that file system when the database opens, unless CARELAKE_TEMP_LIMIT says otherwise. The engine's own
 * default is 90 %: a statement whose plan went wrong filled a 65 GB disk and would have left no room for
 * the database's own checkpoint; capped, it fails (and its update rolls back) with the cap in the message.
 */
export function tempLimit(dbPath: string, env: NodeJS.ProcessEnv): string {
  const configured = env['CARELAKE_TEMP_LIMIT'];
  if (configured) return sizeSetting(configured);
  const dir = dbPath === ':memory:' ? process.cwd() : path.dirname(path.resolve(dbPath));
  const stats = fs.statfsSync(dir, { bigint: false });
  const half = Math.floor((Number(stats.bavail) * Number(stats.bsize)) / 2 / 2 ** 20);
  return `${Math.max(half, 1024)}MiB`;
}

function engineSettings(dbPath: string, env: NodeJS.ProcessEnv): string[] {
  return [
    env['CARELAKE_STRING_COMPRESSION'] === 'off'
      ? STRING_COMPRESSION_OFF
      : "SET disabled_compression_methods = 'fsst'",
    'SET preserve_insertion_order = false',
    "SET checkpoint_threshold = '1MB'",
    `SET memory_limit = '${memoryLimitSetting(env)}'`,
    `SET max_temp_directory_size = '${tempLimit(dbPath, env)}'`,
    // Files the lakehouse keeps beside the database (bronze segments) are named relative to their
    // folder, so the lakehouse can move; a path not found there is read relative to the working folder.
    ...(dbPath === ':memory:' ? [] : [`SET file_search_path = ${sqlString(Database.filesDir(dbPath))}`]),
  ];
}

export type Params = readonly DuckDBValue[] | Readonly<Record<string, DuckDBValue>>;
export type Row = Record<string, unknown>;

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object' && value.constructor === Object) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

const INFINITE_DAYS = 2 ** 31 - 1;

/** Types read as the engine's text: the client's JS form is a number of microseconds, an object or bytes. */
const TEXT_TYPES: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIME_NS,
  DuckDBTypeId.TIME_TZ,
  DuckDBTypeId.INTERVAL,
  DuckDBTypeId.BLOB,
  DuckDBTypeId.BIT,
]);

/**
 * The client's JS values, except where it has none or a poor one: a date or timestamp a JS Date cannot
 * hold (`infinity`, year 294247) comes as the engine's text instead of failing the whole query, and
 * so do TEXT_TYPES. Nested values (lists, structs, maps) go through the same rules.
 */
const readValue: DuckDBValueConverter<unknown> = (value, type, self) => {
  if (value === null) return null;
  if (TEXT_TYPES.has(type.typeId)) return String(value);
  try {
    return JSDuckDBValueConverter(value, type, self as unknown as typeof JSDuckDBValueConverter);
  } catch (error: unknown) {
    if (!(error instanceof Error && /out of range for JS Date/.test(error.message))) throw error;
    // The client prints infinite dates as far-off days; the engine keeps them as ±(2^31 - 1) days.
    if (value instanceof DuckDBDateValue && Math.abs(value.days) === INFINITE_DAYS)
      return value.days > 0 ? 'infinity' : '-infinity';
    return String(value);
  }
};

/**
 * A row as the engine's client made it (an array of values, or an object: plainRow), with toPlain
 * applied to its values in place: a new object per row cost about as much as reading the row from the
 * engine (26 s more for 3.5 M rows of eleven columns, against 30 s for the read).
 */
function plainValues(row: unknown[]): unknown[] {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v === 'bigint' || (typeof v === 'object' && v !== null)) row[i] = toPlain(v);
  }
  return row;
}

/** plainValues of a row object (one loop for both, `for…in` over the arrays, made 1 M rows of CSV 10–15 % slower). */
function plainRow(row: Record<string, unknown>): Row {
  for (const key in row) {
    const v = row[key];
    if (typeof v === 'bigint' || (typeof v === 'object' && v !== null)) row[key] = toPlain(v);
  }
  return row;
}

/**
 * The embedded DuckDB database: the only module that imports the engine's client.
 * Method names say what they materialise: `run` returns nothing, `all` reads every row.
 */
export class Database {
  /** Where `materialize` writes working tables (bulk mode, setWorkingFiles; undefined: temporary tables). */
  private scratchDir: string | undefined;
  /** Whether bulk mode is on (setBulkMode). */
  private bulkMode = false;
  private scratchFiles = 0;
  /** The files behind each file-backed working view. */
  private readonly viewFiles = new Map<string, string[]>();
  /**
   * Every temporary view this connection made (file-backed, plain, or over a table's row ids): which
   * working relations are views is known without asking the catalogue, a statement per relation made
   * (a first load of 562 small landing files asked it 605 times, 1.4 s).
   */
  private readonly workingViews = new Set<string>();
  /** Background writes of the database file to the disk, awaited before a commit (flushBehind). */
  private readonly flushes: Promise<void>[] = [];
  /** Working files being deleted in the background (see removeLater). */
  private readonly removals = new Set<Promise<void>>();
  /** The background file operations (flushes, deletions), two at most at once in the default pool (background.ts). */
  private readonly background = new BackgroundFileOps(backgroundLimit(process.env));
  /** A descriptor of the database file for flushBehind, open until close. */
  private syncFd: number | undefined;
  /** Whether bulk mode raised the block allocator's memory (see setBulkMode). */
  private blockAllocatorRaised = false;
  /** The first background sync of a file that failed in the open transaction (syncFileBehind). */
  private syncFailure: Error | undefined;
  /** Whether `transaction` has one open. */
  private inTransaction = false;
  /** Why the open transaction was interrupted (see interrupt), until it ends. */
  private interruptReason: string | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly path: string,
    /** Whether CARELAKE_MEMORY_LIMIT set the memory limit (it then holds for all work). */
    private readonly memoryConfigured: boolean,
    /** The memory limit set at open (CARELAKE_MEMORY_LIMIT or the default), as the engine reads it. */
    private readonly memoryLimit: string,
  ) {}

  /** Opens (creating if needed) the database file at `path`, or an in-memory one for ':memory:'. */
  static async open(path: string, options: Record<string, string> = {}): Promise<Database> {
    checkDatabaseFile(path);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options);
    } catch (error: unknown) {
      const message = errorMessage(error);
      // The engine's own words for a file another process holds (not any message with "block" in it).
      if (/Could not set lock on file|Conflicting lock/i.test(message)) {
        throw new DatabaseInUseError(
          `the database ${path} is in use by another carelake process (${message.split('\n')[0]})`,
          { cause: error },
        );
      }
      throw new EngineError(`cannot open the database ${path}: ${message}`, '', { cause: error });
    }
    const connection = await instance.connect();
    if (path !== ':memory:') {
      // However the engine read the path, the database must be that file, not one in memory.
      const reader = await connection.runAndReadAll(
        'SELECT path FROM duckdb_databases() WHERE database_name = current_database()',
      );
      const opened = reader.getRowObjects()[0]?.['path'];
      if (typeof opened !== 'string' || opened === '') {
        connection.closeSync();
        instance.closeSync();
        throw new NotADatabaseError(`${path} was not opened as a database file: choose another --db`);
      }
    }
    for (const setting of engineSettings(path, process.env)) await connection.run(setting);
    return new Database(
      instance,
      connection,
      path,
      process.env['CARELAKE_MEMORY_LIMIT'] !== undefined,
      memoryLimitSetting(process.env),
    );
  }

  async run(sql: string, params?: Params): Promise<void> {
    this.stopIfInterrupted(sql);
    const started = traceStart();
    try {
      if (params === undefined) await this.connection.run(sql);
      else await this.connection.run(sql, params as DuckDBValue[] | Record<string, DuckDBValue>);
      trace(sql, started);
    } catch (error: unknown) {
      throw this.failure(error, sql);
    }
  }

  /**
   * Stops the open transaction: the engine cancels the statement running now, and every later statement
   * of the transaction fails, all with an InterruptedError whose message is `reason`, so the caller's
   * transaction rolls back (its ROLLBACK runs). Without an open transaction nothing happens: work outside
   * one (a report after a commit) is not cut short.
   */
  interrupt(reason: string): void {
    if (!this.inTransaction || this.interruptReason !== undefined) return;
    this.interruptReason = reason;
    this.connection.interrupt();
  }

  private stopIfInterrupted(sql: string): void {
    if (this.interruptReason !== undefined) throw new InterruptedError(this.interruptReason, sql);
  }

  /** The error a failed statement throws: the reason of an interrupt, else the engine's message. */
  private failure(error: unknown, sql: string): EngineError {
    if (this.interruptReason !== undefined)
      return new InterruptedError(this.interruptReason, sql, { cause: error });
    return new EngineError(errorMessage(error), sql, { cause: error });
  }

  /** Runs a query and reads all rows as plain objects (BIGINT → number when safe, timestamps as text). */
  async all<T extends Row = Row>(sql: string, params?: Params): Promise<T[]> {
    this.stopIfInterrupted(sql);
    const started = traceStart();
    try {
      const reader =
        params === undefined
          ? await this.connection.runAndReadAll(sql)
          : await this.connection.runAndReadAll(sql, params as DuckDBValue[] | Record<string, DuckDBValue>);
      trace(sql, started);
      return reader.convertRowObjects(readValue).map((r) => plainRow(r) as T);
    } catch (error: unknown) {
      throw this.failure(error, sql);
    }
  }

  /**
   * Runs a query and reads its rows batch by batch (the engine's chunks, at most 2,048 rows each; a row
   * is an array of plain values like those of `all`, in column order, so two columns may share a name),
   * for results too large to hold at once: only the batch being read is in memory. The column names
   * are known before the first batch, even when there is none.
   */
  async stream(sql: string): Promise<{ columns: string[]; batches: AsyncIterable<unknown[][]> }> {
    this.stopIfInterrupted(sql);
    const started = traceStart();
    let result;
    try {
      result = await this.connection.stream(sql);
    } catch (error: unknown) {
      // Text with no statement (blanks, comments) fails with this and no other message: the client
      // cannot extract a statement from it (a syntax error says "Failed to extract statements: …").
      const text = errorMessage(error);
      const message =
        text === 'Error in native callback' && (await this.isWithoutStatement(sql))
          ? 'no statement to run: the query is empty or only comments'
          : text;
      throw new EngineError(message, sql, { cause: error });
    }
    const chunks = result.yieldConvertedRows(readValue);
    async function* batches(): AsyncGenerator<unknown[][]> {
      try {
        for await (const rows of chunks) yield rows.map(plainValues);
        trace(sql, started);
      } catch (error: unknown) {
        throw new EngineError(errorMessage(error), sql, { cause: error });
      }
    }
    return { columns: result.columnNames(), batches: batches() };
  }

  /**
   * How many statements `sql` holds, as the engine's parser splits it (0 for none); undefined when it
   * cannot be parsed.
   */
  async statementCount(sql: string): Promise<number | undefined> {
    try {
      return (await this.connection.extractStatements(sql)).count;
    } catch {
      return (await this.isWithoutStatement(sql)) ? 0 : undefined;
    }
  }

  /**
   * The plans of one statement, without running it (`EXPLAIN` with every plan: the logical plan as
   * bound, as optimised, and the physical plan): each operator's name, its details (a scanned table as
   * `Table`, a table function as `Function`) and its inputs. Views, CTEs and table functions that take
   * SQL text (`query`) are expanded in them, so they name what the statement reads whatever its text
   * spells; the bound plan still scans a table the optimiser answers from statistics (`COUNT(*)`).
   * Fails as the statement would at its binding.
   */
  async plan(sql: string): Promise<PlanNode[]> {
    await this.run(`SET explain_output = 'all'`);
    try {
      const rows = await this.all<{ explain_value: string }>(`EXPLAIN (FORMAT JSON) ${sql}`);
      return rows.flatMap((r) => JSON.parse(r.explain_value) as PlanNode[]);
    } finally {
      await this.run('RESET explain_output');
    }
  }

  /** Whether `sql` holds no statement: the client fails to extract from it, with its generic message. */
  private async isWithoutStatement(sql: string): Promise<boolean> {
    try {
      return (await this.connection.extractStatements(sql)).count === 0;
    } catch (error: unknown) {
      return error instanceof Error && error.message === 'Error in native callback';
    }
  }

  async one<T extends Row = Row>(sql: string, params?: Params): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params);
    return rows[0];
  }

  /** Whether `relation` has no row (reads at most one). */
  async isEmpty(relation: string): Promise<boolean> {
    return (
      ((await this.one<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${relation} LIMIT 1)`))?.n ??
        0) === 0
    );
  }

  /**
   * Drops this connection's working relations (temporary tables, and the views of bulk mode with their
   * files) whose name starts with `prefix` (all by default) except those in `keep` or starting with
   * `keepPrefix`, so the memory they hold goes back to the engine before the next large statement.
   */
  async dropTempTables(prefix = '', keep: readonly string[] = [], keepPrefix?: string): Promise<void> {
    const rows = await this.all<{ name: string; view: boolean }>(
      `SELECT table_name AS name, false AS view FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)
       UNION ALL SELECT view_name, true FROM duckdb_views() WHERE temporary AND NOT internal AND starts_with(view_name, ?)
       ORDER BY 1`,
      [prefix, prefix],
    );
    for (const { name, view } of rows)
      if (!keep.includes(name) && !(keepPrefix !== undefined && name.startsWith(keepPrefix)))
        await this.dropKnown(name, view);
  }

  /**
   * Bulk mode, for an update that writes millions of rows (a first load, a rebuild), while `on`:
   * - joins keep their written sides (the optimizer's `build_side_probe_side` off). A table written
   *   earlier in the open transaction has no statistics yet, so the optimizer takes it for empty and
   *   builds its hash table on it: right for the small tables of an incremental update, wrong for
   *   millions of rows (a 1M-people first load spent 2 to 3 times the CPU in such joins). Statements
   *   name the larger input first, so the written order builds on the smaller one.
   * - `materialize` writes working tables as Parquet files in a folder next to the database and reads
   *   them through temporary views. A temporary table dropped inside a transaction keeps its memory
   *   until the commit, so an update's working tables piled up to several times the memory cap and
   *   everything spilled; files are outside the transaction and are deleted as soon as they are
   *   replaced or dropped.
   * - the engine keeps the memory it frees for its own reuse instead of returning it to the system:
   *   its blocks (hash tables, sorts, cached table data) come from its block allocator, which keeps up
   *   to the memory limit of them (`block_allocator_memory`; the engine cannot lower it again, so it
   *   stays for this database's life), and a large release no longer flushes the allocator's free
   *   memory at once (`allocator_bulk_deallocation_flush_threshold`). Memory given back is taken again
   *   a page fault per 4 KiB: a 1M-people first load took 4.1 M page faults and 16-20 CPU-s in the
   *   kernel, with these settings 2.1-2.3 M and 10-14 CPU-s, 68.8-71.2 s against 73.3-76.4 s (peak memory
   *   3.2-3.3 GB either way). Not for incremental updates: their blocks are few and re-read, and
   *   keeping them took more memory (0.9 GB instead of 0.7) and 0.1-0.2 s more.
   */
  async setBulkMode(on: boolean): Promise<void> {
    await this.run(on ? "SET disabled_optimizers = 'build_side_probe_side'" : 'RESET disabled_optimizers');
    await this.run(
      on
        ? `SET allocator_bulk_deallocation_flush_threshold = '${BULK_FLUSH_THRESHOLD}'`
        : 'RESET allocator_bulk_deallocation_flush_threshold',
    );
    await this.run(
      on ? `SET allocator_flush_threshold = '${BULK_FLUSH_THRESHOLD}'` : 'RESET allocator_flush_threshold',
    );
    // Raised once per database: the engine refuses to set it again lower, and it stays.
    if (on && !this.blockAllocatorRaised) {
      await this.run(`SET block_allocator_memory = '${this.memoryLimit}'`);
      this.blockAllocatorRaised = true;
    }
    await this.setWorkingFiles(on);
    this.bulkMode = on;
  }

  /**
   * While `on`, `materialize` writes working relations as Parquet files in a folder next to the database
   * (bulk mode does this too). A temporary table dropped inside a transaction keeps its memory until the
   * commit, and the engine cannot spill it: an incremental update of 360 small landing files, each
   * staged in a table of its own, ran out of its memory limit. Turning it off drops every working
   * relation and deletes the folder in the background.
   */
  async setWorkingFiles(on: boolean): Promise<void> {
    if (on === (this.scratchDir !== undefined)) return;
    if (on) {
      // A folder of an earlier bulk mode may still be being deleted: it is gone before this one starts.
      await this.filesRemoved();
      this.scratchDir =
        this.path === ':memory:'
          ? fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-work-'))
          : Database.workDir(this.path);
      fs.rmSync(this.scratchDir, { recursive: true, force: true });
      makeDirectory(this.scratchDir);
    } else {
      await this.dropTempTables();
      // The folder goes once its files are deleted (they are being deleted in the background).
      const dir = this.scratchDir;
      if (dir !== undefined) {
        this.removeLater(dir, Promise.allSettled([...this.removals]));
      }
      this.scratchDir = undefined;
      this.viewFiles.clear();
    }
  }

  /** Drops the working relation `name` (a table, or a view and the files behind it), if there is one. */
  async drop(name: string): Promise<void> {
    await this.dropWorking(name);
  }

  /**
   * Lowers the engine's memory limit to `bytes` for the statements that follow, never above the 2.5 GB
   * default; undefined sets the default again. Every block a scan loads stays cached in memory taken
   * fresh from the system until the limit is reached, and taking it (a page fault per 4 KiB) costs more
   * than reading an evicted block again: an incremental update of 11,451 rows on a 1M-people lakehouse
   * loaded 1.3 GB (335,000 page faults, a fifth of its CPU time) to keep a few thousand rows of each
   * large table. Work that outgrows the lower limit spills, as it would at the default. A limit set
   * with CARELAKE_MEMORY_LIMIT holds for all work: this does nothing then, so a user whose work needs
   * more memory can always give it.
   */
  async limitMemory(bytes?: number): Promise<void> {
    if (this.memoryConfigured) return;
    const limit =
      bytes === undefined
        ? DEFAULT_MEMORY_LIMIT
        : `${Math.max(1, Math.floor(Math.min(bytes, DEFAULT_MEMORY_LIMIT_BYTES)))} bytes`;
    await this.run(`SET memory_limit = '${limit}'`);
  }

  /**
   * Materialises `sql` as the working relation `name` (read-only afterwards): a temporary table, or in
   * bulk mode a Parquet file read through a temporary view of that name. With `position`, the relation
   * gets that column: each row's position in the order `sql` produced it (the caller keeps that order
   * with `preserve_insertion_order`), counted from an offset the caller reads as the minimum. With
   * `append` (bulk mode only; not with `position`, which counts per file), the rows are added to the
   * relation's earlier files instead of replacing them.
   */
  async materialize(
    name: string,
    sql: string,
    options: { position?: string; append?: boolean } = {},
  ): Promise<number> {
    const dir = this.scratchDir;
    const position = options.position;
    if (dir === undefined && position === undefined) {
      // A view under this name is not replaced by a table: dropped first.
      if (this.workingViews.has(name)) await this.dropWorking(name);
      return this.count(`CREATE OR REPLACE TEMP TABLE ${name} AS ${sql}`);
    }
    if (dir === undefined) {
      // A table's row ids follow its insertion order; a view over it names them.
      await this.dropWorking(name);
      const rows = await this.count(`CREATE TEMP TABLE ${name}__rows AS ${sql}`);
      await this.run(`CREATE TEMP VIEW ${name} AS SELECT *, rowid AS ${position} FROM ${name}__rows`);
      this.workingViews.add(name);
      return rows;
    }
    this.scratchFiles += 1;
    const file = path.join(dir, `${name}-${this.scratchFiles}.parquet`);
    const rows = await this.writeParquet(file, sql);
    const files = [...(options.append ? (this.viewFiles.get(name) ?? []) : []), file];
    if (options.append && this.viewFiles.has(name)) {
      this.viewFiles.delete(name);
      this.workingViews.delete(name);
      await this.run(`DROP VIEW temp.main.${sqlIdent(name)}`);
    } else await this.dropWorking(name);
    const list = `[${files.map(sqlString).join(', ')}]`;
    await this.run(
      position === undefined
        ? `CREATE TEMP VIEW ${name} AS SELECT * FROM read_parquet(${list})`
        : `CREATE TEMP VIEW ${name} AS SELECT * EXCLUDE (file_row_number), file_row_number AS ${position}
           FROM read_parquet(${list}, file_row_number = true)`,
    );
    this.viewFiles.set(name, files);
    this.workingViews.add(name);
    return rows;
  }

  /**
   * Writes the rows of `sql` to the Parquet file `file` (replaced if it exists) and returns how many.
   * Uncompressed: a working file is written once and read a few times within the update, so compressing
   * it only costs CPU (1M-people first load: 188-190 CPU-s, not 199-200 with Snappy). Format version 2
   * stores text that is not dictionary-encoded with its lengths apart (DELTA_LENGTH_BYTE_ARRAY): as fast
   * to write, and a wide file of 2.15 M records reads in 0.59-0.66 CPU-s instead of 0.75-0.87, from a
   * file a fifth smaller.
   */
  async writeParquet(file: string, sql: string): Promise<number> {
    return this.count(
      `COPY (${sql}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION uncompressed, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT ${WORKING_DICTIONARY_LIMIT})`,
    );
  }

  /**
   * Starts writing `file` out to the disk in the background; the commit of the open transaction waits
   * for it (as for flushBehind), so a file the transaction refers to is on the disk before it commits.
   */
  syncFileBehind(file: string): void {
    this.flushes.push(
      this.background
        .run(async () => {
          const handle = await fs.promises.open(file, 'r');
          try {
            await handle.datasync();
          } finally {
            await handle.close();
          }
        })
        .catch((error: unknown) => {
          this.syncFailure ??= new Error(`cannot write ${file} to the disk: ${errorMessage(error)}`);
        }),
    );
  }

  /** Runs a statement that reports the rows it wrote (COPY, CREATE TABLE AS, INSERT) and returns them. */
  private async count(sql: string): Promise<number> {
    return Number((await this.all<{ Count: number | bigint }>(sql))[0]?.Count ?? 0);
  }

  /**
   * Defines the working relation `name` as a temporary view of `sql`: nothing is written, every read
   * computes it. For a relation read a few times whose rows cost less to compute than to write and read.
   */
  async defineView(name: string, sql: string): Promise<void> {
    await this.dropWorking(name);
    await this.run(`CREATE TEMP VIEW ${name} AS ${sql}`);
    this.workingViews.add(name);
  }

  /**
   * `INSERT INTO name sql` for a working relation made by `materialize`. In bulk mode the rows go to a
   * new file of the relation (cast to its columns, by position), so it stays a file that every thread
   * scans: a temporary table written in the open transaction is scanned by one thread (a three-way
   * join of 2.15 M-row tables: 0.46 s from such tables, 0.28 s from files).
   */
  async append(name: string, sql: string): Promise<void> {
    if (!this.viewFiles.has(name)) {
      await this.run(`INSERT INTO ${name} ${sql}`);
      return;
    }
    const cols = await this.all<{ column_name: string; column_type: string }>(`DESCRIBE ${name}`);
    const names = cols.map((c) => sqlIdent(c.column_name));
    await this.materialize(
      name,
      `SELECT ${cols.map((c, i) => `CAST(${names[i]} AS ${c.column_type}) AS ${names[i]}`).join(', ')}
      FROM (${sql}) AS appended(${names.join(', ')})`,
      { append: true },
    );
  }

  /**
   * `UPDATE table alias SET … [FROM from] WHERE where`, for a few rows of a large table: outside bulk
   * mode the rows are deleted and appended again with their new values. DuckDB's checkpoint rewrites
   * every column an UPDATE touched in every row group it touched: a few thousand changed rows spread
   * over a table of millions made the commit of an incremental update rewrite most of the table
   * (measured: 14 columns of 1,500 rows in 2.15 M took 6.7 s to checkpoint); deleted rows cost a
   * bitmap and appended rows a new tail. Row order is not kept (no statement relies on it). In bulk
   * mode (most rows are new to the transaction anyway) it is a plain UPDATE. `where` must match at
   * most one `from` row per table row, as an UPDATE's join must.
   */
  async updateRows(
    table: string,
    alias: string,
    set: Readonly<Record<string, string>>,
    where: string,
    from?: string,
  ): Promise<void> {
    const assignments = Object.entries(set);
    if (this.bulk) {
      await this.run(
        `UPDATE ${table} ${alias} SET ${assignments.map(([c, e]) => `${sqlIdent(c)} = ${e}`).join(', ')}${from ? ` FROM ${from}` : ''} WHERE ${where}`,
      );
      return;
    }
    const work = 'updated_rows__work';
    await this.run(
      `CREATE OR REPLACE TEMP TABLE ${work} AS SELECT ${alias}.rowid AS _updated_rowid, ${alias}.* REPLACE (${assignments
        .map(([c, e]) => `${e} AS ${sqlIdent(c)}`)
        .join(', ')}) FROM ${table} ${alias}${from ? `, ${from}` : ''} WHERE ${where}`,
    );
    const n = (await this.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${work}`))?.n ?? 0;
    if (n > 0) {
      await this.run(`DELETE FROM ${table} WHERE rowid IN (SELECT _updated_rowid FROM ${work})`);
      await this.run(`INSERT INTO ${table} BY NAME SELECT * EXCLUDE (_updated_rowid) FROM ${work}`);
    }
    await this.run(`DROP TABLE ${work}`);
  }

  /**
   * The folder of the files the lakehouse at `dbPath` keeps beside its database (bronze segments): a
   * relative path in a statement is looked for there first (`file_search_path`).
   */
  static filesDir(dbPath: string): string {
    return `${path.resolve(dbPath)}.bronze`;
  }

  /** The folder of bulk mode's working files next to the database at `dbPath`. */
  static workDir(dbPath: string): string {
    return `${dbPath}.work`;
  }

  /** Whether bulk mode is on (working relations are files). */
  get bulk(): boolean {
    return this.bulkMode;
  }

  /** Whether `materialize` writes working relations as files (bulk mode, setWorkingFiles). */
  get workingFiles(): boolean {
    return this.scratchDir !== undefined;
  }

  /**
   * Drops the working relation `name` (table or view) and the files behind a view. Every temporary view
   * is made by this class (workingViews); `IF EXISTS`, since a view made in a transaction that rolled
   * back is gone.
   */
  private async dropWorking(name: string): Promise<void> {
    await this.dropKnown(name, this.workingViews.has(name));
  }

  private async dropKnown(name: string, view: boolean): Promise<void> {
    this.workingViews.delete(name);
    if (view) {
      await this.run(`DROP VIEW IF EXISTS temp.main.${sqlIdent(name)}`);
      for (const file of this.viewFiles.get(name) ?? []) this.removeLater(file);
      this.viewFiles.delete(name);
      await this.run(`DROP TABLE IF EXISTS temp.main.${sqlIdent(`${name}__rows`)}`);
    } else await this.run(`DROP TABLE IF EXISTS temp.main.${sqlIdent(name)}`);
  }

  /**
   * With CARELAKE_TRACE_SQL set, prints the engine's memory by purpose and its spilled bytes after
   * `label` to stderr (for profiling); does nothing otherwise.
   */
  async traceMemory(label: string): Promise<void> {
    if (!TRACING) return;
    const rows = await this.all<{ tag: string; mb: number; spilled: number }>(
      `SELECT tag, ROUND(memory_usage_bytes / 1e6) AS mb, ROUND(temporary_storage_bytes / 1e6) AS spilled
       FROM duckdb_memory() WHERE memory_usage_bytes > 0 OR temporary_storage_bytes > 0 ORDER BY 2 DESC`,
    );
    process.stderr.write(
      `[memory after ${label}] ${rows.map((r) => `${r.tag} ${r.mb} MB${r.spilled ? ` (+${r.spilled} MB spilled)` : ''}`).join(', ')}\n`,
    );
  }

  /**
   * Starts writing the database file's data out to the disk in the background (flush-behind), while
   * the update goes on: the engine writes the blocks of large tables to the file as it goes, and the
   * commit waits until every one of them is on the disk. A first load of 1M people left 1.1-1.5 s of
   * such writes to its commit (0.3 s of it CPU), 0.5-0.6 s when its steps started them as they ended.
   * The commit still syncs whatever was written since; a failed flush is left to it.
   */
  flushBehind(): void {
    if (this.path === ':memory:') return;
    // The engine holds the database file with a POSIX record lock, which a process loses when it closes
    // any descriptor of that file: a descriptor opened for each flush and closed after it let other
    // processes open the database in the middle of an update. One descriptor serves every flush and
    // is closed after the engine has closed the database (close).
    this.syncFd ??= fs.openSync(this.path, 'r');
    const fd = this.syncFd;
    this.flushes.push(
      this.background
        .run(
          () => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
        )
        .catch(() => undefined),
    );
  }

  /**
   * Tracks the background deletion of working files. Deleting a large file blocks until the kernel has
   * finished writing its pages out to the disk, if it started: deleted in line, the working files of a
   * 1M-people first load stopped the update for 3.4-4.8 s (one 289 MB file 2.5 s, another of 158 MB
   * 21 ms). A failed deletion leaves a file in the working folder, which the next bulk mode clears.
   * `target` (a file, or a folder with what it holds) is deleted once `after` settles.
   */
  private removeLater(target: string, after: Promise<unknown> = Promise.resolve()): void {
    const tracked: Promise<void> = after
      .then(() => this.background.run(() => fs.promises.rm(target, { recursive: true, force: true })))
      .then(
        () => undefined,
        () => undefined,
      );
    this.removals.add(tracked);
    void tracked.then(() => this.removals.delete(tracked));
  }

  /** Resolves once every working file deleted so far is gone (the update's last step, before it returns). */
  async filesRemoved(): Promise<void> {
    while (this.removals.size > 0) await Promise.all([...this.removals]);
  }

  /** How many background flushes have not been awaited yet (a commit or rollback awaits them all). */
  get pendingFlushes(): number {
    return this.flushes.length;
  }

  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when it throws; either waits
   * for the background flushes `fn` started first.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    this.inTransaction = true;
    try {
      const result = await fn();
      await Promise.all(this.flushes.splice(0));
      // A file the transaction refers to that did not reach the disk fails it (see syncFileBehind).
      if (this.syncFailure !== undefined) throw this.syncFailure;
      await this.run('COMMIT');
      return result;
    } catch (error: unknown) {
      await Promise.all(this.flushes.splice(0));
      // The rollback (and whatever the caller does after it) runs even when the transaction was interrupted.
      this.inTransaction = false;
      this.interruptReason = undefined;
      try {
        await this.run('ROLLBACK');
      } catch {
        // the transaction may already be aborted by the engine; the original error matters
      }
      throw error;
    } finally {
      this.inTransaction = false;
      this.interruptReason = undefined;
      this.syncFailure = undefined;
    }
  }

  close(): void {
    const started = traceStart();
    if (started && this.path !== ':memory:' && fs.existsSync(`${this.path}.wal`))
      process.stderr.write(
        `[wal ${fs.statSync(`${this.path}.wal`).size} bytes before the checkpoint at close]\n`,
      );
    this.connection.closeSync();
    this.instance.closeSync();
    trace('(close: checkpoint)', started);
    // Closed only now, after the engine: closing it earlier released the engine's lock (flushBehind).
    if (this.syncFd !== undefined) fs.closeSync(this.syncFd);
    this.syncFd = undefined;
    if (this.scratchDir) fs.rmSync(this.scratchDir, { recursive: true, force: true });
    this.scratchDir = undefined;
    this.bulkMode = false;
    this.viewFiles.clear();
    this.workingViews.clear();
  }
}

/**
 * Quotes an SQL string literal. The engine's parser ends a literal at a NUL character, so a value
 * holding one (a landing file's header can) is spelled as literals joined by `chr(0)`: the same text.
 */
export function sqlString(value: string): string {
  const quoted = `'${value.replaceAll("'", "''")}'`;
  return value.includes('\0') ? `(${quoted.replaceAll('\0', "' || chr(0) || '")})` : quoted;
}

/** Quotes an SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
