import type { Classification } from './model.ts';
import { identitySupportingTables } from './identity/catalog.ts';

/**
 * The PII catalogue of the supporting tables (D3: not business entities): run history, file
 * bookkeeping, quarantine, identity resolution, reference data and the privacy tables. The nine
 * datasets classify their own columns (`datasets/*`); together they classify every column of every
 * table in the lakehouse (`carelake catalog`, checked by test/privacy/catalog.test.ts).
 */
export interface CatalogColumn {
  readonly name: string;
  readonly type: string;
  readonly classification: Classification;
  /** Identifies a person alone or combined with other columns; defaults from the classification. */
  readonly pii?: boolean;
  readonly description: string;
}

/** PHI: holds (or links to) individually identifiable health information; internal: no PHI. */
export type TableClassification = 'PHI' | 'internal' | 'reference';

export interface SupportingTable {
  readonly name: string;
  readonly description: string;
  readonly classification: TableClassification;
  readonly columns: readonly CatalogColumn[];
}

/** The PII flag of a column: explicit, or true for direct identifiers and quasi-identifiers. */
export function isPii(column: { readonly classification: Classification; readonly pii?: boolean }): boolean {
  return (
    column.pii ?? (column.classification === 'phi_direct' || column.classification === 'quasi_identifier')
  );
}

const c = (
  name: string,
  type: string,
  classification: Classification,
  description: string,
  pii?: boolean,
): CatalogColumn => ({ name, type, classification, description, ...(pii === undefined ? {} : { pii }) });

const op = (name: string, type: string, description: string): CatalogColumn =>
  c(name, type, 'operational', description);

const IDENTITY_SUPPORTING_TABLES = identitySupportingTables(c, op);

export const SUPPORTING_TABLES: readonly SupportingTable[] = [
  {
    name: 'carelake_meta',
    description: 'Key/value settings of the lakehouse: schema version, pipeline id, SSN key id.',
    classification: 'internal',
    columns: [op('key', 'VARCHAR', 'Setting name.'), op('value', 'VARCHAR', 'Setting value (never a key).')],
  },
  {
    name: 'ingest_files',
    description: 'Every landing file seen: content hash, size, status, rows read.',
    classification: 'internal',
    columns: [
      op('file_name', 'VARCHAR', 'Landing file name.'),
      op('file_path', 'VARCHAR', 'Path the file was read from.'),
      op('entity', 'VARCHAR', 'patients, claims or medical_events.'),
      op('extracted_at', 'TIMESTAMP', 'Extract time from the file name.'),
      op('content_sha256', 'VARCHAR', 'SHA-256 of the file content.'),
      op('size_bytes', 'BIGINT', 'File size.'),
      op('modified_at', 'TIMESTAMP', 'File modification time.'),
      op('status', 'VARCHAR', 'ingested or duplicate_content.'),
      op('rows_read', 'BIGINT', 'Records read.'),
      op('run_id', 'VARCHAR', 'The update that ingested it.'),
      op('ingested_at', 'TIMESTAMP', 'When it was ingested.'),
      op('note', 'VARCHAR', 'Why it was not ingested, or changed after ingestion.'),
    ],
  },
  {
    name: 'pipeline_runs',
    description: 'One row per pipeline update.',
    classification: 'internal',
    columns: [
      op('run_id', 'VARCHAR', 'Update id.'),
      op('started_at', 'TIMESTAMP', 'Start.'),
      op('finished_at', 'TIMESTAMP', 'End.'),
      op('status', 'VARCHAR', 'RUNNING, COMPLETED, FAILED or INTERRUPTED.'),
      op('full_refresh', 'BOOLEAN', 'Whether every table was rebuilt.'),
      op('files_ingested', 'INTEGER', 'Files ingested.'),
      op('summary', 'JSON', 'Flows and identity statistics (counts only).'),
      op('error', 'VARCHAR', 'Why it failed (SSN-shaped text redacted).'),
    ],
  },
  {
    name: 'quarantine',
    description: 'Rejected rows with the rules they failed and their content (SSN hashed or redacted).',
    classification: 'PHI',
    columns: [
      op('run_id', 'VARCHAR', 'Update that rejected the row.'),
      op('dataset', 'VARCHAR', 'Dataset that rejected it.'),
      op('rules', 'VARCHAR[]', 'Names of the failed rules.'),
      op('file_name', 'VARCHAR', 'Landing file.'),
      op('line_number', 'BIGINT', 'Line in the file.'),
      c('record', 'JSON', 'phi_direct', 'The rejected row (names, dates, addresses; SSN only as its HMAC).'),
      op('quarantined_at', 'TIMESTAMP', 'When.'),
    ],
  },
  {
    name: 'parked_rows',
    description: 'Claims and events waiting for their patient, with their bronze rows for the retry.',
    classification: 'PHI',
    columns: [
      op('dataset', 'VARCHAR', 'Silver dataset that parked the row.'),
      op('file_name', 'VARCHAR', 'Landing file.'),
      op('line_number', 'BIGINT', 'Line in the file.'),
      op('first_parked_at', 'TIMESTAMP', 'First parked.'),
      op('attempts', 'INTEGER', 'Retries so far.'),
      c(
        'record',
        'JSON',
        'phi_direct',
        'The bronze row, retried from here on later updates (claims and events carry no SSN).',
      ),
    ],
  },
  {
    name: 'run_accounting',
    description: 'Rows in = out + quarantined + parked, per update, dataset and file.',
    classification: 'internal',
    columns: [
      op('run_id', 'VARCHAR', 'Update.'),
      op('dataset', 'VARCHAR', 'Dataset.'),
      op('file_name', 'VARCHAR', 'Landing file.'),
      op('rows_in', 'BIGINT', 'Rows in.'),
      op('rows_out', 'BIGINT', 'Rows out.'),
      op('rows_quarantined', 'BIGINT', 'Rows quarantined.'),
      op('rows_parked', 'BIGINT', 'Rows parked.'),
    ],
  },
  {
    name: 'event_log',
    description: 'The Lakeflow-shaped event log (messages hold counts and file names, not values).',
    classification: 'internal',
    columns: [
      op('id', 'VARCHAR', 'Event id.'),
      op('sequence', 'JSON', 'Ordering.'),
      op('origin', 'JSON', 'Pipeline and update.'),
      op('timestamp', 'TIMESTAMP', 'When.'),
      op('message', 'VARCHAR', 'Text.'),
      op('level', 'VARCHAR', 'INFO, WARN, ERROR or METRICS.'),
      op('maturity_level', 'VARCHAR', 'STABLE.'),
      op('error', 'JSON', 'Error details.'),
      op('details', 'JSON', 'Flow progress, expectations.'),
      op('event_type', 'VARCHAR', 'Event type.'),
    ],
  },
  {
    name: 'silver_patient_sources',
    description: 'Every source patient record, normalised, with its resolved patient id.',
    classification: 'PHI',
    columns: [
      op('source_system', 'VARCHAR', 'EHR_SYSTEM, ADT_SYSTEM or LAB_SYSTEM.'),
      c('source_patient_id', 'VARCHAR', 'phi_direct', 'The source system’s patient id (a record number).'),
      c('patient_id', 'VARCHAR', 'phi_direct', 'Resolved patient id.'),
      c('first_name_norm', 'VARCHAR', 'phi_direct', 'First name, normalised.'),
      c('last_name_norm', 'VARCHAR', 'phi_direct', 'Last name, normalised.'),
      c('birth_date', 'DATE', 'phi_direct', 'Date of birth.'),
      c('sex', 'VARCHAR', 'quasi_identifier', 'M, F or U.'),
      c('state_code', 'VARCHAR', 'quasi_identifier', 'State.'),
      c('region', 'VARCHAR', 'quasi_identifier', 'Census region.'),
      c('city_norm', 'VARCHAR', 'phi_direct', 'City (smaller than a state).'),
      c('address_norm', 'VARCHAR', 'phi_direct', 'Street address.'),
      c('zip5', 'VARCHAR', 'phi_direct', 'Five-digit ZIP code.'),
      c('phone_digits', 'VARCHAR', 'phi_direct', 'Telephone number.'),
      c('email_norm', 'VARCHAR', 'phi_direct', 'E-mail address.'),
      c('mrn', 'VARCHAR', 'phi_direct', 'Medical record number.'),
      c('insurance_id_norm', 'VARCHAR', 'phi_direct', 'Health plan beneficiary number.'),
      c('ssn_hash', 'VARCHAR', 'phi_direct', 'HMAC-SHA256 of the SSN (keyed; never the SSN).'),
      op('_ssn_key_id', 'VARCHAR', 'Id of the key that produced ssn_hash.'),
      c('bmi', 'DOUBLE', 'clinical', 'Body mass index.'),
      c('smoker', 'BOOLEAN', 'clinical', 'Smoking status.'),
      c('children', 'INTEGER', 'quasi_identifier', 'Number of children.'),
      c('charges', 'DOUBLE', 'financial', 'Medical charges.'),
      op('insurance_plan', 'VARCHAR', 'Plan type.'),
      c('coverage_start_date', 'DATE', 'phi_direct', 'Coverage start date.'),
      c('age_years', 'INTEGER', 'quasi_identifier', 'Age at extract (89 and over as 90).'),
      op('data_quality_score', 'DOUBLE', 'Completeness score.'),
      op('_priority', 'DOUBLE', 'Source trust and recency.'),
      op('_file_name', 'VARCHAR', 'Landing file.'),
      op('_line_number', 'BIGINT', 'Line in the file.'),
      op('_extracted_at', 'TIMESTAMP', 'Extract time.'),
      op('_run_id', 'VARCHAR', 'Update.'),
    ],
  },
  {
    name: 'silver_resolved_identity_resolution',
    description: 'Which source records were resolved to which patient, with the evidence.',
    classification: 'PHI',
    columns: [
      op('source_system', 'VARCHAR', 'Source system.'),
      c('source_patient_id', 'VARCHAR', 'phi_direct', 'The source system’s patient id.'),
      c('patient_id', 'VARCHAR', 'phi_direct', 'Resolved patient id.'),
      op('confidence_score', 'DOUBLE', 'Match confidence.'),
      op('match_evidence', 'JSON', 'Which keys agreed (names of keys, not values).'),
      op('match_rule', 'VARCHAR', 'Rule that linked the record.'),
      op('resolved_at', 'TIMESTAMP', 'When.'),
      op('run_id', 'VARCHAR', 'Update.'),
      op('match_weight', 'DOUBLE', 'Fellegi–Sunter match weight of the deciding link.'),
      op('model_version', 'VARCHAR', 'Model that decided (fs-v1.N).'),
    ],
  },
  ...IDENTITY_SUPPORTING_TABLES,
  {
    name: 'bronze_segments',
    description:
      'The Parquet files (segments) that hold the bronze rows in the DuckDB lakehouse, one per ingested landing file.',
    classification: 'internal',
    columns: [
      op('dataset', 'VARCHAR', 'Bronze dataset.'),
      op('segment', 'VARCHAR', 'The file, relative to the segments folder (<db>.bronze).'),
      op('file_name', 'VARCHAR', 'Landing file whose rows it holds.'),
      op('run_id', 'VARCHAR', 'Update that wrote it.'),
      op('rows_written', 'BIGINT', 'Bronze rows it holds (rejected rows not counted).'),
      op(
        'dropped',
        'BIGINT[]',
        'Positions of the rows the bronze expectations rejected (in the quarantine).',
      ),
      op('written_at', 'TIMESTAMP', 'When.'),
    ],
  },
  {
    name: 'table_versions',
    description: 'Change-feed versions per silver and gold table (like Delta table versions).',
    classification: 'internal',
    columns: [
      op('table_name', 'VARCHAR', 'Table.'),
      op('version', 'BIGINT', 'Version number (per table).'),
      op('commit_timestamp', 'TIMESTAMP', 'When the version committed (the update start).'),
      op('run_id', 'VARCHAR', 'Update that wrote it.'),
      op('operation', 'VARCHAR', 'UPDATE or FULL REFRESH.'),
    ],
  },
  {
    name: 'ref_icd10cm',
    description: 'ICD-10-CM codes (reference data).',
    classification: 'reference',
    columns: [op('code', 'VARCHAR', 'Code.'), op('description', 'VARCHAR', 'Description.')],
  },
  {
    name: 'ref_us_states',
    description: 'US states with Census regions (reference data).',
    classification: 'reference',
    columns: [
      op('state_code', 'VARCHAR', 'Two-letter code.'),
      op('state_name', 'VARCHAR', 'Name.'),
      op('region', 'VARCHAR', 'Census region.'),
      op('division', 'VARCHAR', 'Census division.'),
    ],
  },
  {
    name: 'ref_restricted_zip3',
    description: 'The 17 three-digit ZIP prefixes Safe Harbor replaces by 000 (reference data).',
    classification: 'reference',
    columns: [op('zip3', 'VARCHAR', 'ZIP prefix.')],
  },
  {
    name: 'privacy_pseudonyms',
    description:
      'Random export pseudonyms of resolved patients (the re-identification mapping): never exported.',
    classification: 'PHI',
    columns: [
      op('kind', 'VARCHAR', 'What the pseudonym stands for (patient).'),
      c('source_id', 'VARCHAR', 'phi_direct', 'The resolved patient id.'),
      c('pseudonym', 'VARCHAR', 'quasi_identifier', 'Random 80-bit pseudonym used in exports.'),
      op('created_at', 'TIMESTAMP', 'When it was drawn.'),
    ],
  },
  {
    name: 'landing_retention',
    description: 'Landing files archived, deleted or restored by the retention policy.',
    classification: 'internal',
    columns: [
      op('file_name', 'VARCHAR', 'Landing file.'),
      op('content_sha256', 'VARCHAR', 'SHA-256 of the content (checked before acting).'),
      op('action', 'VARCHAR', 'archived, purged or restored.'),
      op('location', 'VARCHAR', 'Where the file is now (NULL once deleted).'),
      op('acted_at', 'TIMESTAMP', 'When.'),
      op('who', 'VARCHAR', 'OS user or CARELAKE_PRINCIPAL.'),
    ],
  },
];

/** DDL of a supporting table from its catalogue entry (used for the privacy tables). */
export function supportingTableDdl(name: string): string {
  const t = SUPPORTING_TABLES.find((s) => s.name === name);
  if (!t) throw new Error(`unknown supporting table ${name}`);
  return `CREATE TABLE IF NOT EXISTS ${t.name} (${t.columns.map((col) => `${col.name} ${col.type}`).join(', ')})`;
}
