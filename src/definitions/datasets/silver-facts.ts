import { CLAIM_STATUSES, EVENT_SOURCE_SYSTEMS, EVENT_TYPES, type EventType } from '../entities.ts';
import { phiProperties, type Column, type Expectation, type TransformDataset } from '../model.ts';
import {
  ICD10_PATTERN,
  PROCEDURE_PATTERN,
  cleanText,
  normaliseIcd10,
  parseDate,
  parseMoney,
} from '../sql-helpers.ts';

/** Rule names the runner applies itself (they need state beyond the row). */
export const ORPHAN_RULE = 'orphan_patient_reference';

const duplicate: Expectation = {
  name: 'duplicate_record',
  action: 'drop',
  description: 'Not a repeat of an earlier row with the same key in the same file.',
  sql: () => 'NOT _is_duplicate',
};

/** A fact without a patient reference cannot be resolved to a patient (one rule for claims and events). */
const patientExists: Expectation = {
  name: 'patient_exists',
  action: 'drop',
  description: 'patient_id is present.',
  sql: () => 'source_patient_id IS NOT NULL',
};

export const SILVER_CLAIM_COLUMNS: readonly Column[] = [
  {
    name: 'claim_id',
    type: 'VARCHAR',
    nullable: false,
    classification: 'operational',
    description: 'Claim id.',
    distinctValues: true,
  },
  {
    name: 'patient_id',
    type: 'VARCHAR',
    nullable: false,
    classification: 'phi_direct',
    description: 'Resolved patient id.',
  },
  {
    name: 'claim_amount',
    type: 'DOUBLE',
    nullable: true,
    classification: 'financial',
    description: 'Billed amount in USD.',
  },
  {
    name: 'claim_date',
    type: 'DATE',
    nullable: true,
    classification: 'phi_direct',
    description: 'Date of service.',
  },
  {
    name: 'diagnosis_code',
    type: 'VARCHAR',
    nullable: true,
    classification: 'clinical',
    description: 'ICD-10-CM code, dotted.',
  },
  {
    name: 'procedure_code',
    type: 'VARCHAR',
    nullable: true,
    classification: 'clinical',
    description: 'CPT or HCPCS Level II code.',
  },
  {
    name: 'claim_status',
    type: 'VARCHAR',
    nullable: true,
    classification: 'financial',
    description: 'submitted, approved, denied or paid.',
    // Any other status fails valid_claim_status (drop): no row with another reaches the table.
    values: CLAIM_STATUSES,
  },
  {
    name: 'claim_category',
    type: 'VARCHAR',
    nullable: true,
    classification: 'clinical',
    description: 'Derived from procedure and diagnosis.',
    values: [
      'ambulance',
      'drug',
      'durable_medical_equipment',
      'emergency',
      'evaluation_management',
      'inpatient',
      'office_visit',
      'other',
      'preventive',
      'procedure',
    ],
  },
  {
    name: 'processed_at',
    type: 'TIMESTAMP',
    nullable: true,
    classification: 'operational',
    description: 'When the pipeline wrote the row.',
  },
];

const STATUS_SYNONYMS: Record<string, string> = {
  pending: 'submitted',
  pend: 'submitted',
  received: 'submitted',
  accepted: 'approved',
  rejected: 'denied',
};

export const silverClaims: TransformDataset = {
  kind: 'transform',
  name: 'silver_claims',
  layer: 'silver',
  entity: 'claims',
  description: 'Claims with parsed amounts and dates, validated codes and the resolved patient.',
  upstream: ['bronze_claims', 'silver_resolved_identity_resolution'],
  patientReference: {
    sourceSystem: () => "'EHR_SYSTEM'",
    sourceId: 'source_patient_id',
    systems: ['EHR_SYSTEM'],
  },
  derived: [
    { name: 'source_patient_id', sql: (d) => cleanText(d, 'patient_id') },
    { name: 'claim_amount', sql: (d) => parseMoney(d, 'claim_amount') },
    { name: 'claim_date', sql: (d) => parseDate(d, 'claim_date', '_extracted_at') },
    { name: 'diagnosis_code', sql: (d) => normaliseIcd10(d, 'diagnosis_code') },
    { name: 'procedure_code', sql: (d) => `NULLIF(${d.upper(d.trim('procedure_code'))}, '')` },
    {
      name: 'claim_status',
      sql: (d) =>
        `CASE ${Object.entries(STATUS_SYNONYMS)
          .map(([k, v]) => `WHEN ${d.lower(d.trim('claim_status'))} = '${k}' THEN '${v}'`)
          .join(' ')} ELSE ${d.lower(d.trim('claim_status'))} END`,
    },
    { name: '_procedure', sql: (d) => d.upper(d.trim('procedure_code')) },
    {
      name: 'claim_category',
      sql: (d) => {
        const dx = normaliseIcd10(d, 'diagnosis_code');
        const emergency = ['99281', '99282', '99283', '99284', '99285'];
        const inpatient = [
          '99221',
          '99222',
          '99223',
          '99231',
          '99232',
          '99233',
          '99234',
          '99235',
          '99236',
          '99238',
          '99239',
        ];
        return `CASE
          WHEN ${dx} >= 'Z00' AND ${dx} < 'Z14' THEN 'preventive'
          WHEN ${d.oneOf('_procedure', emergency)} THEN 'emergency'
          WHEN ${d.oneOf('_procedure', inpatient)} THEN 'inpatient'
          WHEN LENGTH(_procedure) = 5 AND _procedure >= '99200' AND _procedure < '99220' THEN 'office_visit'
          WHEN LENGTH(_procedure) = 5 AND _procedure LIKE '99%' THEN 'evaluation_management'
          WHEN LENGTH(_procedure) = 5 AND _procedure LIKE 'J%' THEN 'drug'
          WHEN LENGTH(_procedure) = 5 AND _procedure LIKE 'A0%' THEN 'ambulance'
          WHEN LENGTH(_procedure) = 5 AND (_procedure LIKE 'E%' OR _procedure LIKE 'K%' OR _procedure LIKE 'L%') THEN 'durable_medical_equipment'
          WHEN LENGTH(_procedure) = 5 AND _procedure >= '00000' AND _procedure <= '99999' THEN 'procedure'
          ELSE 'other' END`;
      },
    },
  ],
  lookups: [{ name: '_diagnosis_listed', table: 'ref_icd10cm', column: 'code', on: 'diagnosis_code' }],
  columns: SILVER_CLAIM_COLUMNS,
  expectations: [
    {
      name: 'valid_claim_amount',
      action: 'drop',
      description: 'Amount parsed strictly and in (0, 1,000,000).',
      sql: () => 'claim_amount > 0 AND claim_amount < 1000000',
    },
    {
      name: 'claim_amount_reversal',
      action: 'drop',
      description: 'Not a negative amount (a reversal; reported as its own reason).',
      sql: () => 'claim_amount IS NULL OR claim_amount >= 0',
    },
    {
      name: 'valid_claim_status',
      action: 'drop',
      description: `Status is one of ${CLAIM_STATUSES.join(', ')}.`,
      sql: (d) => d.oneOf('claim_status', CLAIM_STATUSES),
    },
    {
      name: 'valid_diagnosis_code',
      action: 'drop',
      description: 'ICD-10-CM format and in the shipped code list (D6).',
      sql: (d) =>
        `diagnosis_code IS NULL OR (${d.regexpMatches('diagnosis_code', ICD10_PATTERN)} AND _diagnosis_listed)`,
    },
    {
      name: 'valid_procedure_code',
      action: 'drop',
      description: 'CPT (5 digits, or 4 digits + F/T/U) or HCPCS Level II (letter + 4 digits) format.',
      sql: (d) => `procedure_code IS NULL OR ${d.regexpMatches('procedure_code', PROCEDURE_PATTERN)}`,
    },
    patientExists,
    {
      name: 'valid_claim_date',
      action: 'drop',
      description: 'claim_date parses.',
      sql: () => 'claim_date IS NOT NULL',
    },
    {
      name: 'no_future_claims',
      action: 'drop',
      description: 'claim_date not after the extract time nor the run start.',
      sql: () => 'claim_date <= CAST(LEAST(_extracted_at, _run_started_at) AS DATE)',
    },
    duplicate,
  ],
  keys: ['claim_id'],
  clusterBy: ['patient_id', 'claim_date'],
  partitionBy: [],
  properties: { ...phiProperties(SILVER_CLAIM_COLUMNS), quality: 'silver' },
};

const EVENT_SYNONYMS: Record<string, string> = {
  admit: 'admission',
  discharged: 'discharge',
  lab: 'lab_result',
  lab_results: 'lab_result',
  vitals: 'vital_signs',
  vital_sign: 'vital_signs',
  note: 'clinical_note',
  clinical_notes: 'clinical_note',
};

/** The category of each event type. */
const EVENT_CATEGORY: Record<EventType, string> = {
  admission: 'encounter',
  discharge: 'encounter',
  lab_result: 'diagnostic',
  vital_signs: 'observation',
  clinical_note: 'documentation',
};

/** Each event category with the normalised event types that fall in it, each type with its synonyms. */
const EVENT_CATEGORIES: readonly { category: string; types: string[] }[] = [
  ...new Set(EVENT_TYPES.map((t) => EVENT_CATEGORY[t])),
].map((category) => ({
  category,
  types: EVENT_TYPES.filter((t) => EVENT_CATEGORY[t] === category).flatMap((t) => [
    t,
    ...Object.keys(EVENT_SYNONYMS).filter((k) => EVENT_SYNONYMS[k] === t),
  ]),
}));

export const SILVER_EVENT_COLUMNS: readonly Column[] = [
  {
    name: 'event_id',
    type: 'VARCHAR',
    nullable: false,
    classification: 'operational',
    description: 'Event id.',
    distinctValues: true,
  },
  {
    name: 'patient_id',
    type: 'VARCHAR',
    nullable: false,
    classification: 'phi_direct',
    description: 'Resolved patient id.',
  },
  {
    name: 'event_date',
    type: 'DATE',
    nullable: true,
    classification: 'phi_direct',
    description: 'Event date.',
  },
  {
    name: 'event_type',
    type: 'VARCHAR',
    nullable: true,
    classification: 'clinical',
    description: `One of ${EVENT_TYPES.join(', ')}.`,
  },
  {
    name: 'medical_provider',
    type: 'VARCHAR',
    nullable: true,
    classification: 'operational',
    description: 'Provider, white space cleaned.',
  },
  {
    name: 'event_category',
    type: 'VARCHAR',
    nullable: true,
    classification: 'clinical',
    description: 'encounter, diagnostic, observation or documentation.',
    values: EVENT_CATEGORIES.map((c) => c.category),
  },
  {
    name: 'processed_at',
    type: 'TIMESTAMP',
    nullable: true,
    classification: 'operational',
    description: 'When the pipeline wrote the row.',
  },
];

export const silverMedicalEvents: TransformDataset = {
  kind: 'transform',
  name: 'silver_medical_events',
  layer: 'silver',
  entity: 'medical_events',
  description: 'Medical events with parsed dates, normalised types and the resolved patient.',
  upstream: ['bronze_medical_events', 'silver_resolved_identity_resolution'],
  patientReference: {
    sourceSystem: () => 'source_system',
    sourceId: 'source_patient_id',
    systems: EVENT_SOURCE_SYSTEMS,
  },
  derived: [
    { name: 'source_patient_id', sql: (d) => cleanText(d, 'patient_id') },
    { name: 'event_date', sql: (d) => parseDate(d, 'event_date', '_extracted_at') },
    {
      name: '_event_type',
      sql: (d) => d.lower(`REPLACE(REPLACE(${d.trim('event_type')}, ' ', '_'), '-', '_')`),
    },
    {
      name: 'event_type',
      sql: () =>
        `CASE ${Object.entries(EVENT_SYNONYMS)
          .map(([k, v]) => `WHEN _event_type = '${k}' THEN '${v}'`)
          .join(' ')} ELSE _event_type END`,
    },
    { name: 'medical_provider', sql: (d) => cleanText(d, 'medical_provider') },
    {
      name: 'event_category',
      sql: (d) =>
        `CASE ${EVENT_CATEGORIES.map(({ category, types }) => `WHEN ${d.oneOf('_event_type', types)} THEN '${category}'`).join(' ')} END`,
    },
  ],
  lookups: [],
  columns: SILVER_EVENT_COLUMNS,
  expectations: [
    {
      name: 'valid_event_date',
      action: 'warn',
      description: 'event_date parses and is not after the run start.',
      sql: () => 'event_date IS NOT NULL AND event_date <= CAST(_run_started_at AS DATE)',
    },
    {
      name: 'valid_event_type',
      action: 'warn',
      description: `event_type is one of ${EVENT_TYPES.join(', ')}.`,
      sql: (d) => d.oneOf('event_type', EVENT_TYPES),
    },
    {
      name: 'provider_information',
      action: 'warn',
      description: 'A provider on every event but lab results.',
      sql: () => "medical_provider IS NOT NULL OR event_type = 'lab_result'",
    },
    {
      name: 'no_future_events',
      action: 'drop',
      description: 'event_date not after the extract time nor the run start.',
      sql: () => 'event_date IS NULL OR event_date <= CAST(LEAST(_extracted_at, _run_started_at) AS DATE)',
    },
    patientExists,
    duplicate,
  ],
  keys: ['event_id'],
  clusterBy: ['patient_id', 'event_date'],
  partitionBy: [],
  properties: { ...phiProperties(SILVER_EVENT_COLUMNS), quality: 'silver' },
};
