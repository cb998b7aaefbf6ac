import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

/** A failed statement: keeps the SQL that failed and the engine's error as `cause`. */
export class EngineError extends Error {
  readonly sql: string;
  constructor(message: string, sql: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.sql = sql;
  }
}

/**
 * CARELAKE_TRACE_SQL=1 prints each statement's wall time and the process CPU time it took (all engine
 * threads) to stderr, for profiling; `=full` prints whole statements instead of their first 160 characters.
 */
const TRACE = process.env['CARELAKE_TRACE_SQL'];
interface TraceStart {
  readonly wall: number;
  readonly cpu: NodeJS.CpuUsage;
}
function traceStart(): TraceStart | undefined {
  return TRACE === '1' || TRACE === 'full' ? { wall: performance.now(), cpu: process.cpuUsage() } : undefined;
}
function trace(sql: string, started: TraceStart | undefined): void {
  if (started === undefined) return;
  const cpu = process.cpuUsage(started.cpu);
  const text = sql.replace(/\s+/g, ' ');
  process.stderr.write(
    `[sql ${Math.round(performance.now() - started.wall)} ms, cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms] ${TRACE === 'full' ? text : text.slice(0, 160)}\n`,
  );
}

/**
 * Engine settings (measured with `npm run bench`):
 * - FSST string compression off: analysing it doubles the cost of bulk writes on 2 cores. Dictionary
 *   compression stays on, since whole-table scans (incremental updates) read far fewer bytes; bulk
 *   appends of raw text turn it off for themselves (`withoutStringCompression`).
 *   CARELAKE_STRING_COMPRESSION=off turns it off everywhere (faster full loads, slower incremental
 *   updates, a file two to three times larger).
 * - insertion order not preserved: inserts and CREATE TABLE AS run on every thread without keeping
 *   batches in order. Queries that need an order say ORDER BY; a statement that needs the order of
 *   its input sets `preserve_insertion_order` for itself (bronze staging).
 * - memory capped at 3 GB unless CARELAKE_MEMORY_LIMIT says otherwise (DuckDB's own default is 80% of
 *   the machine); larger work spills to a temporary folder next to the database.
 */
const STRING_COMPRESSION_OFF = "SET disabled_compression_methods = 'fsst,dictionary,dict_fsst'";
function engineSettings(env: NodeJS.ProcessEnv): string[] {
  return [
    env['CARELAKE_STRING_COMPRESSION'] === 'off'
      ? STRING_COMPRESSION_OFF
      : "SET disabled_compression_methods = 'fsst'",
    'SET preserve_insertion_order = false',
    `SET memory_limit = '${(env['CARELAKE_MEMORY_LIMIT'] ?? '3GB').replace(/[^0-9A-Za-z.]/g, '')}'`,
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

/**
 * The embedded DuckDB database: the only module that imports the engine's client.
 * Method names say what they materialise: `run` returns nothing, `all` reads every row.
 */
export class Database {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) the database file at `path`, or an in-memory one for ':memory:'. */
  static async open(path: string, options: Record<string, string> = {}): Promise<Database> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options);
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      if (/lock/i.test(message)) {
        throw new EngineError(
          `the database ${path} is in use by another carelake process (${message.split('\n')[0]})`,
          '',
          { cause: error },
        );
      }
      throw new EngineError(`cannot open the database ${path}: ${message}`, '', { cause: error });
    }
    const connection = await instance.connect();
    for (const setting of engineSettings(process.env)) await connection.run(setting);
    return new Database(instance, connection, path);
  }

  async run(sql: string, params?: Params): Promise<void> {
    const started = traceStart();
    try {
      if (params === undefined) await this.connection.run(sql);
      else await this.connection.run(sql, params as DuckDBValue[] | Record<string, DuckDBValue>);
      trace(sql, started);
    } catch (error: unknown) {
      throw new EngineError(error instanceof Error ? error.message : String(error), sql, { cause: error });
    }
  }

  /** Runs a query and reads all rows as plain objects (BIGINT → number when safe, timestamps as text). */
  async all<T extends Row = Row>(sql: string, params?: Params): Promise<T[]> {
    const started = traceStart();
    try {
      const reader =
        params === undefined
          ? await this.connection.runAndReadAll(sql)
          : await this.connection.runAndReadAll(sql, params as DuckDBValue[] | Record<string, DuckDBValue>);
      trace(sql, started);
      return reader.getRowObjectsJS().map((r) => toPlain(r) as T);
    } catch (error: unknown) {
      throw new EngineError(error instanceof Error ? error.message : String(error), sql, { cause: error });
    }
  }

  async one<T extends Row = Row>(sql: string, params?: Params): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params);
    return rows[0];
  }

  /**
   * Runs `fn` with dictionary string compression off: for bulk appends of raw, mostly distinct text,
   * where analysing compression costs about as much CPU as the rest of the write. Restores the
   * engine settings afterwards (a failed statement has already aborted the transaction then).
   */
  async withoutStringCompression<T>(fn: () => Promise<T>): Promise<T> {
    await this.run(STRING_COMPRESSION_OFF);
    try {
      return await fn();
    } finally {
      const restore = engineSettings(process.env)[0] ?? STRING_COMPRESSION_OFF;
      await this.run(restore).catch(() => undefined);
    }
  }

  /**
   * Drops this connection's temporary tables whose name starts with `prefix` (all by default) except
   * those in `keep`, so the memory they hold goes back to the engine before the next large statement.
   */
  async dropTempTables(prefix = '', keep: readonly string[] = []): Promise<void> {
    const rows = await this.all<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?) ORDER BY 1`,
      [prefix],
    );
    for (const { name } of rows)
      if (!keep.includes(name)) await this.run(`DROP TABLE IF EXISTS temp.main.${sqlIdent(name)}`);
  }

  /**
   * Bulk mode: join sides as written (the optimizer's `build_side_probe_side` off) while `on`. A table
   * written earlier in the open transaction has no statistics yet, so the optimizer takes it for empty
   * and builds its hash tables on it: right for the small tables of an incremental update, wrong when
   * the transaction has just written millions of rows (a 1M-people first load spent 2 to 3 times the
   * CPU in such joins). Statements name the larger input first, so the written order builds on the
   * smaller one.
   */
  async setBulkMode(on: boolean): Promise<void> {
    await this.run(on ? "SET disabled_optimizers = 'build_side_probe_side'" : 'RESET disabled_optimizers');
  }

  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.run('COMMIT');
      return result;
    } catch (error: unknown) {
      try {
        await this.run('ROLLBACK');
      } catch {
        // the transaction may already be aborted by the engine; the original error matters
      }
      throw error;
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Quotes an SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes an SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
