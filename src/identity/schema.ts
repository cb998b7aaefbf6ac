import { BLOCKING_RULES, blockingKeyColumn } from '../definitions/identity/blocking.ts';
import {
  GOLDEN_ATTRIBUTES,
  GOLDEN_TYPES,
  fingerprintSql,
  IDENTITY_RECORD_VALUES,
  identityFieldsSql,
  identityRecordValuesSql,
} from '../definitions/identity/records.ts';
import type { Database } from '../engine/database.ts';
import { DISTINCT_TEXT as DT } from '../dialect/duckdb.ts';

/**
 * Identity-resolution state tables (created by runner/schema.ts with the rest of the lakehouse).
 * Large tables carry no PRIMARY KEY (bulk loads); the identity module keeps their keys unique.
 */
// Attributes whose values nearly all differ between patients, and the source record ids, are stored
// uncompressed (DT, the dialect's storedType); so are the identity records' ids and contact fields.
const DISTINCT_ATTRIBUTES = new Set(['ssn_hash', 'mrn', 'member_id', 'address', 'phone', 'email']);
const enrichedColumns = GOLDEN_ATTRIBUTES.map(
  (a) =>
    `${a.name} ${GOLDEN_TYPES[a.name] ?? (DISTINCT_ATTRIBUTES.has(a.name) ? DT : 'VARCHAR')}, ${a.name}_source ${DT}, ${a.name}_confidence DOUBLE`,
).join(',\n     ');

const IDENTITY_RECORDS_DDL = `CREATE TABLE IF NOT EXISTS identity_records (
     rid BIGINT, source_system VARCHAR, source_patient_id ${DT}, sys_rank INTEGER, extracted_at TIMESTAMP,
     patient_id ${DT}, updated_run_id VARCHAR, fp UBIGINT, _file_name VARCHAR, _line_number BIGINT)`;

/** The blocking keys, one row per identity record (see blockingKeysByRecordSql). */
export const BLOCKING_KEYS_DDL = `CREATE TABLE IF NOT EXISTS identity_blocking_keys (rid BIGINT, ${BLOCKING_RULES.map(
  (b) => `${blockingKeyColumn(b)} UBIGINT`,
).join(', ')})`;

export const IDENTITY_DDL = [
  // The latest version of every source patient record: its record id, patient and fingerprint, and
  // the silver_patient_sources row that holds its values (`_file_name`, `_line_number`; the values are
  // read through identity_record_values, not stored twice).
  IDENTITY_RECORDS_DDL,
  BLOCKING_KEYS_DDL,
  `CREATE TABLE IF NOT EXISTS identity_model_parameters (
     model_version VARCHAR, comparison VARCHAR, level INTEGER, level_name VARCHAR, m DOUBLE, u DOUBLE,
     weight DOUBLE, trained_at TIMESTAMP, run_id VARCHAR, em_iterations INTEGER, candidate_pairs BIGINT,
     random_pairs BIGINT, records BIGINT)`,
  `CREATE TABLE IF NOT EXISTS identity_term_frequencies (
     model_version VARCHAR, column_name VARCHAR, value VARCHAR, tf DOUBLE)`,
  // Every patient id ever issued and the id it resolves to now (a retired id points at its survivor).
  `CREATE TABLE IF NOT EXISTS identity_patient_id_map (
     issued_id ${DT}, patient_id ${DT}, issued_at TIMESTAMP, retired_at TIMESTAMP, run_id VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS identity_audit (
     event_at TIMESTAMP, run_id VARCHAR, action VARCHAR, patient_id VARCHAR, other_patient_id VARCHAR,
     source_system VARCHAR, source_patient_id VARCHAR, review_id VARCHAR, details JSON)`,
  `CREATE TABLE IF NOT EXISTS identity_review_queue (
     review_id VARCHAR, queued_at TIMESTAMP, run_id VARCHAR, left_system VARCHAR, left_id VARCHAR,
     right_system VARCHAR, right_id VARCHAR, left_patient_id VARCHAR, right_patient_id VARCHAR,
     match_probability DOUBLE, match_weight DOUBLE, evidence JSON, status VARCHAR, decided_at TIMESTAMP,
     applied_run_id VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS identity_run_metrics (
     run_id VARCHAR, measured_at TIMESTAMP, model_version VARCHAR, records_total BIGINT, records_resolved BIGINT,
     work_records BIGINT, coverage DOUBLE, avg_confidence DOUBLE, min_confidence DOUBLE,
     confidence_histogram JSON, patients BIGINT, golden_completeness DOUBLE, max_age_hours DOUBLE,
     avg_age_hours DOUBLE, match_rate DOUBLE, cluster_sizes JSON, review_pending BIGINT, drift JSON,
     alerts JSON, stats JSON)`,
  `CREATE TABLE IF NOT EXISTS silver_enriched_identity_resolution (
     patient_id ${DT}, record_count BIGINT, effective_at TIMESTAMP,
     ${enrichedColumns},
     golden_completeness DOUBLE, resolved_at TIMESTAMP, identity_resolution_age_hours DOUBLE,
     model_version VARCHAR, run_id VARCHAR)`,
];

/**
 * The identity records with the values resolution compares (created once the tables are migrated: a
 * lakehouse of schema 3 stored the values in identity_records itself).
 */
export const IDENTITY_VIEWS = [
  `CREATE OR REPLACE VIEW ${IDENTITY_RECORD_VALUES} AS ${identityRecordValuesSql('identity_records', 'silver_patient_sources')}`,
];

/**
 * Schema 3 → 4: identity_records held the compared values of each record, a second copy of its
 * silver_patient_sources row (writing them took 2.5-3 s of a 1M-people first load). The records keep
 * their ids, patients and fingerprints, and point at the source row with the same values (the latest
 * of those, as the records were built). Returns whether it migrated.
 */
export async function migrateIdentityRecords(db: Database): Promise<boolean> {
  const wide = await db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM information_schema.columns
     WHERE table_schema = 'main' AND table_name = 'identity_records' AND column_name = 'fn'`,
  );
  if (!wide?.n) return false;
  await db.run(`ALTER TABLE identity_records RENAME TO identity_records_schema3`);
  await db.run(IDENTITY_RECORDS_DDL);
  await db.run(`INSERT INTO identity_records
    SELECT r.rid, r.source_system, r.source_patient_id, r.sys_rank, r.extracted_at, r.patient_id, r.updated_run_id,
      r.fp, s._file_name, s._line_number
    FROM identity_records_schema3 r
    LEFT JOIN (SELECT s._file_name, s._line_number, s._extracted_at, s.source_system, s.source_patient_id,
        ${identityFieldsSql('s')} FROM silver_patient_sources s) s
      ON s.source_system = r.source_system AND s.source_patient_id = r.source_patient_id
    QUALIFY ROW_NUMBER() OVER (PARTITION BY r.rid
      ORDER BY ${fingerprintSql('s')} = ${fingerprintSql('r')} DESC NULLS LAST, s._extracted_at = r.extracted_at DESC NULLS LAST,
        s._extracted_at DESC, s._file_name DESC, s._line_number DESC) = 1`);
  await db.run(`DROP TABLE identity_records_schema3`);
  return true;
}

/** Columns added to tables created by an earlier version (idempotent). */
export const IDENTITY_MIGRATIONS = [
  `ALTER TABLE silver_resolved_identity_resolution ADD COLUMN IF NOT EXISTS match_weight DOUBLE`,
  `ALTER TABLE silver_resolved_identity_resolution ADD COLUMN IF NOT EXISTS model_version VARCHAR`,
  // The fingerprint of the compared fields; filled by resolveIdentities (its hash check).
  `ALTER TABLE identity_records ADD COLUMN IF NOT EXISTS fp UBIGINT`,
];

/**
 * Identity tables a full refresh empties (rebuilt from the landing files). The review queue and the
 * audit history survive: reviewers' decisions are keyed by source records and applied again.
 */
export const IDENTITY_STATE_TABLES = [
  'identity_records',
  'identity_blocking_keys',
  'identity_model_parameters',
  'identity_term_frequencies',
  'identity_patient_id_map',
  'silver_enriched_identity_resolution',
] as const;
