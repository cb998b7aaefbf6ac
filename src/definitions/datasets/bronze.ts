import type { Dialect } from '../../dialect/dialect.ts';
import {
  LANDING_COLUMNS,
  SOURCE_SYSTEMS,
  CLAIMS_SOURCE_SYSTEM,
  EVENT_SOURCE_SYSTEMS,
  type Entity,
} from '../entities.ts';
import {
  phiProperties,
  type Classification,
  type Column,
  type Expectation,
  type IngestDataset,
} from '../model.ts';
import { REDACTED_VALUE } from '../ssn.ts';

const CLASSIFICATION: Record<string, Classification> = {
  patient_id: 'phi_direct',
  mrn: 'phi_direct',
  first_name: 'phi_direct',
  last_name: 'phi_direct',
  date_of_birth: 'phi_direct',
  gender: 'quasi_identifier',
  address_line1: 'phi_direct',
  city: 'phi_direct',
  state: 'quasi_identifier',
  zip_code: 'phi_direct',
  phone: 'phi_direct',
  email: 'phi_direct',
  ssn: 'phi_direct',
  ssn_hash: 'phi_direct',
  insurance_id: 'phi_direct',
  bmi: 'clinical',
  smoker: 'clinical',
  children: 'quasi_identifier',
  charges: 'financial',
  insurance_plan: 'operational',
  coverage_start_date: 'phi_direct',
  claim_amount: 'financial',
  claim_date: 'phi_direct',
  diagnosis_code: 'clinical',
  procedure_code: 'clinical',
  claim_status: 'financial',
  event_date: 'phi_direct',
  event_type: 'clinical',
  medical_provider: 'operational',
};

/** Landing columns whose values nearly all differ (a storage hint, see Column.distinctValues). */
const DISTINCT_VALUES = new Set(['patient_id', 'claim_id', 'event_id', 'mrn', 'insurance_id']);

function landingColumn(name: string): Column {
  return {
    name,
    type: 'VARCHAR',
    nullable: true,
    classification: CLASSIFICATION[name] ?? 'operational',
    ...(DISTINCT_VALUES.has(name) ? { distinctValues: true } : {}),
    description:
      name === 'ssn'
        ? 'Always NULL: the raw SSN is hashed the moment it is read and never stored.'
        : `Raw ${name.replaceAll('_', ' ')} as delivered.`,
  };
}

/** Pipeline-added lineage columns on every bronze row. */
export const LINEAGE_COLUMNS: readonly Column[] = [
  {
    name: '_ingested_at',
    type: 'TIMESTAMP',
    nullable: false,
    classification: 'operational',
    description: 'When the row was ingested.',
  },
  {
    name: '_file_name',
    type: 'VARCHAR',
    nullable: false,
    classification: 'operational',
    description: 'Landing file name.',
  },
  {
    name: '_file_path',
    type: 'VARCHAR',
    nullable: false,
    classification: 'operational',
    description: 'Landing file path.',
  },
  {
    name: '_rescued_data',
    type: 'JSON',
    nullable: true,
    classification: 'operational',
    description: 'Values of columns the contract does not know, as a JSON object.',
  },
  {
    name: '_line_number',
    type: 'BIGINT',
    nullable: false,
    classification: 'operational',
    description: 'Physical line of the row in its file (header = 1).',
  },
  {
    name: '_extracted_at',
    type: 'TIMESTAMP',
    nullable: false,
    classification: 'operational',
    description: 'Extract time from the file name: the effective time of the row.',
  },
  {
    name: '_run_id',
    type: 'VARCHAR',
    nullable: false,
    classification: 'operational',
    description: 'The pipeline update that ingested the row.',
  },
];

const SSN_HASH_COLUMNS: readonly Column[] = [
  {
    name: 'ssn_hash',
    type: 'VARCHAR',
    nullable: true,
    classification: 'phi_direct',
    description: 'HMAC-SHA256 (hex) of the normalised SSN under the secret key.',
    distinctValues: true,
  },
  {
    name: '_ssn_key_id',
    type: 'VARCHAR',
    nullable: true,
    classification: 'operational',
    description: 'Id of the key that produced ssn_hash.',
  },
];

const wellFormed: Expectation = {
  name: 'malformed_csv_row',
  action: 'drop',
  description: 'The line has as many fields as the header.',
  sql: () => '_field_count = _header_field_count',
};

const rescued: Expectation = {
  name: 'rescued_data_null',
  action: 'warn',
  description: 'No value fell outside the column contract (kept in _rescued_data, never lost).',
  sql: () => '_rescued_data IS NULL',
};

/** TRUE unless `column` holds the mark of a value the read withheld as an SSN (see withoutSsnSql). */
const notWithheld = (column: string): string => `${column} <> '${REDACTED_VALUE}'`;

/**
 * No landing value of the row held an SSN: a value found holding one (its printed form anywhere in any
 * column, or a patients row's own SSN; see withoutSsnSql) is stored whole as [REDACTED] by the
 * read itself, so the raw SSN reaches no table, and the row is counted here. Warn: the rest is kept.
 */
const ssnElsewhere = (entity: Entity): Expectation => ({
  name: 'ssn_outside_ssn_column',
  action: 'warn',
  description: `No value outside the ssn column holds an SSN (such a value is stored as ${REDACTED_VALUE}).`,
  sql: (d) =>
    `${d.string(REDACTED_VALUE)} NOT IN (${LANDING_COLUMNS[entity]
      .filter((c) => c !== 'ssn')
      .map((c) => `COALESCE(${d.ident(c)}, '')`)
      .join(', ')})`,
});

/**
 * TRUE when a name marks a test record. The spec's rule (`LIKE '%TEST%'`) also dropped real people
 * named Testa, Tester or Testerman, so TEST must be a word of its own (or begin TESTPATIENT), or the
 * name must begin ZZZ or ZZTEST, as test records are named to sort last (not just ZZ: a typo such as
 * Zzachary is a real name). The LIKE tests go first: the regular expression runs only on the few
 * names that begin ZZ or contain TEST.
 */
export const TEST_NAME_PATTERN = '^ZZ(Z|TEST)|(^|[^A-Z])TEST([^A-Z]|$)|^TEST ?PATIENT';
function isTestName(d: Dialect, column: string): string {
  const name = d.upper(`COALESCE(${column}, '')`);
  return `((${name} LIKE 'ZZ%' OR ${name} LIKE '%TEST%') AND ${d.regexpMatches(name, TEST_NAME_PATTERN)})`;
}

const PATIENT_EXPECTATIONS: readonly Expectation[] = [
  wellFormed,
  {
    name: 'valid_patient_id',
    action: 'drop',
    description: `patient_id is present, at least 5 characters long, and no SSN (read as ${REDACTED_VALUE}).`,
    sql: () => `patient_id IS NOT NULL AND LENGTH(patient_id) >= 5 AND ${notWithheld('patient_id')}`,
  },
  {
    name: 'no_test_patients',
    action: 'drop',
    description:
      'No test records: a name that is TEST as a word (TEST, TEST PATIENT, PATIENT TEST1), or begins TESTPATIENT, ZZZ or ZZTEST. A surname such as Testa or Tester is a real name.',
    sql: (d) => `NOT (${isTestName(d, 'first_name')} OR ${isTestName(d, 'last_name')})`,
  },
  {
    name: 'hipaa_compliant',
    action: 'drop',
    description: 'No raw SSN is stored (holds by construction: the SSN is hashed on read).',
    sql: () => 'ssn IS NULL OR LENGTH(ssn) = 0',
  },
  {
    name: 'valid_source',
    action: 'drop',
    description: 'source_system is one of the three patient systems.',
    sql: (d) => d.oneOf('source_system', SOURCE_SYSTEMS),
  },
  {
    name: 'valid_ssn_format',
    action: 'warn',
    description:
      'A delivered SSN is a usable number: 9 digits, no part all zeros, not area 666, not one digit nine times, not a placeholder such as 123-45-6789 (others are not hashed and count as missing).',
    sql: () => '_ssn_present = false OR ssn_hash IS NOT NULL',
  },
  rescued,
  ssnElsewhere('patients'),
];

const CLAIM_EXPECTATIONS: readonly Expectation[] = [
  wellFormed,
  {
    name: 'valid_claim_id',
    action: 'drop',
    description: `claim_id is present and no SSN (read as ${REDACTED_VALUE}).`,
    sql: () => `claim_id IS NOT NULL AND ${notWithheld('claim_id')}`,
  },
  {
    name: 'valid_claims_source',
    action: 'warn',
    description: `source_system is ${CLAIMS_SOURCE_SYSTEM}.`,
    sql: () => `source_system = '${CLAIMS_SOURCE_SYSTEM}'`,
  },
  rescued,
  ssnElsewhere('claims'),
];

const EVENT_EXPECTATIONS: readonly Expectation[] = [
  wellFormed,
  {
    name: 'valid_event_id',
    action: 'drop',
    description: `event_id is present and no SSN (read as ${REDACTED_VALUE}).`,
    sql: () => `event_id IS NOT NULL AND ${notWithheld('event_id')}`,
  },
  {
    name: 'valid_event_source',
    action: 'drop',
    description: `source_system is ${EVENT_SOURCE_SYSTEMS.join(' or ')}.`,
    sql: (d) => d.oneOf('source_system', EVENT_SOURCE_SYSTEMS),
  },
  rescued,
  ssnElsewhere('medical_events'),
];

const EXPECTATIONS: Record<Entity, readonly Expectation[]> = {
  patients: PATIENT_EXPECTATIONS,
  claims: CLAIM_EXPECTATIONS,
  medical_events: EVENT_EXPECTATIONS,
};

const KEYS: Record<Entity, readonly string[]> = {
  patients: ['source_system', 'patient_id'],
  claims: ['claim_id'],
  medical_events: ['event_id'],
};

function bronze(entity: Entity): IngestDataset {
  const columns = [
    ...LANDING_COLUMNS[entity].map(landingColumn),
    ...(entity === 'patients' ? SSN_HASH_COLUMNS : []),
    ...LINEAGE_COLUMNS,
  ];
  return {
    kind: 'ingest',
    name: `bronze_${entity}`,
    layer: 'bronze',
    entity,
    description: `Raw ${entity.replace('_', ' ')} rows from the landing files, all values as text.`,
    upstream: [],
    landingColumns: LANDING_COLUMNS[entity],
    columns,
    expectations: EXPECTATIONS[entity],
    keys: KEYS[entity],
    clusterBy: ['_file_name'],
    partitionBy: [],
    properties: { ...phiProperties(columns), quality: 'bronze' },
  };
}

export const bronzePatients = bronze('patients');
export const bronzeClaims = bronze('claims');
export const bronzeMedicalEvents = bronze('medical_events');
