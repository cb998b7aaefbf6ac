/**
 * Test fixtures for the pipeline robustness suite: temp lakehouses, small valid landing files written in
 * the contract's column order and file-name format, and read helpers over the DuckDB file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { LANDING_COLUMNS, type Entity } from '../../src/definitions/entities.ts';
import { formatLandingFileName } from '../../src/definitions/landing-files.ts';
import { Database } from '../../src/engine/database.ts';
import { runPipeline, type RunOptions, type RunResult } from '../../src/runner/run.ts';

/** A fixed test SSN key (64 hex characters), so no key file is ever written in the home folder. */
export const SSN_KEY_HEX = '5e'.repeat(32);

/** Runs `fn` with CARELAKE_SSN_KEY set to the test key (what the CLI reads), then restores it. */
export async function withSsnKey<T>(fn: () => Promise<T>): Promise<T> {
  const prev = process.env['CARELAKE_SSN_KEY'];
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env['CARELAKE_SSN_KEY'];
    else process.env['CARELAKE_SSN_KEY'] = prev;
  }
}
export const TEST_ENV: NodeJS.ProcessEnv = { ...process.env, CARELAKE_SSN_KEY: SSN_KEY_HEX };

/** The first extract time used by the fixtures (well before "now", so temporal checks pass). */
export const T0 = new Date(Date.UTC(2026, 0, 5, 10, 0));
export const hoursAfter = (t: Date, h: number): Date => new Date(t.getTime() + h * 3_600_000);

export interface Lakehouse {
  readonly dir: string;
  readonly landing: string;
  readonly db: string;
  cleanup(): void;
}

/** A fresh temp folder with an empty landing folder and a database path (not yet created). */
export function makeLakehouse(prefix = 'carelake-test-'): Lakehouse {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const landing = path.join(dir, 'landing');
  fs.mkdirSync(landing);
  return {
    dir,
    landing,
    db: path.join(dir, 'lake.duckdb'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The list a test file pushes its lakehouses to, each removed after the file's tests (call it at the
 * top level of the file).
 */
export function lakehousesRemovedAfterwards(): Lakehouse[] {
  const lakes: Lakehouse[] = [];
  after(() => lakes.forEach((l) => l.cleanup()));
  return lakes;
}

export type Row = Record<string, string>;

/** One CSV field, quoted when needed (RFC 4180). */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function csvLine(values: readonly string[]): string {
  return values.map(csvField).join(',');
}

/** CSV text for `rows` with the entity's contract header (or `columns`), LF line endings. */
export function csvText(entity: Entity, rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? LANDING_COLUMNS[entity];
  return [csvLine(cols), ...rows.map((r) => csvLine(cols.map((c) => r[c] ?? '')))].join('\n') + '\n';
}

/** Writes a landing file named by the contract; returns its path. Content may be text or bytes. */
export function writeLandingFile(
  landing: string,
  entity: Entity,
  at: Date,
  content: string | Buffer,
  sequence = 1,
): string {
  const file = path.join(landing, formatLandingFileName(entity, at, sequence));
  fs.writeFileSync(file, content);
  return file;
}

/**
 * Dates a file `seconds` into the past: a delivery that ended then. A file that ends mid-line is left
 * for a later run while it is younger than MID_LINE_QUIET_SECONDS (it may still be being written), so a
 * test of a file that was cut for good (its writer died) ages it first.
 */
export function ageFile(file: string, seconds = 3600): void {
  const t = new Date(Date.now() - seconds * 1000);
  fs.utimesSync(file, t, t);
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const FIRST = ['Ann', 'Bob', 'Cleo', 'Dan', 'Eve', 'Finn', 'Gus', 'Hana', 'Ivo', 'Jade'];
const LAST = ['Quill', 'Rook', 'Stone', 'Thorn', 'Umber', 'Vale', 'Wren', 'Yarrow', 'Zeal', 'Moss'];

/** The EHR patient id of fixture patient `i`. */
export const ehrId = (i: number): string => `E${pad(i, 8)}`;
export const adtId = (i: number): string => `A${pad(i, 8)}`;
/** The raw SSN of fixture patient `i` (dashed), in the never-issued 9xx area. */
export const ssnOf = (i: number): string => {
  const digits = pad(900_000_000 + ((i * 7919) % 99_999_999), 9);
  // A usable number: no group 00 or serial 0000 (the pipeline treats those as no SSN).
  const group = digits.slice(3, 5) === '00' ? '50' : digits.slice(3, 5);
  const serial = digits.slice(5) === '0000' ? '5000' : digits.slice(5);
  return `${digits.slice(0, 3)}-${group}-${serial}`;
};

/** A valid EHR patient row for fixture patient `i` (unique name, birth date and SSN). */
export function patientRow(i: number, overrides: Partial<Row> = {}): Row {
  const first = `${FIRST[i % 10] ?? 'Ann'}${String.fromCharCode(97 + (Math.floor(i / 10) % 26))}`;
  const last = `${LAST[Math.floor(i / 260) % 10] ?? 'Moss'}${pad(i, 5)}`;
  return {
    patient_id: ehrId(i),
    mrn: `MRN${pad(i, 7)}`,
    first_name: first,
    last_name: last,
    date_of_birth: `${1950 + (i % 40)}-${pad((i % 12) + 1, 2)}-${pad((i % 27) + 1, 2)}`,
    gender: i % 2 ? 'M' : 'F',
    address_line1: `${i} Main St`,
    city: 'Austin',
    state: 'TX',
    zip_code: '73301',
    phone: `512-555-${pad(i % 10000, 4)}`,
    email: `p${i}@example.com`,
    ssn: ssnOf(i),
    insurance_id: `INS${pad(i, 7)}`,
    source_system: 'EHR_SYSTEM',
    bmi: (20 + (i % 15)).toFixed(1),
    smoker: i % 5 === 0 ? 'yes' : 'no',
    children: String(i % 4),
    charges: (5000 + i).toFixed(2),
    insurance_plan: ['PPO', 'HMO', 'EPO'][i % 3] ?? 'PPO',
    coverage_start_date: '2020-01-01',
    ...overrides,
  };
}

/** The ADT record of the same person as fixture patient `i` (same name, birth date and SSN). */
export function adtPatientRow(i: number, overrides: Partial<Row> = {}): Row {
  return patientRow(i, {
    patient_id: adtId(i),
    mrn: '',
    source_system: 'ADT_SYSTEM',
    bmi: '',
    smoker: '',
    children: '',
    charges: '',
    insurance_plan: '',
    coverage_start_date: '',
    ...overrides,
  });
}

/** A valid claim `k` of EHR patient `i`. */
export function claimRow(k: number, i: number, overrides: Partial<Row> = {}): Row {
  return {
    claim_id: `C${pad(k, 8)}`,
    patient_id: ehrId(i),
    claim_amount: (100 + (k % 900)).toFixed(2),
    claim_date: `2025-${pad((k % 12) + 1, 2)}-${pad((k % 28) + 1, 2)}`,
    diagnosis_code: 'I10',
    procedure_code: '99213',
    claim_status: ['submitted', 'approved', 'denied', 'paid'][k % 4] ?? 'paid',
    source_system: 'CLAIMS_SYSTEM',
    ...overrides,
  };
}

/** A valid ADT medical event `k` of ADT patient `i`. */
export function eventRow(k: number, i: number, overrides: Partial<Row> = {}): Row {
  return {
    event_id: `V${pad(k, 8)}`,
    patient_id: adtId(i),
    event_date: `2025-${pad((k % 12) + 1, 2)}-${pad((k % 28) + 1, 2)}`,
    event_type: ['admission', 'discharge', 'vital_signs', 'clinical_note'][k % 4] ?? 'admission',
    medical_provider: `Dr. Prov ${k % 17}`,
    source_system: 'ADT_SYSTEM',
    ...overrides,
  };
}

export interface BatchSpec {
  /** Fixture patient numbers (EHR and ADT records are written for each). */
  readonly patients: readonly number[];
  /** Claims per patient. */
  readonly claimsPerPatient?: number;
  /** Events per patient. */
  readonly eventsPerPatient?: number;
  /** First claim/event number (keep batches' keys apart). */
  readonly firstKey?: number;
}

/** Writes one valid patients + claims + medical_events extract at `at`; returns the three file paths. */
export function writeValidBatch(landing: string, at: Date, spec: BatchSpec): string[] {
  const claims: Row[] = [];
  const events: Row[] = [];
  let k = spec.firstKey ?? 1;
  for (const i of spec.patients) {
    for (let c = 0; c < (spec.claimsPerPatient ?? 2); c++) claims.push(claimRow(k++, i));
    for (let e = 0; e < (spec.eventsPerPatient ?? 1); e++) events.push(eventRow(k++, i));
  }
  const patients = spec.patients.flatMap((i) => [patientRow(i), adtPatientRow(i)]);
  return [
    writeLandingFile(landing, 'patients', at, csvText('patients', patients)),
    writeLandingFile(landing, 'claims', at, csvText('claims', claims)),
    writeLandingFile(landing, 'medical_events', at, csvText('medical_events', events)),
  ];
}

/**
 * Extracts big enough for an update to take a second or two: for each batch number `b`, one day after
 * T0 per number, 500 new patients with two claims and two events each (about 6,000 rows an extract).
 */
export function writeSizedBatches(landing: string, batches: readonly number[]): void {
  for (const b of batches)
    writeValidBatch(landing, hoursAfter(T0, 24 * b), {
      patients: range(1 + b * 500, 1 + (b + 1) * 500),
      claimsPerPatient: 2,
      eventsPerPatient: 2,
      firstKey: 1 + b * 100_000,
    });
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, j) => from + j);

/** Runs one update on the lakehouse with the test key. */
export function run(
  lake: Pick<Lakehouse, 'db' | 'landing'>,
  extra: Partial<Omit<RunOptions, 'dbPath' | 'landingDir'>> = {},
): Promise<RunResult> {
  return runPipeline({
    dbPath: lake.db,
    landingDir: lake.landing,
    env: TEST_ENV,
    orphanGraceHours: 0,
    ...extra,
  });
}

/** Opens the database read-only, runs `fn`, closes it. */
export async function withDb<T>(dbPath: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await Database.open(dbPath, { access_mode: 'READ_ONLY' });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

export function query<T extends Record<string, unknown> = Record<string, unknown>>(
  dbPath: string,
  sql: string,
): Promise<T[]> {
  return withDb(dbPath, (db) => db.all<T>(sql));
}

/** Tables and views of the main schema (no temp tables); gold facts are views in the DuckDB engine. */
export async function baseTables(db: Database): Promise<string[]> {
  const rows = await db.all<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables
     WHERE table_type IN ('BASE TABLE', 'VIEW') AND table_schema = 'main' AND table_catalog = current_database()
     ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

/** Every text value of every table and view of the open lakehouse `db`, with where it is (`table.column`). */
export async function textValues(db: Database): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  for (const t of await baseTables(db))
    for (const row of await db.all(`SELECT CAST(COLUMNS(*) AS VARCHAR) FROM ${t}`))
      for (const [c, v] of Object.entries(row))
        if (typeof v === 'string') out.push({ where: `${t}.${c}`, text: v });
  return out;
}

/**
 * Columns of each table that depend on the run (ids, clocks) and so differ between two runs over the
 * same files; everything else must be identical.
 */
const VOLATILE = new Set([
  'run_id',
  '_run_id',
  '_ingested_at',
  'ingested_at',
  'processed_at',
  'resolved_at',
  'quarantined_at',
  'first_parked_at',
  '_file_path',
  'file_path',
  'modified_at',
  'started_at',
  'finished_at',
  // identity resolution: times of training, issue, review and the age measured at resolution
  'trained_at',
  'issued_at',
  'retired_at',
  'queued_at',
  'decided_at',
  'event_at',
  'applied_run_id',
  'updated_run_id',
  'identity_resolution_age_hours',
  '_commit_version',
  '_end_version',
  'commit_timestamp',
  // bronze segments: named after the update that wrote them
  'segment',
  'written_at',
]);

/** Tables whose content is history of runs, not data derived from the landing files. */
const RUN_HISTORY = new Set([
  'event_log',
  'pipeline_runs',
  'run_accounting',
  'carelake_meta',
  'identity_run_metrics',
  'table_versions',
]);
const isRunHistory = (t: string): boolean => RUN_HISTORY.has(t) || t.endsWith('__changes');

/**
 * Row count and an order-independent content checksum of every data table, ignoring run-dependent
 * columns; run-history tables are left out.
 */
export async function fingerprint(dbPath: string): Promise<Record<string, { rows: number; sum: string }>> {
  return withDb(dbPath, async (db) => {
    const out: Record<string, { rows: number; sum: string }> = {};
    for (const t of await baseTables(db)) {
      if (isRunHistory(t)) continue;
      const cols = await db.all<{ c: string }>(
        `SELECT column_name AS c FROM information_schema.columns WHERE table_name = '${t}' AND table_schema = 'main' ORDER BY ordinal_position`,
      );
      const kept = cols.map((c) => c.c).filter((c) => !VOLATILE.has(c));
      const rowHash = kept.length ? `hash(${kept.map((c) => `"${c}"`).join(', ')})` : '0';
      const r = await db.one<{ n: number; s: string }>(
        `SELECT COUNT(*) AS n, CAST(COALESCE(SUM(${rowHash}::HUGEINT), 0) AS VARCHAR) AS s FROM ${t}`,
      );
      out[t] = { rows: r?.n ?? 0, sum: r?.s ?? '' };
    }
    return out;
  });
}

/** Row counts of every base table. */
export async function tableCounts(dbPath: string): Promise<Record<string, number>> {
  return withDb(dbPath, async (db) => {
    const out: Record<string, number> = {};
    for (const t of await baseTables(db)) {
      out[t] = (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))?.n ?? 0;
    }
    return out;
  });
}

/** Data lines of a CSV text: physical lines after the header, a trailing newline not counted. */
export function dataLineCount(content: string | Buffer): number {
  const text = typeof content === 'string' ? content : content.toString('latin1');
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return Math.max(0, lines.length - 1);
}
