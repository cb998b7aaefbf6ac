import type { Classification } from '../model.ts';
import type { CatalogColumn, SupportingTable } from '../supporting-tables.ts';
import { BLOCKING_RULES, blockingKeyColumn } from './blocking.ts';
import { GOLDEN_ATTRIBUTES, GOLDEN_TYPES, IDENTITY_RECORD_VALUES } from './records.ts';

type ColumnFactory = (
  name: string,
  type: string,
  classification: Classification,
  description: string,
  pii?: boolean,
) => CatalogColumn;
type OperationalFactory = (name: string, type: string, description: string) => CatalogColumn;

/** The classification of each golden attribute of `silver_enriched_identity_resolution`. */
const GOLDEN_CLASSES: Readonly<Record<string, Classification>> = {
  first_name: 'phi_direct',
  last_name: 'phi_direct',
  birth_date: 'quasi_identifier',
  sex: 'quasi_identifier',
  ssn_hash: 'phi_direct',
  mrn: 'phi_direct',
  member_id: 'phi_direct',
  address: 'phi_direct',
  city: 'phi_direct',
  state: 'quasi_identifier',
  zip: 'quasi_identifier',
  phone: 'phi_direct',
  email: 'phi_direct',
};

/**
 * The PII catalogue of the identity-resolution state tables (DDL in identity/schema.ts). Identity
 * tables hold the compared values of every source record, so most are PHI.
 */
export function identitySupportingTables(c: ColumnFactory, op: OperationalFactory): SupportingTable[] {
  const golden = GOLDEN_ATTRIBUTES.flatMap((a) => [
    c(
      a.name,
      GOLDEN_TYPES[a.name] ?? 'VARCHAR',
      GOLDEN_CLASSES[a.name] ?? 'quasi_identifier',
      `Golden ${a.name}.`,
    ),
    op(`${a.name}_source`, 'VARCHAR', `Source record (system:id) the golden ${a.name} came from.`),
    op(`${a.name}_confidence`, 'DOUBLE', `Confidence of the golden ${a.name}.`),
  ]);
  const recordKeys = [
    op('rid', 'BIGINT', 'Record number inside identity resolution.'),
    op('source_system', 'VARCHAR', 'Source system.'),
    c('source_patient_id', 'VARCHAR', 'phi_direct', 'The source system’s patient id.'),
    op('sys_rank', 'INTEGER', 'Clustering stage of the source system (EHR 1, ADT 2, LAB 3).'),
  ];
  const fingerprint = c(
    'fp',
    'UBIGINT',
    'phi_direct',
    'Fingerprint of the compared fields (the engine’s 64-bit hash): a known record changed when it did.',
  );
  return [
    {
      name: 'identity_records',
      description:
        'The latest version of every source patient record: its record number, patient and fingerprint, and the silver_patient_sources row holding its values.',
      classification: 'PHI',
      columns: [
        ...recordKeys,
        op('extracted_at', 'TIMESTAMP', 'Extract time of this version.'),
        c('patient_id', 'VARCHAR', 'phi_direct', 'Resolved patient id.'),
        op('updated_run_id', 'VARCHAR', 'Update that last changed the record.'),
        fingerprint,
        op('_file_name', 'VARCHAR', 'Landing file of the silver_patient_sources row holding the values.'),
        op('_line_number', 'BIGINT', 'Line of that row in its file.'),
      ],
    },
    {
      name: IDENTITY_RECORD_VALUES,
      description:
        'A view: the identity records with the values resolution compares, read from their silver_patient_sources rows.',
      classification: 'PHI',
      columns: [
        ...recordKeys,
        c('fn', 'VARCHAR', 'phi_direct', 'Normalised first name.'),
        c('ln', 'VARCHAR', 'phi_direct', 'Normalised last name.'),
        c('dob', 'DATE', 'quasi_identifier', 'Birth date.'),
        c('sex', 'VARCHAR', 'quasi_identifier', 'Sex.'),
        c('ssn', 'VARCHAR', 'phi_direct', 'HMAC-SHA256 of the SSN (never the SSN).'),
        c('mrn', 'VARCHAR', 'phi_direct', 'Medical record number.'),
        c('mid', 'VARCHAR', 'phi_direct', 'Insurance member id.'),
        c('addr', 'VARCHAR', 'phi_direct', 'Normalised street address.'),
        c('city', 'VARCHAR', 'phi_direct', 'City.'),
        c('state', 'VARCHAR', 'quasi_identifier', 'State code.'),
        c('zip', 'VARCHAR', 'quasi_identifier', 'Five-digit ZIP.'),
        c('phone', 'VARCHAR', 'phi_direct', 'Phone digits.'),
        c('email', 'VARCHAR', 'phi_direct', 'E-mail.'),
        op('extracted_at', 'TIMESTAMP', 'Extract time of this version.'),
        c('patient_id', 'VARCHAR', 'phi_direct', 'Resolved patient id.'),
        op('updated_run_id', 'VARCHAR', 'Update that last changed the record.'),
        fingerprint,
      ],
    },
    {
      name: 'identity_blocking_keys',
      description:
        'Hashed blocking keys, one row per record and a column per rule (candidate pairs of incremental runs).',
      classification: 'internal',
      columns: [
        op('rid', 'BIGINT', 'Record number.'),
        ...BLOCKING_RULES.map((b) =>
          op(
            blockingKeyColumn(b),
            'UBIGINT',
            `64-bit hash of the ${b.name} key (not reversible to a value list); NULL when a value is missing.`,
          ),
        ),
      ],
    },
    {
      name: 'identity_model_parameters',
      description: 'Trained Fellegi–Sunter parameters (m, u, weight) per comparison level.',
      classification: 'internal',
      columns: [
        op('model_version', 'VARCHAR', 'Model version.'),
        op('comparison', 'VARCHAR', 'Comparison.'),
        op('level', 'INTEGER', 'Level number.'),
        op('level_name', 'VARCHAR', 'Level name.'),
        op('m', 'DOUBLE', 'P(level | same person).'),
        op('u', 'DOUBLE', 'P(level | different people).'),
        op('weight', 'DOUBLE', 'log2(m/u).'),
        op('trained_at', 'TIMESTAMP', 'When.'),
        op('run_id', 'VARCHAR', 'Update that trained it.'),
        op('em_iterations', 'INTEGER', 'EM iterations.'),
        op('candidate_pairs', 'BIGINT', 'Candidate pairs counted.'),
        op('random_pairs', 'BIGINT', 'Random pairs sampled for u.'),
        op('records', 'BIGINT', 'Records at training time.'),
      ],
    },
    {
      name: 'identity_term_frequencies',
      description: 'Name frequencies for the term-frequency adjustment.',
      classification: 'internal',
      columns: [
        op('model_version', 'VARCHAR', 'Model version.'),
        op('column_name', 'VARCHAR', 'fn or ln.'),
        c(
          'value',
          'VARCHAR',
          'quasi_identifier',
          'A name value (aggregate frequency, no record link).',
          false,
        ),
        op('tf', 'DOUBLE', 'Share of records with this value.'),
      ],
    },
    {
      name: 'identity_patient_id_map',
      description: 'Every patient id ever issued and the id it resolves to now (aliases of merges).',
      classification: 'PHI',
      columns: [
        c('issued_id', 'VARCHAR', 'phi_direct', 'Issued patient id.'),
        c('patient_id', 'VARCHAR', 'phi_direct', 'Current patient id.'),
        op('issued_at', 'TIMESTAMP', 'When issued.'),
        op('retired_at', 'TIMESTAMP', 'When merged away (NULL while current).'),
        op('run_id', 'VARCHAR', 'Update.'),
      ],
    },
    {
      name: 'identity_audit',
      description: 'Every merge, split, move and review decision.',
      classification: 'PHI',
      columns: [
        op('event_at', 'TIMESTAMP', 'When.'),
        op('run_id', 'VARCHAR', 'Update.'),
        op('action', 'VARCHAR', 'merge, split, move, review_accept, review_reject.'),
        c('patient_id', 'VARCHAR', 'phi_direct', 'Patient.'),
        c('other_patient_id', 'VARCHAR', 'phi_direct', 'The other patient.'),
        op('source_system', 'VARCHAR', 'Source system of the record concerned.'),
        c('source_patient_id', 'VARCHAR', 'phi_direct', 'Source record concerned.'),
        op('review_id', 'VARCHAR', 'Review decision.'),
        op('details', 'JSON', 'Evidence (level names and weights, no values).'),
      ],
    },
    {
      name: 'identity_review_queue',
      description: 'Pairs in the review band and reviewers’ decisions.',
      classification: 'PHI',
      columns: [
        op('review_id', 'VARCHAR', 'Review id.'),
        op('queued_at', 'TIMESTAMP', 'When queued.'),
        op('run_id', 'VARCHAR', 'Update.'),
        op('left_system', 'VARCHAR', 'Source system of the left record.'),
        c('left_id', 'VARCHAR', 'phi_direct', 'Left source record id.'),
        op('right_system', 'VARCHAR', 'Source system of the right record.'),
        c('right_id', 'VARCHAR', 'phi_direct', 'Right source record id.'),
        c('left_patient_id', 'VARCHAR', 'phi_direct', 'Patient of the left record.'),
        c('right_patient_id', 'VARCHAR', 'phi_direct', 'Patient of the right record.'),
        op('match_probability', 'DOUBLE', 'Match probability.'),
        op('match_weight', 'DOUBLE', 'Match weight.'),
        op('evidence', 'JSON', 'Comparison levels (names, no values).'),
        op('status', 'VARCHAR', 'pending, accepted, rejected.'),
        op('decided_at', 'TIMESTAMP', 'When decided.'),
        op('applied_run_id', 'VARCHAR', 'Update that applied the decision.'),
      ],
    },
    {
      name: 'identity_run_metrics',
      description: 'Identity quality per update: coverage, freshness, confidence, drift, alerts.',
      classification: 'internal',
      columns: [
        op('run_id', 'VARCHAR', 'Update.'),
        op('measured_at', 'TIMESTAMP', 'When.'),
        op('model_version', 'VARCHAR', 'Model.'),
        op('records_total', 'BIGINT', 'Source records.'),
        op('records_resolved', 'BIGINT', 'Resolved source records.'),
        op('work_records', 'BIGINT', 'Records resolved in this update.'),
        op('coverage', 'DOUBLE', 'Share resolved.'),
        op('avg_confidence', 'DOUBLE', 'Average confidence.'),
        op('min_confidence', 'DOUBLE', 'Minimum confidence.'),
        op('confidence_histogram', 'JSON', 'Confidence distribution.'),
        op('patients', 'BIGINT', 'Resolved patients.'),
        op('golden_completeness', 'DOUBLE', 'Average golden-record completeness.'),
        op('max_age_hours', 'DOUBLE', 'Largest identity_resolution_age_hours.'),
        op('avg_age_hours', 'DOUBLE', 'Average identity_resolution_age_hours.'),
        op('match_rate', 'DOUBLE', 'Share of records linked to another record.'),
        op('cluster_sizes', 'JSON', 'Cluster-size distribution.'),
        op('review_pending', 'BIGINT', 'Pairs waiting for review.'),
        op('drift', 'JSON', 'Change against the previous update.'),
        op('alerts', 'JSON', 'SLA violations.'),
        op('stats', 'JSON', 'Phase timings and counts.'),
      ],
    },
    {
      name: 'silver_enriched_identity_resolution',
      description: 'Golden record per resolved patient, each attribute with its source and confidence.',
      classification: 'PHI',
      columns: [
        c('patient_id', 'VARCHAR', 'phi_direct', 'Resolved patient id.'),
        op('record_count', 'BIGINT', 'Source records of the patient.'),
        op('effective_at', 'TIMESTAMP', 'Newest extract time among its records (point in time).'),
        ...golden,
        op('golden_completeness', 'DOUBLE', 'Share of golden attributes present.'),
        op('resolved_at', 'TIMESTAMP', 'When resolved.'),
        op('identity_resolution_age_hours', 'DOUBLE', 'Resolution time minus newest extract, hours.'),
        op('model_version', 'VARCHAR', 'Model.'),
        op('run_id', 'VARCHAR', 'Update.'),
      ],
    },
    {
      name: 'identity_nickname_pairs',
      description: 'Symmetric nickname relation (reference data, Apache-2.0).',
      classification: 'reference',
      columns: [
        op('name_a', 'VARCHAR', 'A first name.'),
        op('name_b', 'VARCHAR', 'A nickname of it, or the reverse.'),
      ],
    },
  ];
}
