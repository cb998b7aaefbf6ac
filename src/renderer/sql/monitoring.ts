import type { Dialect } from '../../dialect/dialect.ts';
import { fileHeader } from './ddl.ts';
import { USE_TARGET } from './governance.ts';

/**
 * The spec's level-4 (data quality and HIPAA) and level-5 (identity resolution) validation queries,
 * each an assertion: the query fails, and so its job task, when the expectation does not hold.
 * Thresholds follow the spec; `silver_enriched_identity_resolution` does not exist here, so the
 * freshness check reads when the identity relation was last resolved.
 */
export interface ValidationCheck {
  readonly key: string;
  readonly level: 4 | 5;
  readonly description: string;
  /** A query returning one row with `value`. */
  readonly query: string;
  /** A boolean over `value` that must hold. */
  readonly holds: string;
}

export const VALIDATION_CHECKS: readonly ValidationCheck[] = [
  {
    key: 'l4_patient_volume',
    level: 4,
    description: 'Bronze holds patients (spec: more than 1,000 in a test deployment).',
    query: 'SELECT COUNT(*) AS value FROM bronze_patients WHERE patient_id IS NOT NULL',
    holds: 'value > 1000',
  },
  {
    key: 'l4_no_raw_ssn',
    level: 4,
    description: 'No raw SSN is stored: bronze keeps only the HMAC (ssn is always NULL).',
    query: 'SELECT COUNT(*) AS value FROM bronze_patients WHERE ssn IS NOT NULL',
    holds: 'value = 0',
  },
  {
    key: 'l4_elderly_deidentified',
    level: 4,
    description: 'No age above 89 other than 90 (Safe Harbor).',
    query: 'SELECT COUNT(*) AS value FROM silver_patients WHERE age_years > 89 AND age_years <> 90',
    holds: 'value = 0',
  },
  {
    key: 'l4_no_orphaned_claims',
    level: 4,
    description: 'Every claim references a patient.',
    query:
      'SELECT COUNT(*) AS value FROM silver_claims c LEFT JOIN (SELECT DISTINCT patient_id FROM silver_patients) p ON c.patient_id = p.patient_id WHERE p.patient_id IS NULL',
    holds: 'value = 0',
  },
  {
    key: 'l4_data_quality_score',
    level: 4,
    description: 'Average data quality score at least 0.95.',
    query: 'SELECT AVG(data_quality_score) AS value FROM silver_patients',
    holds: 'value >= 0.95',
  },
  {
    key: 'l5_identity_confidence',
    level: 5,
    description: 'Average confidence of confident identity links at least 0.90.',
    query:
      'SELECT AVG(confidence_score) AS value FROM silver_resolved_identity_resolution WHERE confidence_score >= 0.85',
    holds: 'value >= 0.90',
  },
  {
    key: 'l5_identity_freshness',
    level: 5,
    description: 'Identity resolution is at most 4 hours old.',
    query:
      'SELECT (UNIX_TIMESTAMP(current_timestamp()) - UNIX_TIMESTAMP(MAX(resolved_at))) / 3600.0 AS value FROM silver_resolved_identity_resolution',
    holds: 'value <= 4',
  },
];

/** The assertion of a check (portable: Spark runs it too). */
export const assertionSql = (d: Dialect, c: ValidationCheck): string =>
  `SELECT value, assert_true(COALESCE(${c.holds}, FALSE), ${d.string(`${c.key} failed: ${c.description}`)}) AS ok
FROM (${c.query}) q`;

/** A validation file for a SQL task, over the pipeline's catalog and schema. */
export function validationSql(d: Dialect, c: ValidationCheck): string {
  return [fileHeader(`Level ${c.level}: ${c.description}`), USE_TARGET, `${assertionSql(d, c)};\n`].join(
    '\n',
  );
}
