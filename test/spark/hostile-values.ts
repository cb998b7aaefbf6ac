/**
 * Hostile landing values for the silver stages: each one put into every landing column of an otherwise
 * valid row, so the Spark parity test can check that both engines derive the same values and fail the
 * same rules from them (numbers, dates, codes, Unicode spaces and case, control characters).
 *
 * Left out on purpose: a Greek capital sigma at the end of a word (lower-cased to σ by DuckDB and to ς
 * by Spark, see `Dialect.lower`).
 */
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { databricksDialect } from '../../src/dialect/databricks.ts';
import type { Dialect } from '../../src/dialect/dialect.ts';
import { LANDING_COLUMNS, type Entity } from '../../src/definitions/entities.ts';
import type { TransformDataset } from '../../src/definitions/model.ts';
import { dataset } from '../../src/definitions/pipeline.ts';
import { ssnDigitsSql, withoutSsnSql } from '../../src/definitions/ssn.ts';
import { checkedSql, stagedSql } from '../../src/renderer/sql/stage.ts';
import type { Database } from '../../src/engine/database.ts';

export const HOSTILE_VALUES: readonly string[] = [
  // empty, blank, Unicode spaces (trimmed on both engines), control characters
  '',
  ' ',
  '\t x \t',
  'a  b',
  'a\t\tb',
  '\u00a0x\u00a0',
  ' a \u00a0 b ',
  'tx\u2003',
  '\u3000E11.9',
  'x\u200by',
  '\u0001x',
  'a\u000bb',
  'a\u000b\u000bb  c',
  // numbers: what each engine's own cast would take and the other would not
  'NaN',
  'nAn',
  'Infinity',
  '-Infinity',
  'inf',
  'INF',
  '1e3',
  '1E3',
  '1e400',
  '+5',
  '-0',
  '0x1A',
  '0001F',
  '1d',
  '2.0',
  '2.5',
  '2,5',
  '1.',
  '.5',
  '+.5',
  '-',
  '+',
  '1_000',
  '1 000',
  '１２',
  '１.５',
  '٣',
  '١٢٣',
  '2147483648',
  '-2147483649',
  '99999999999',
  '9999999999999999999999',
  '12.345',
  '24.45',
  '24.95',
  '2.675',
  '0.05',
  '34.99',
  '-1',
  '15',
  '89',
  '90',
  '121',
  '150',
  // money
  '1,234.50',
  '$1,234.50',
  '-$5.00',
  '$-5.00',
  '(5.00)',
  '100.999',
  '0.00',
  // dates
  '2024-01-05',
  '2024-1-5',
  '1/5/2024',
  '\u00a01/5/2024\u00a0',
  '05-Jan-24',
  '5-JAN-2024',
  '1/5/26',
  '12/31/27',
  '2024-01-05T10:00:00Z',
  '2024-01-05T25:00:00Z',
  '2024-01-05T10:00:00.123Z',
  '2024-01-05T10:00:00+01:00',
  '2024-01-05\t',
  '2024-13-01',
  '20240230',
  '99999999',
  '00000000',
  '0024-01-05',
  '1900-01-01',
  '2999-01-01',
  'epoch',
  // codes, states, ZIPs, phones, e-mails, statuses, event types
  'e11.9',
  'E119',
  'E11.9 ',
  'E1',
  'Z99999999',
  'i10',
  '99213',
  ' 99213 ',
  '9921３',
  '99213-25',
  'g0008',
  'tx',
  ' TX',
  'Texas',
  'PR',
  'GU',
  '2108',
  '02108-1234',
  '021081234',
  '00000',
  '(555) 770-7727',
  '+1 555 770 7727',
  '555.770.7727 x1234',
  'A@B.COM',
  ' a@b.c ',
  'a@@b',
  'PAID',
  'Denied',
  'approved ',
  'F1',
  'ADMISSION',
  'Lab_Test',
  'er visit',
  // sex and yes/no spellings
  'M',
  'male',
  'female',
  '1',
  '0',
  '9',
  'unknown',
  'Y',
  'n',
  'TRUE',
  // names and case
  'É',
  'ÉCOLE',
  'İstanbul',
  'ß',
  'straße',
  'ǅ',
  'Ⅻ',
  '𝔘',
  '😀',
  "O'Brien",
  'Testa',
  'TEST PATIENT',
  'Testpatient',
  'zztop',
  'Mary-Jane',
  'Σ',
  'ς',
  'οδος',
  '"',
  '\\',
  '%',
  'NULL',
  'x'.repeat(300),
];

/** A valid landing row of each entity, into which one hostile value at a time is put. */
const BASE: Record<Entity, Record<string, string>> = {
  patients: {
    patient_id: 'E00000001',
    mrn: 'MRN0000001',
    first_name: 'Ann',
    last_name: 'Moss',
    date_of_birth: '1970-02-03',
    gender: 'F',
    address_line1: '1 Main St',
    city: 'Austin',
    state: 'TX',
    zip_code: '73301',
    phone: '512-555-0101',
    email: 'a@example.com',
    ssn: '',
    insurance_id: 'INS1',
    source_system: 'EHR_SYSTEM',
    bmi: '24.0',
    smoker: 'no',
    children: '1',
    charges: '100.00',
    insurance_plan: 'PPO',
    coverage_start_date: '2020-01-01',
  },
  claims: {
    claim_id: 'C1',
    patient_id: 'E00000001',
    claim_amount: '100.00',
    claim_date: '2025-01-02',
    diagnosis_code: 'I10',
    procedure_code: '99213',
    claim_status: 'paid',
    source_system: 'CLAIMS_SYSTEM',
  },
  medical_events: {
    event_id: 'V1',
    patient_id: 'A00000001',
    event_date: '2025-01-02',
    event_type: 'admission',
    medical_provider: 'City Hospital',
    source_system: 'ADT_SYSTEM',
  },
};

const SILVER: Record<Entity, string> = {
  patients: 'silver_patients',
  claims: 'silver_claims',
  medical_events: 'silver_medical_events',
};

export interface HostileCase {
  /** The entity whose silver stage is checked, or `ssn_redaction` (the bronze read's withoutSsnSql). */
  readonly entity: Entity | 'ssn_redaction';
  /** Parquet file of the bronze-shaped rows (`_line_number` identifies each). */
  readonly source: string;
  /** Parquet file of the DuckDB engine's staged and checked rows. */
  readonly engine: string;
  /** The same staging and checks as the Databricks renderer spells them, over view `src_<entity>`. */
  readonly sparkSql: string;
  readonly rows: number;
}

/**
 * Writes the hostile rows of every entity as Parquet under `dir` and stages and checks them on the
 * DuckDB engine `db` (which holds the reference tables the stages look up).
 */
export async function writeHostileCases(db: Database, dir: string): Promise<HostileCase[]> {
  const cases: HostileCase[] = [];
  for (const entity of ['patients', 'claims', 'medical_events'] as const) {
    const ds = dataset(SILVER[entity]) as TransformDataset;
    const columns = LANDING_COLUMNS[entity];
    const rows: string[] = [];
    for (const column of columns)
      for (const value of HOSTILE_VALUES) {
        const row = { ...BASE[entity], [column]: value };
        rows.push(
          `(${columns.map((c) => duckdbDialect.string(row[c] ?? '')).join(', ')}, ${rows.length + 1})`,
        );
      }
    const ssn =
      entity === 'patients'
        ? ', CAST(NULL AS VARCHAR) AS ssn_hash, CAST(NULL AS VARCHAR) AS _ssn_key_id'
        : '';
    await db.run(
      `CREATE OR REPLACE TEMP TABLE src_${entity} AS SELECT ${columns.map((c) => `NULLIF(${c}, '') AS ${c}`).join(', ')},
         'hostile.csv' AS _file_name, _line_number, TIMESTAMP '2026-03-01 09:30:00' AS _extracted_at,
         TIMESTAMP '2026-03-01 10:00:00' AS _ingested_at, CAST(NULL AS VARCHAR) AS _rescued_data${ssn}
       FROM (VALUES ${rows.join(', ')}) t(${columns.join(', ')}, _line_number)`,
    );
    const checked = (d: Dialect): string =>
      checkedSql(
        d,
        ds.expectations,
        stagedSql(d, ds, `SELECT * FROM src_${entity}`, { runStartedAt: "TIMESTAMP '2026-03-01 10:00:00'" }),
      );
    const source = `${dir}/hostile_src_${entity}.parquet`;
    const engine = `${dir}/hostile_engine_${entity}.parquet`;
    await db.run(`COPY (SELECT * FROM src_${entity}) TO '${source}' (FORMAT parquet)`);
    await db.run(`COPY (${checked(duckdbDialect)}) TO '${engine}' (FORMAT parquet)`);
    await db.run(`DROP TABLE src_${entity}`);
    cases.push({ entity, source, engine, sparkSql: checked(databricksDialect), rows: rows.length });
  }
  return cases;
}

/**
 * Values (and the row's SSN field) for the bronze read's redaction of an SSN outside the ssn column: the
 * printed form alone, with spaces, inside text and glued to other digits, the row's own SSN as digits
 * inside an id or an e-mail, and look-alikes both engines must leave (other nine-digit numbers, longer
 * numbers without separators, ZIP+4, phone numbers, dates, Unicode digits).
 */
const SSN_REDACTION_CASES: readonly (readonly [string, string])[] = [
  ['931-65-4401', ''],
  [' 931-65-4401 ', ''],
  ['931-65-4401x', ''],
  ['x931-65-4401', ''],
  ['931-65-440', ''],
  ['931 65 4401', ''],
  ['MS931654401', '931-65-4401'],
  ['931654401', '931 65 4401'],
  ['931-654-401', '931654401'],
  ['931654401 ', '931654401'],
  ['123456789', '931-65-4401'],
  ['93165440', '931-65-4401'],
  ['MS931654401', ''],
  ['MS931654401', '31-65-4401'],
  ['73301-4401', '931-65-4401'],
  ['512-555-0101', ''],
  ['2020-01-01', ''],
  ['９３１-６５-４４０１', ''],
  ['', '931-65-4401'],
  ['-', '-'],
  ['Dr. Lee, SSN 931-65-4401', ''],
  ['931-65-4401 Elm St', ''],
  ['1931-65-4401', ''],
  ['931-65-44012', ''],
  ['jsmith931654401@mail.com', '931-65-4401'],
  ['E931654401', '931654401'],
  ['9316544012', '931-65-4401'],
  ['93165440', '931654401'],
  ['jsmith 931.65.4401', '931-65-4401'],
];

/** The redaction of SSN-shaped values, on the DuckDB engine `db`, with its rendered Spark spelling. */
export async function writeSsnRedactionCase(db: Database, dir: string): Promise<HostileCase> {
  const rows = SSN_REDACTION_CASES.map(
    ([v, ssn], i) => `(${duckdbDialect.string(v)}, ${duckdbDialect.string(ssn)}, ${i + 1})`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP TABLE src_ssn_redaction AS SELECT NULLIF(v, '') AS v, NULLIF(ssn, '') AS ssn, _line_number
     FROM (VALUES ${rows.join(', ')}) t(v, ssn, _line_number)`,
  );
  const sql = (d: Dialect): string =>
    `SELECT _line_number, ${withoutSsnSql(d, 'v')} AS printed, ${withoutSsnSql(d, 'v', { digits: ssnDigitsSql(d, 'ssn'), anyLayout: true })} AS own,
       ${withoutSsnSql(d, 'v', { digits: ssnDigitsSql(d, 'ssn'), anyLayout: false })} AS own_within
     FROM src_ssn_redaction`;
  const source = `${dir}/hostile_src_ssn_redaction.parquet`;
  const engine = `${dir}/hostile_engine_ssn_redaction.parquet`;
  await db.run(`COPY (SELECT * FROM src_ssn_redaction) TO '${source}' (FORMAT parquet)`);
  await db.run(`COPY (${sql(duckdbDialect)}) TO '${engine}' (FORMAT parquet)`);
  await db.run('DROP TABLE src_ssn_redaction');
  return { entity: 'ssn_redaction', source, engine, sparkSql: sql(databricksDialect), rows: rows.length };
}
