import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkDatabaseFile, Database, InterruptedError, NotADatabaseError } from '../engine/database.ts';
import { appendAudit, auditPathFor, auditTrailDamage } from '../privacy/audit.ts';
import {
  missingIngestedFiles,
  retainLanding,
  type LandingSummary,
  type RetentionPolicy,
} from '../privacy/retention.ts';
import { redactSsnText } from '../privacy/redact.ts';
import { hmacPads, KeyFileError, loadSsnKey } from '../privacy/ssn-key.ts';
import { BRONZE_ROWS_PREFIX, defineBronzeRows, ingestFile } from './bronze.ts';
import { compactSegments, defineBronzeViews, sweepSegments } from './bronze-store.ts';
import type { AccountingRow, FlowResult, RunContext } from './context.ts';
import { flowProgressDetails, logEvent, logEvents, timestampText, type EventOrigin } from './event-log.ts';
import { retireAllRows } from './change-feed.ts';
import { runGoldFact, runGoldPatients } from './gold.ts';
import {
  inspectFile,
  inspectFiles,
  scanLanding,
  stillBeingWritten,
  unchangedSince,
  type FileInspection,
  type LandingFile,
} from './landing.ts';
import { acquireLock, PipelineLockedError } from './lock.ts';
import { DERIVED_TABLES, ensureSchema } from './schema.ts';
import { runSilverFacts, runSilverPatients } from './silver.ts';
import type { IdentityStats } from '../identity/resolve.ts';
import { errorMessage, systemAdvice } from '../support/errors.ts';
import { makeDirectory } from '../support/files.ts';

export interface RunOptions {
  readonly dbPath: string;
  readonly landingDir: string;
  readonly fullRefresh?: boolean;
  /** Hours a claim or event waits for its patient before it is quarantined as an orphan (default 24). */
  readonly orphanGraceHours?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Told about long steps (a progress bar on a terminal). */
  readonly onProgress?: (label: string, done: number, total: number) => void;
  /** Told one line at a time about what happens (key creation, skipped files). */
  readonly onMessage?: (line: string) => void;
  /** The archive folder counted in the landing summary (default: landing-archive next to the database). */
  readonly archiveDir?: string;
  /** After a completed update, archive or delete ingested landing files older than this (D5). */
  readonly retainLanding?: RetentionPolicy;
  /**
   * Stops the update when aborted (the CLI aborts it on SIGINT and SIGTERM, with the signal's name as
   * the reason): the running statement is cancelled, the transaction rolls back, the run is recorded as
   * INTERRUPTED, and the result says so. Aborted after the commit, it changes nothing.
   */
  readonly signal?: AbortSignal;
}

export interface FileDecision {
  readonly fileName: string;
  readonly action:
    'ingested' | 'skipped' | 'duplicate_content' | 'changed_after_ingestion' | 'deferred' | 'ignored';
  readonly note?: string;
}

export interface RunResult {
  readonly runId: string;
  /** INTERRUPTED: stopped through `RunOptions.signal` before its commit (rolled back, like FAILED). */
  readonly status: 'COMPLETED' | 'FAILED' | 'INTERRUPTED';
  readonly startedAt: string;
  readonly seconds: number;
  readonly fullRefresh: boolean;
  readonly files: FileDecision[];
  readonly flows: FlowResult[];
  readonly accounting: AccountingRow[];
  readonly identity?: IdentityStats;
  readonly warnings: string[];
  readonly error?: string;
  readonly landing?: LandingSummary;
  /** Set when a full refresh re-hashed every SSN under a new key (key rotation). */
  readonly keySwitch?: { readonly from: string; readonly to: string };
}

/**
 * The engine's memory limit for an incremental update that brings `newBytes` of landing files: 384 MiB
 * plus four times those bytes (never above the 2.5 GB default, and not applied when CARELAKE_MEMORY_LIMIT
 * sets a limit; see Database.limitMemory). Every block a scan loads is kept in memory taken fresh from the
 * system up to the limit, and a page taken fresh costs more than reading an evicted block again from the
 * page cache; too low a limit reads too many blocks again (figures in src/runner/CONTEXT.md). A first
 * load or rebuild keeps the default.
 */
export const incrementalMemoryLimit = (newBytes: number): number => 384 * 2 ** 20 + 4 * newBytes;

/** More landing files than this in an incremental update are staged in working files (see below). */
const MANY_FILES = 32;

const tsLiteral = (d: Date): string => `TIMESTAMP '${timestampText(d)}'`;

async function pipelineId(db: Database): Promise<string> {
  const row = await db.one<{ value: string }>(`SELECT value FROM carelake_meta WHERE key = 'pipeline_id'`);
  if (row) return row.value;
  const id = crypto.randomUUID();
  await db.run(`INSERT INTO carelake_meta VALUES ('pipeline_id', ?)`, [id]);
  return id;
}

/** A run refused before it started (another key, missing landing files). */
export class RunRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRefusedError';
  }
}

/** A run refused because its audit entry could not be written (so none is attempted). */
export class AuditTrailRefusedError extends RunRefusedError {
  constructor(message: string) {
    super(message);
    this.name = 'AuditTrailRefusedError';
  }
}

/**
 * Checks the key against the one that hashed the stored data. A full refresh may switch keys (it
 * re-hashes everything from the landing files): the stored key id is returned to be switched inside
 * the refresh's transaction. Any other run with another key is refused.
 */
async function checkKey(db: Database, keyId: string, fullRefresh: boolean): Promise<string | undefined> {
  const row = await db.one<{ value: string }>(`SELECT value FROM carelake_meta WHERE key = 'ssn_key_id'`);
  if (!row) {
    await db.run(`INSERT INTO carelake_meta VALUES ('ssn_key_id', ?)`, [keyId]);
  } else if (row.value !== keyId) {
    if (fullRefresh) return row.value;
    throw new RunRefusedError(
      `the SSN key (id ${keyId}) differs from the key that hashed the stored data (id ${row.value}); ` +
        'refusing to mix hashes. To rotate the key: (1) make sure every ingested landing file is in the landing folder ' +
        '(`carelake landing status`; `carelake landing restore` brings archived files back); (2) `carelake keys rotate` ' +
        '(or set the new key in CARELAKE_SSN_KEY); (3) `carelake run --full-refresh`, which rebuilds every table from the ' +
        'landing files, re-hashing each SSN under the new key, and switches the key id in the same transaction. ' +
        'To keep the old key instead, restore it (`carelake keys rotate` kept it as <key file>.previous).',
    );
  }
  return undefined;
}

/** Decides, per landing file, whether it is ingested now (exactly once per file and per content). */
async function planFiles(
  db: Database,
  files: readonly LandingFile[],
): Promise<{ toIngest: (LandingFile & { inspection: FileInspection })[]; decisions: FileDecision[] }> {
  const known = await db.all<{
    file_name: string;
    content_sha256: string;
    size_bytes: number;
    modified_at: Date;
    note: string | null;
  }>('SELECT file_name, content_sha256, size_bytes, modified_at, note FROM ingest_files');
  const byName = new Map(known.map((k) => [k.file_name, k]));
  const byHash = new Map(known.map((k) => [k.content_sha256, k.file_name]));
  const toIngest: (LandingFile & { inspection: FileInspection })[] = [];
  const decisions: FileDecision[] = [];
  const now = Date.now();
  // New names are inspected first, all at once (on several threads when they are large).
  const inspections = await inspectFiles(files.filter((f) => !byName.has(f.fileName)));
  for (const f of files) {
    const prior = byName.get(f.fileName);
    if (prior) {
      if (prior.size_bytes === f.sizeBytes && prior.modified_at.getTime() === f.modifiedAt.getTime()) {
        decisions.push({ fileName: f.fileName, action: 'skipped' });
        continue;
      }
      const sha = (await inspectFile(f.filePath)).sha256;
      if (sha === prior.content_sha256) {
        decisions.push({ fileName: f.fileName, action: 'skipped' });
        continue;
      }
      const note = `changed after ingestion (content ${sha.slice(0, 12)}); not ingested again`;
      decisions.push({ fileName: f.fileName, action: 'changed_after_ingestion', note });
      if (prior.note !== note)
        await db.run('UPDATE ingest_files SET note = ? WHERE file_name = ?', [note, f.fileName]);
      continue;
    }
    const inspection = inspections.get(f.filePath) ?? (await inspectFile(f.filePath));
    // A file still being written is not recorded: a later run reads it whole.
    const writing = stillBeingWritten(f, inspection, now);
    if (writing !== undefined) {
      decisions.push({ fileName: f.fileName, action: 'deferred', note: writing });
      continue;
    }
    const sha = inspection.sha256;
    const same = byHash.get(sha);
    if (same !== undefined) {
      const note = `same content as ${same}; not ingested`;
      decisions.push({ fileName: f.fileName, action: 'duplicate_content', note });
      await db.run(
        `INSERT INTO ingest_files VALUES (?, ?, ?, ?::TIMESTAMP, ?, ?, ?::TIMESTAMP, 'duplicate_content', 0, NULL, now()::TIMESTAMP, ?)`,
        [
          f.fileName,
          f.filePath,
          f.entity,
          f.extractedAt.toISOString(),
          sha,
          f.sizeBytes,
          f.modifiedAt.toISOString(),
          note,
        ],
      );
      continue;
    }
    byHash.set(sha, f.fileName);
    toIngest.push({ ...f, inspection });
    decisions.push({ fileName: f.fileName, action: 'ingested' });
  }
  return { toIngest, decisions };
}

/** What an interrupted run says, with the abort's reason (a signal's name) when it has one. */
function interruptedMessage(reason: unknown): string {
  const why = typeof reason === 'string' && reason ? ` by ${reason}` : '';
  return `interrupted${why} before the update committed: it was rolled back, no table changed, and the next run ingests its files`;
}

/**
 * Records a failed or interrupted update in the event log and pipeline_runs. The update has rolled back
 * by then; recording it is a write of its own, which fails too when what failed the update is the disk
 * (full) or the database itself. Such a failure never replaces the update's own error: it is returned,
 * for the caller to add to that error (the update's row then stays RUNNING until the next run marks it
 * INTERRUPTED).
 */
export async function recordFailure(
  db: Database,
  origin: EventOrigin,
  failure: { runId: string; interrupted: boolean; message: string; className: string },
): Promise<string | undefined> {
  const { runId, interrupted, message } = failure;
  try {
    // Lakeflow's state for an update stopped by a user is CANCELED.
    await logEvent(db, origin, {
      eventType: 'update_progress',
      level: interrupted ? 'WARN' : 'ERROR',
      message: `Update ${runId} is ${interrupted ? 'CANCELED' : 'FAILED'}: ${message}`,
      details: { update_progress: { state: interrupted ? 'CANCELED' : 'FAILED' } },
      error: { fatal: true, exceptions: [{ class_name: failure.className, message }] },
    });
    await db.run(
      `UPDATE pipeline_runs SET finished_at = ?::TIMESTAMP, status = ?, error = ? WHERE run_id = ?`,
      [timestampText(new Date()), interrupted ? 'INTERRUPTED' : 'FAILED', message, runId],
    );
    return undefined;
  } catch (error: unknown) {
    return `recording this failure in the lakehouse failed too: ${redactSsnText(errorMessage(error).split('\n')[0] ?? '')}`;
  }
}

/**
 * One pipeline update: ingest new landing files into bronze, then silver and gold, all in one
 * transaction, so a failure (or a kill) leaves every table as it was and the next run redoes the work.
 */
export async function runPipeline(options: RunOptions): Promise<RunResult> {
  const env = options.env ?? process.env;
  // The audit entry of an update that has happened (or failed) cannot undo it: an entry that cannot be
  // written (a full disk, a damaged trail) is said with the update's own outcome, never instead of it.
  const audit = (input: Parameters<typeof appendAudit>[1]): string | undefined => {
    if (options.dbPath === ':memory:') return undefined;
    const file = auditPathFor(options.dbPath);
    try {
      appendAudit(file, input, env);
      return undefined;
    } catch (error: unknown) {
      const advice = systemAdvice(error);
      return `the audit trail ${file} could not record this update: ${errorMessage(error)}${advice ? `; ${advice}` : ''}`;
    }
  };
  const action = options.fullRefresh ? 'full_refresh' : 'pipeline_update';
  let result: RunResult;
  try {
    result = await runUpdate(options);
  } catch (error: unknown) {
    const refused =
      error instanceof RunRefusedError ||
      error instanceof KeyFileError ||
      error instanceof PipelineLockedError;
    const unaudited =
      error instanceof AuditTrailRefusedError || error instanceof NotADatabaseError
        ? undefined
        : audit({ action, status: refused ? 'REFUSED' : 'FAILED', details: { error: errorMessage(error) } });
    if (unaudited && error instanceof Error) error.message = `${error.message}\n(${unaudited})`;
    throw error;
  }
  const unaudited = audit({
    action,
    status: result.status,
    rows: result.flows.reduce((n, f) => n + f.rowsOut, 0),
    details: {
      run_id: result.runId,
      files_ingested: result.files.filter((f) => f.action === 'ingested').length,
      ...(result.keySwitch
        ? { ssn_key_switched_from: result.keySwitch.from, ssn_key_id: result.keySwitch.to }
        : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(result.landing ? { landing: result.landing } : {}),
    },
  });
  return unaudited ? { ...result, warnings: [...result.warnings, unaudited] } : result;
}

async function runUpdate(options: RunOptions): Promise<RunResult> {
  const say = options.onMessage ?? (() => {});
  makeDirectory(path.dirname(path.resolve(options.dbPath)));
  // Before anything is written next to it (lock, audit trail): a path that holds no database.
  checkDatabaseFile(options.dbPath);
  const release = acquireLock(`${options.dbPath}.lock`);
  // No update runs that its audit entry could not follow (a damaged trail): refused before it starts,
  // not found out after its commit.
  const damage = options.dbPath === ':memory:' ? undefined : auditTrailDamage(auditPathFor(options.dbPath));
  if (damage !== undefined) {
    release();
    throw new AuditTrailRefusedError(damage);
  }
  // Working files left by an update that was killed (the lock is ours, so no update is using them).
  if (options.dbPath !== ':memory:')
    fs.rmSync(Database.workDir(options.dbPath), { recursive: true, force: true });
  let db: Database | undefined;
  try {
    db = await Database.open(options.dbPath);
    await ensureSchema(db);
    // Bronze segments no committed update lists (one killed before its commit).
    await sweepSegments(db);
    const key = loadSsnKey(options.env, { landingDir: options.landingDir });
    if (key.created) {
      if (options.dbPath !== ':memory:')
        appendAudit(
          auditPathFor(options.dbPath),
          { action: 'key_create', details: { keyId: key.keyId, path: key.path, by: 'first run' } },
          options.env ?? process.env,
        );
      say(
        `created a development SSN key at ${key.path ?? ''} (owner-only permissions); set CARELAKE_SSN_KEY or CARELAKE_SSN_KEY_FILE to use your own`,
      );
    }
    const fullRefresh = options.fullRefresh ?? false;
    const switchFrom = await checkKey(db, key.keyId, fullRefresh);
    if (fullRefresh) {
      const missing = await missingIngestedFiles(db, options.landingDir);
      if (missing.length) {
        const archived = missing.filter((m) => m.archivedTo !== null).length;
        throw new RunRefusedError(
          `refusing a full refresh: ${missing.length} ingested landing file(s) are not in the landing folder ` +
            `(${missing
              .slice(0, 3)
              .map((m) => m.fileName)
              .join(
                ', ',
              )}${missing.length > 3 ? ', …' : ''}); rebuilding without them would lose their rows. ` +
            (archived
              ? `${archived} of them are archived: bring them back with \`carelake landing restore\` first.`
              : 'They were deleted by the retention policy, so the tables cannot be rebuilt from the landing files.'),
        );
      }
    }
    // This process holds the lock, so a run still marked RUNNING was killed mid-update, or failed where
    // its failure could not be recorded (a full disk): its transaction never committed and no table
    // changed. Say so instead of leaving it RUNNING.
    await db.run(`UPDATE pipeline_runs SET status = 'INTERRUPTED', finished_at = COALESCE(finished_at, started_at),
      error = 'the update ended before it committed (its process was killed, or its failure could not be recorded); no table was changed and its files are ingested by a later run'
      WHERE status = 'RUNNING'`);
    const origin: EventOrigin = { pipelineId: await pipelineId(db), updateId: crypto.randomUUID() };
    // The rows an update writes carry its start to the second (ingestion, processing and effective
    // times); its run record keeps the instant, so `carelake status` shows how long it really took.
    const began = new Date();
    const startedAt = new Date(Math.floor(began.getTime() / 1000) * 1000);
    const ctx: RunContext = {
      db,
      runId: origin.updateId,
      startedAt,
      startedAtSql: tsLiteral(startedAt),
      ssnKeyId: key.keyId,
      ssnPads: hmacPads(key.key),
      orphanGraceHours: options.orphanGraceHours ?? 24,
      fullRefresh: options.fullRefresh ?? false,
      versions: new Map(),
      flows: new Map(),
      accounting: [],
      warnings: [],
      progress: options.onProgress ?? (() => {}),
    };
    await db.run(
      `INSERT INTO pipeline_runs VALUES (?, ${tsLiteral(began)}, NULL, 'RUNNING', ?, 0, NULL, NULL)`,
      [ctx.runId, fullRefresh],
    );
    await logEvent(db, origin, {
      eventType: 'create_update',
      level: 'INFO',
      message: `Update ${ctx.runId} started${fullRefresh ? ' (full refresh)' : ''}.`,
      details: { create_update: { cause: 'USER_ACTION', full_refresh: fullRefresh } },
    });
    const t0 = Date.now();
    let decisions: FileDecision[] = [];
    let identity: IdentityStats | undefined;
    const signal = options.signal;
    const database = db;
    const stop = (): void => database.interrupt(interruptedMessage(signal?.reason));
    signal?.addEventListener('abort', stop);
    try {
      await database.transaction(async () => {
        // Aborted before the transaction began: nothing to cancel yet, so stop here.
        if (signal?.aborted) throw new InterruptedError(interruptedMessage(signal.reason), '');
        if (fullRefresh) {
          await retireAllRows(ctx);
          for (const t of DERIVED_TABLES) await database.run(`DELETE FROM ${t}`);
        }
        if (switchFrom !== undefined) {
          await database.run(`UPDATE carelake_meta SET value = ? WHERE key = 'ssn_key_id'`, [key.keyId]);
          say(`re-hashing every SSN under the new key ${key.keyId} (was ${switchFrom})`);
        }
        const scan = scanLanding(options.landingDir);
        // A mistyped --landing would otherwise look like a quiet day.
        if (scan.problem) ctx.warnings.push(scan.problem);
        const plan = await planFiles(database, scan.files);
        const notFiles = scan.notFiles.map((e) => ({
          fileName: e.name,
          action: 'ignored' as const,
          note: `${e.kind}, not a regular file: not read (copy the file itself into the landing folder)`,
        }));
        // Every planned file with a note and every entry that is not a file is reported by name; files
        // whose names are not landing names are reported together below.
        for (const d of [...plan.decisions, ...notFiles])
          if (d.note) ctx.warnings.push(`${d.fileName}: ${d.note}`);
        decisions = [
          ...plan.decisions,
          ...scan.ignored.map((n) => ({
            fileName: n,
            action: 'ignored' as const,
            note: 'not a landing file name',
          })),
          ...notFiles,
        ];
        if (scan.ignored.length)
          ctx.warnings.push(
            `ignored ${scan.ignored.length} file(s) whose names are not {entity}_{yymmdd}_{hhmm}.csv: ${scan.ignored.slice(0, 5).join(', ')}`,
          );
        // A first load or rebuild (more new landing bytes than all earlier updates ingested, or a full
        // refresh) runs in bulk mode (see Database.setBulkMode); an incremental update does not.
        const earlierBytes =
          (
            await database.one<{ n: number }>(
              `SELECT COALESCE(SUM(size_bytes), 0) AS n FROM ingest_files WHERE status = 'ingested'`,
            )
          )?.n ?? 0;
        const newBytes = plan.toIngest.reduce((sum, f) => sum + f.sizeBytes, 0);
        const bulk = options.fullRefresh === true || newBytes > earlierBytes;
        if (bulk) await database.setBulkMode(true);
        else {
          await database.limitMemory(incrementalMemoryLimit(newBytes));
          await database.run('SET preserve_insertion_order = true');
        }
        // An incremental update of many files stages each in working files (bulk mode does this for
        // the whole update): a temporary table per file holds its memory until the commit (about 1 MB
        // for 100 rows), and a backlog of small files outgrew the update's memory limit (360 files of
        // 100 rows did). The files' statements keep the insertion order (ingestFile); so does the rest
        // of an incremental update, whose statements write few rows each: without it every insert
        // appends row groups of its own, held until the commit (seven interleaved pairs of an
        // 11,451-row update on a 1M-people lakehouse: median 3.47 s with it, 3.58 s without). Bulk
        // work goes back to the engine's setting after bronze.
        const stagedInFiles = !bulk && plan.toIngest.length > MANY_FILES;
        if (stagedInFiles) await database.setWorkingFiles(true);
        let done = 0;
        for (const f of plan.toIngest) {
          ctx.progress('bronze', done, plan.toIngest.length);
          const r = await ingestFile(ctx, f);
          // Written to while it was read: what bronze holds of it may be cut anywhere. The update fails
          // and rolls back (nothing of it is kept) and a later run reads the file whole.
          if (!unchangedSince(f))
            throw new Error(
              `${f.fileName} changed while it was being ingested (still being written?): the update was rolled back and nothing was lost; run again once the file is complete`,
            );
          ctx.warnings.push(...r.problems);
          await database.run(
            `INSERT INTO ingest_files VALUES (?, ?, ?, ?::TIMESTAMP, ?, ?, ?::TIMESTAMP, 'ingested', ?, ?, ${ctx.startedAtSql}, NULL)`,
            [
              f.fileName,
              f.filePath,
              f.entity,
              f.extractedAt.toISOString(),
              f.inspection.sha256,
              f.sizeBytes,
              f.modifiedAt.toISOString(),
              r.rowsRead,
              ctx.runId,
            ],
          );
          done += 1;
        }
        // Back to temporary tables before this update's bronze rows are defined (turning working files
        // off drops every working relation).
        if (stagedInFiles) await database.setWorkingFiles(false);
        await defineBronzeRows(ctx);
        // The bronze views list the segments this update wrote (and none a full refresh replaced); many
        // small segments are merged first.
        if (plan.toIngest.length > 0 || fullRefresh) {
          await compactSegments(database, ctx.runId);
          await defineBronzeViews(database);
        }
        if (bulk) await database.run('SET preserve_insertion_order = false');
        ctx.progress('bronze', done, plan.toIngest.length);
        const steps: [string, () => Promise<unknown>][] = [
          ['silver_patients', async () => (identity = await runSilverPatients(ctx))],
          ['silver_claims', () => runSilverFacts(ctx, 'silver_claims')],
          ['silver_medical_events', () => runSilverFacts(ctx, 'silver_medical_events')],
          ['gold_patients', () => runGoldPatients(ctx)],
          ['gold_claims', () => runGoldFact(ctx, 'gold_claims')],
          ['gold_medical_events', () => runGoldFact(ctx, 'gold_medical_events')],
        ];
        let i = 0;
        for (const [name, step] of steps) {
          ctx.progress(name, i, steps.length);
          const s = Date.now();
          await step();
          await database.traceMemory(name);
          // A first load's tables reach the disk while the next steps run, not all at its commit.
          if (bulk) database.flushBehind();
          // A flow's working tables are not read by the next one: their memory is freed before it.
          await database.dropTempTables('', [], BRONZE_ROWS_PREFIX);
          const f = ctx.flows.get(name);
          if (f) {
            f.completedAt = new Date();
            f.seconds = (f.completedAt.getTime() - s) / 1000;
          }
          i += 1;
        }
        if (bulk) await database.setBulkMode(false);
        else await database.limitMemory();
        ctx.progress('gold', steps.length, steps.length);
        if (ctx.accounting.length)
          await database.run(
            `INSERT INTO run_accounting VALUES ${ctx.accounting.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
            ctx.accounting.flatMap((a) => [
              ctx.runId,
              a.dataset,
              a.file_name,
              a.rows_in,
              a.rows_out,
              a.rows_quarantined,
              a.rows_parked,
            ]),
          );
        await logEvents(database, origin, [
          ...[...ctx.flows.values()].map((f) => ({
            eventType: 'flow_progress',
            level: 'METRICS' as const,
            message: `Flow ${f.dataset} completed: ${f.rowsOut} out, ${f.rowsQuarantined} quarantined, ${f.rowsParked} parked.`,
            datasetName: f.dataset,
            details: flowProgressDetails(f),
            ...(f.completedAt ? { at: f.completedAt } : {}),
          })),
          ...ctx.warnings.map((w) => ({
            eventType: 'warning',
            level: 'WARN' as const,
            message: w,
            details: {},
          })),
          {
            eventType: 'update_progress',
            level: 'INFO',
            message: `Update ${ctx.runId} is COMPLETED.`,
            details: { update_progress: { state: 'COMPLETED' } },
          },
        ]);
        await database.run(
          `UPDATE pipeline_runs SET finished_at = ?::TIMESTAMP, status = 'COMPLETED', files_ingested = ?, summary = ?::JSON WHERE run_id = ?`,
          [
            timestampText(new Date()),
            plan.toIngest.length,
            JSON.stringify({ flows: [...ctx.flows.values()], identity }),
            ctx.runId,
          ],
        );
      });
    } catch (error: unknown) {
      // A step may turn the cancelled statement's error into its own: an update that failed after the
      // abort was interrupted, whatever error reached here.
      const interrupted = error instanceof InterruptedError || signal?.aborted === true;
      const message = interrupted ? interruptedMessage(signal?.reason) : redactSsnText(errorMessage(error));
      const unrecorded = await recordFailure(db, origin, {
        runId: ctx.runId,
        interrupted,
        message,
        className: error instanceof Error ? error.name : 'Error',
      });
      return {
        runId: ctx.runId,
        status: interrupted ? 'INTERRUPTED' : 'FAILED',
        startedAt: startedAt.toISOString(),
        seconds: (Date.now() - t0) / 1000,
        fullRefresh,
        files: decisions,
        flows: [],
        accounting: [],
        warnings: ctx.warnings,
        error: unrecorded ? `${message}\n(${unrecorded})` : message,
      };
    } finally {
      signal?.removeEventListener('abort', stop);
      // Segments of a rolled-back update, or replaced by a full refresh; one left behind is deleted by
      // the next update.
      await sweepSegments(database).catch(() => 0);
    }
    // The update has committed: what follows (landing retention, its figures) cannot undo it, so a
    // failure there is a warning of a completed update, never a failed one (the next run would find
    // nothing to redo).
    let landing: LandingSummary | undefined;
    try {
      landing = await retainLanding(db, {
        dbPath: options.dbPath,
        landingDir: options.landingDir,
        runId: ctx.runId,
        env: options.env ?? process.env,
        ...(options.archiveDir ? { archiveDir: options.archiveDir } : {}),
        ...(options.retainLanding ? { retain: options.retainLanding } : {}),
      });
    } catch (error: unknown) {
      ctx.warnings.push(
        `the update committed, but the landing files' retention step failed: ${redactSsnText(errorMessage(error))}`,
      );
    }
    return {
      runId: ctx.runId,
      status: 'COMPLETED',
      ...(landing ? { landing } : {}),
      ...(switchFrom !== undefined ? { keySwitch: { from: switchFrom, to: key.keyId } } : {}),
      startedAt: startedAt.toISOString(),
      seconds: (Date.now() - t0) / 1000,
      fullRefresh,
      files: decisions,
      flows: [...ctx.flows.values()],
      accounting: ctx.accounting,
      ...(identity ? { identity } : {}),
      warnings: ctx.warnings,
    };
  } finally {
    db?.close();
    // The working files of a first load are deleted in the background while the update goes on (see
    // Database.removeLater); the last of them while the database closes.
    await db?.filesRemoved();
    release();
  }
}
