import { DISTINCT_TEXT as DT, duckdbDialect as d, storedType } from '../dialect/duckdb.ts';
import { DATASETS } from '../definitions/pipeline.ts';
import { GOLD_VIEWS } from '../definitions/datasets/gold.ts';
import type { Column, Dataset } from '../definitions/model.ts';
import { referencePath } from '../reference/paths.ts';
import { supportingTableDdl } from '../definitions/supporting-tables.ts';
import type { Database } from '../engine/database.ts';
import {
  IDENTITY_DDL,
  IDENTITY_MIGRATIONS,
  IDENTITY_STATE_TABLES,
  IDENTITY_VIEWS,
  migrateIdentityRecords,
} from '../identity/schema.ts';
import { nicknamePairsSql } from '../definitions/identity/comparisons.ts';
import { FEED_TABLES, LIVE_FEED_COLUMNS, TABLE_VERSIONS_DDL, changesTableDdl } from './change-feed.ts';
import { defineBronzeViews, migrateBronzeTables } from './bronze-store.ts';

/**
 * The columns of silver_patient_sources (one row per accepted source patient record) with their types,
 * in table order; DT is text whose values nearly all differ, stored uncompressed (storedType). Besides
 * the resolved `patient_id`, they are staged columns of silver_patients (SOURCE_RECORD_COLUMNS).
 */
const PATIENT_SOURCE_TABLE_COLUMNS: readonly (readonly [string, string])[] = [
  ['source_system', 'VARCHAR'],
  ['source_patient_id', DT],
  ['patient_id', DT],
  ['first_name_norm', 'VARCHAR'],
  ['last_name_norm', 'VARCHAR'],
  ['birth_date', 'DATE'],
  ['sex', 'VARCHAR'],
  ['state_code', 'VARCHAR'],
  ['region', 'VARCHAR'],
  ['city_norm', 'VARCHAR'],
  ['address_norm', DT],
  ['zip5', 'VARCHAR'],
  ['phone_digits', DT],
  ['email_norm', DT],
  ['mrn', DT],
  ['insurance_id_norm', DT],
  ['ssn_hash', DT],
  ['_ssn_key_id', 'VARCHAR'],
  ['bmi', 'DOUBLE'],
  ['smoker', 'BOOLEAN'],
  ['children', 'INTEGER'],
  ['charges', 'DOUBLE'],
  ['insurance_plan', 'VARCHAR'],
  ['coverage_start_date', 'DATE'],
  ['age_years', 'INTEGER'],
  ['data_quality_score', 'DOUBLE'],
  ['_priority', 'DOUBLE'],
  ['_file_name', 'VARCHAR'],
  ['_line_number', 'BIGINT'],
  ['_extracted_at', 'TIMESTAMP'],
  ['_run_id', 'VARCHAR'],
];

/** The columns of a source patient record in silver_patient_sources besides its patient, as staged. */
export const SOURCE_RECORD_COLUMNS: readonly string[] = PATIENT_SOURCE_TABLE_COLUMNS.map(
  ([name]) => name,
).filter((name) => name !== 'patient_id');

/** Schema version of the local lakehouse; bump with a migration when tables change. */
export const SCHEMA_VERSION = 5;

const columnDdl = (c: Column): string =>
  `${d.ident(c.name)} ${storedType(c.type, c.distinctValues, c.values)}`;

/**
 * A silver or gold dataset's table, with the live change-feed columns (change-feed.ts). Bronze datasets
 * are views over Parquet segments (bronze-store.ts).
 */
function datasetDdl(ds: Dataset): string {
  const feed = FEED_TABLES.includes(ds.name) ? LIVE_FEED_COLUMNS : [];
  return `CREATE TABLE IF NOT EXISTS ${ds.name} (${[...ds.columns.map((c) => columnDdl(c)), ...feed].join(', ')})`;
}

/**
 * A gold fact in the DuckDB engine: a view over its silver table with the period columns, always
 * current and without a second copy of the rows (Databricks renders a materialized view).
 */
function factViewSql(ds: Dataset): string {
  return `SELECT ${ds.columns.map((c) => `${c.sql ? c.sql(d) : d.ident(c.name)} AS ${d.ident(c.name)}`).join(', ')} FROM ${ds.upstream[0] ?? ''}`;
}

/**
 * Schema 1 → 2: silver and gold tables get the change-feed columns; gold fact tables become views.
 * Schema 2 → 3: parked rows get their bronze row (`record`). One catalogue read when there is nothing
 * to migrate. True when the stored schema version was older (or absent: a new database).
 */
async function migrate(db: Database): Promise<boolean> {
  const stored = await db.one<{ value: string }>(
    `SELECT value FROM carelake_meta WHERE key = 'schema_version'`,
  );
  if (Number(stored?.value ?? 0) >= SCHEMA_VERSION) return false;
  const tables = new Map(
    (
      await db.all<{ name: string; type: string }>(
        `SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = 'main'`,
      )
    ).map((t) => [t.name, t.type]),
  );
  const feedColumns = new Set(
    (
      await db.all<{ c: string }>(
        `SELECT table_name || '.' || column_name AS c FROM information_schema.columns
         WHERE table_schema = 'main' AND column_name IN ('_commit_version', '_change_type')`,
      )
    ).map((r) => r.c),
  );
  for (const table of FEED_TABLES) {
    if (tables.get(table) !== 'BASE TABLE') continue;
    for (const [col, type, value] of [
      ['_commit_version', 'BIGINT', '0'],
      ['_change_type', 'VARCHAR', "'insert'"],
    ] as const) {
      if (feedColumns.has(`${table}.${col}`)) continue;
      // Rows written before the feed existed count as inserts of version 0.
      await db.run(`ALTER TABLE ${table} ADD COLUMN ${col} ${type} DEFAULT ${value}`);
      await db.run(`ALTER TABLE ${table} ALTER COLUMN ${col} DROP DEFAULT`);
    }
  }
  for (const ds of DATASETS)
    if (ds.kind === 'fact' && tables.get(ds.name) === 'BASE TABLE') await db.run(`DROP TABLE ${ds.name}`);
  // Schema 2 → 3: parked rows carry their bronze row, so a retry does not read bronze back.
  const parkedRecord = await db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_name = 'parked_rows' AND column_name = 'record'`,
  );
  if (!parkedRecord?.n) {
    await db.run(`ALTER TABLE parked_rows ADD COLUMN record JSON`);
    for (const ds of DATASETS)
      if (ds.kind === 'transform' && ds.patientReference && tables.has(`bronze_${ds.entity}`))
        await db.run(`UPDATE parked_rows p SET record = to_json(b) FROM bronze_${ds.entity} b
          WHERE p.dataset = '${ds.name}' AND b._file_name = p.file_name AND b._line_number = p.line_number`);
  }
  // Schema 3 → 4: identity records read their values from silver_patient_sources.
  await migrateIdentityRecords(db);
  // Schema 4 → 5: bronze tables become views over Parquet segments (bronze-store.ts).
  await migrateBronzeTables(db);
  return true;
}

/**
 * Supporting tables: not business entities (D3). Large tables carry no PRIMARY KEY: DuckDB's index
 * maintenance would dominate bulk loads; the runner keeps keys unique (and the tests check it).
 */
const SUPPORTING_DDL = [
  `CREATE TABLE IF NOT EXISTS carelake_meta (key VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS ingest_files (
     file_name VARCHAR PRIMARY KEY, file_path VARCHAR, entity VARCHAR, extracted_at TIMESTAMP,
     content_sha256 VARCHAR, size_bytes BIGINT, modified_at TIMESTAMP, status VARCHAR,
     rows_read BIGINT, run_id VARCHAR, ingested_at TIMESTAMP, note VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS pipeline_runs (
     run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
     full_refresh BOOLEAN, files_ingested INTEGER, summary JSON, error VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS quarantine (
     run_id VARCHAR, dataset VARCHAR, rules VARCHAR[], file_name VARCHAR, line_number BIGINT,
     record JSON, quarantined_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS parked_rows (
     dataset VARCHAR, file_name VARCHAR, line_number BIGINT, first_parked_at TIMESTAMP, attempts INTEGER,
     record JSON)`,
  `CREATE TABLE IF NOT EXISTS run_accounting (
     run_id VARCHAR, dataset VARCHAR, file_name VARCHAR, rows_in BIGINT, rows_out BIGINT,
     rows_quarantined BIGINT, rows_parked BIGINT)`,
  `CREATE TABLE IF NOT EXISTS event_log (
     id VARCHAR, sequence JSON, origin JSON, timestamp TIMESTAMP, message VARCHAR, level VARCHAR,
     maturity_level VARCHAR, error JSON, details JSON, event_type VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS silver_patient_sources (
     ${PATIENT_SOURCE_TABLE_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})`,
  `CREATE TABLE IF NOT EXISTS silver_resolved_identity_resolution (
     source_system VARCHAR, source_patient_id ${DT}, patient_id ${DT}, confidence_score DOUBLE,
     match_evidence ${storedType('JSON', true)}, match_rule VARCHAR, resolved_at TIMESTAMP, run_id VARCHAR, match_weight DOUBLE,
     model_version VARCHAR)`,
  ...IDENTITY_DDL,
  `CREATE SEQUENCE IF NOT EXISTS patient_id_seq START 1`,
  supportingTableDdl('bronze_segments'),
  supportingTableDdl('privacy_pseudonyms'),
  supportingTableDdl('landing_retention'),
];

/** Reference tables loaded from the shipped CSV files (data/reference). */
const REFERENCE_TABLES = [
  {
    name: 'ref_icd10cm',
    sql: `SELECT code, description FROM read_csv('${referencePath('icd10cm_codes.csv')}', header = true, all_varchar = true)`,
  },
  {
    name: 'ref_us_states',
    sql: `SELECT state_code, state_name, NULLIF(region, '') AS region, NULLIF(division, '') AS division FROM read_csv('${referencePath('us_states_regions.csv')}', header = true, all_varchar = true)`,
  },
  {
    // Symmetric nickname relation for identity resolution (see definitions/identity/comparisons.ts).
    name: 'identity_nickname_pairs',
    sql: nicknamePairsSql(
      `read_csv('${referencePath('nicknames/names.csv')}', header = true, all_varchar = true)`,
    ),
  },
  {
    name: 'ref_restricted_zip3',
    sql: `SELECT zip3 FROM read_csv('${referencePath('hipaa_restricted_zip3.csv')}', header = true, all_varchar = true)`,
  },
];

/** Creates every table and view the pipeline needs; safe to call on every run. */
export async function ensureSchema(db: Database): Promise<void> {
  for (const ddl of SUPPORTING_DDL) await db.run(ddl);
  await db.run(TABLE_VERSIONS_DDL);
  for (const m of IDENTITY_MIGRATIONS) await db.run(m);
  const migrated = await migrate(db);
  for (const ds of DATASETS) {
    if (ds.kind === 'ingest') continue;
    await db.run(
      ds.kind === 'fact' ? `CREATE OR REPLACE VIEW ${ds.name} AS ${factViewSql(ds)}` : datasetDdl(ds),
    );
  }
  // Bronze datasets are views over their segments, defined by each update that writes some.
  const bronzeViews = await db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'VIEW'
       AND table_name IN (${DATASETS.filter((ds) => ds.kind === 'ingest')
         .map((ds) => `'${ds.name}'`)
         .join(', ')})`,
  );
  if ((bronzeViews?.n ?? 0) < DATASETS.filter((ds) => ds.kind === 'ingest').length)
    await defineBronzeViews(db);
  for (const table of FEED_TABLES) await db.run(changesTableDdl(table));
  for (const v of IDENTITY_VIEWS) await db.run(v);
  for (const v of GOLD_VIEWS) await db.run(`CREATE OR REPLACE VIEW ${v.name} AS ${v.sql}`);
  for (const ref of REFERENCE_TABLES) {
    const exists = await db.one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = '${ref.name}'`,
    );
    if (!exists || exists.n === 0) await db.run(`CREATE TABLE ${ref.name} AS ${ref.sql}`);
  }
  // Written only when it changes: a table written in an update costs the checkpoint at close.
  if (migrated)
    await db.run(
      `INSERT INTO carelake_meta VALUES ('schema_version', '${SCHEMA_VERSION}') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    );
}

/**
 * The tables a full refresh empties (everything derived from the landing files). Silver and gold
 * tables are not here: their rows end as deletes in the change feed (change-feed.ts).
 */
export const DERIVED_TABLES = [
  'bronze_segments',
  'ingest_files',
  'quarantine',
  'parked_rows',
  'silver_patient_sources',
  'silver_resolved_identity_resolution',
  ...IDENTITY_STATE_TABLES,
] as const;
