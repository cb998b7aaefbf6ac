import { phiProperties, type Column, type TransformDataset } from '../model.ts';
import {
  cleanText,
  parseDate,
  parseMoney,
  parseNumber,
  parseWholeNumber,
  yearsBetween,
} from '../sql-helpers.ts';

/**
 * silver_patients. Each accepted source record (EHR, ADT, LAB) is parsed and checked at record level
 * (`derived`, `expectations`); the runner then resolves it to a patient and writes one row per
 * resolved patient and extract time: the golden record as of that time. Golden values come from the
 * most trusted source (EHR, then LAB, then ADT), the most recent record first (`_priority`).
 */
const EMAIL = '^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$';

export const SILVER_PATIENT_COLUMNS: readonly Column[] = [
  {
    name: 'patient_id',
    type: 'VARCHAR',
    nullable: false,
    classification: 'phi_direct',
    description: 'Resolved patient id.',
    distinctValues: true,
  },
  {
    name: 'mrn',
    type: 'VARCHAR',
    nullable: true,
    classification: 'phi_direct',
    description: 'Medical record number (EHR).',
    distinctValues: true,
  },
  {
    name: 'age_years',
    type: 'INTEGER',
    nullable: true,
    classification: 'quasi_identifier',
    description: 'Age in whole years at effective_date; 89 and above become 90.',
  },
  {
    name: 'sex',
    type: 'VARCHAR',
    nullable: true,
    classification: 'quasi_identifier',
    description: 'M, F or U from any source encoding.',
    values: ['F', 'M', 'U'],
  },
  {
    name: 'region',
    type: 'VARCHAR',
    nullable: true,
    classification: 'quasi_identifier',
    description: 'US Census region of the state.',
  },
  {
    name: 'bmi',
    type: 'DOUBLE',
    nullable: true,
    classification: 'clinical',
    description: 'Body mass index.',
  },
  {
    name: 'smoker',
    type: 'BOOLEAN',
    nullable: true,
    classification: 'clinical',
    description: 'Smoking status.',
  },
  {
    name: 'children',
    type: 'INTEGER',
    nullable: true,
    classification: 'quasi_identifier',
    description: 'Number of dependents.',
  },
  {
    name: 'charges',
    type: 'DOUBLE',
    nullable: true,
    classification: 'financial',
    description: 'Yearly insurance premium.',
  },
  {
    name: 'insurance_plan',
    type: 'VARCHAR',
    nullable: true,
    classification: 'operational',
    description: 'Insurance plan type.',
  },
  {
    name: 'coverage_start_date',
    type: 'DATE',
    nullable: true,
    classification: 'phi_direct',
    description: 'Coverage start date.',
  },
  {
    name: 'ssn_hash',
    type: 'VARCHAR',
    nullable: true,
    classification: 'phi_direct',
    description: 'HMAC-SHA256 of the SSN.',
    distinctValues: true,
  },
  {
    name: 'patient_risk_category',
    type: 'VARCHAR',
    nullable: true,
    classification: 'clinical',
    values: ['high', 'low', 'medium'],
    description:
      'high: BMI ≥ 40, age ≥ 75, or a smoker with BMI ≥ 30 or age ≥ 60; medium: a smoker, BMI ≥ 30 or age ≥ 50; else low.',
    sql: () =>
      "CASE WHEN bmi >= 40 OR age_years >= 75 OR (smoker AND (bmi >= 30 OR age_years >= 60)) THEN 'high' WHEN smoker OR bmi >= 30 OR age_years >= 50 THEN 'medium' ELSE 'low' END",
  },
  {
    name: 'data_quality_score',
    type: 'DOUBLE',
    nullable: true,
    classification: 'operational',
    description: 'Share of 12 key attributes present and valid.',
  },
  {
    name: 'effective_date',
    type: 'TIMESTAMP',
    nullable: false,
    classification: 'operational',
    description: 'Extract time from which this state holds.',
  },
  {
    name: 'processed_at',
    type: 'TIMESTAMP',
    nullable: true,
    classification: 'operational',
    description: 'When the pipeline wrote the row.',
  },
];

export const SOURCE_TRUST = { EHR_SYSTEM: 3, LAB_SYSTEM: 2, ADT_SYSTEM: 1 } as const;

export const silverPatients: TransformDataset = {
  kind: 'transform',
  name: 'silver_patients',
  layer: 'silver',
  entity: 'patients',
  description: 'Patients standardised: one golden row per resolved patient and extract time.',
  upstream: ['bronze_patients'],
  derived: [
    { name: 'source_patient_id', sql: (d) => cleanText(d, 'patient_id') },
    { name: 'first_name_norm', sql: (d) => d.lower(cleanText(d, 'first_name')) },
    { name: 'last_name_norm', sql: (d) => d.lower(cleanText(d, 'last_name')) },
    { name: 'birth_date', sql: (d) => parseDate(d, 'date_of_birth', '_extracted_at') },
    { name: '_age_raw', sql: () => yearsBetween('birth_date', 'CAST(_extracted_at AS DATE)') },
    { name: 'age_years', sql: () => 'CASE WHEN _age_raw >= 89 THEN 90 ELSE _age_raw END' },
    {
      name: 'sex',
      sql: (d) =>
        `CASE WHEN ${d.oneOf(d.upper(d.trim('gender')), ['M', 'MALE', '1'])} THEN 'M' WHEN ${d.oneOf(d.upper(d.trim('gender')), ['F', 'FEMALE', '2'])} THEN 'F' ELSE 'U' END`,
    },
    { name: 'state_code', sql: (d) => d.upper(d.trim('state')) },
    { name: 'city_norm', sql: (d) => d.lower(cleanText(d, 'city')) },
    { name: 'address_norm', sql: (d) => d.lower(cleanText(d, 'address_line1')) },
    {
      name: 'zip5',
      sql: (d) =>
        `CASE WHEN ${d.regexpMatches(d.trim('zip_code'), '^[0-9]{5}(-[0-9]{4})?$')} THEN SUBSTR(${d.trim('zip_code')}, 1, 5) END`,
    },
    {
      name: 'phone_digits',
      sql: (d) => {
        const digits = d.regexpReplaceAll('phone', '[^0-9]', '');
        return `CASE WHEN LENGTH(${digits}) = 10 THEN ${digits} WHEN LENGTH(${digits}) = 11 AND SUBSTR(${digits}, 1, 1) = '1' THEN SUBSTR(${digits}, 2) END`;
      },
    },
    {
      name: 'email_norm',
      sql: (d) =>
        `CASE WHEN ${d.regexpMatches(d.lower(d.trim('email')), EMAIL)} THEN ${d.lower(d.trim('email'))} END`,
    },
    { name: 'mrn', sql: (d) => cleanText(d, 'mrn') },
    { name: 'insurance_id_norm', sql: (d) => cleanText(d, 'insurance_id') },
    { name: 'bmi', sql: (d) => `ROUND(${parseNumber(d, 'bmi')}, 1)` },
    {
      name: 'smoker',
      sql: (d) =>
        `CASE WHEN ${d.oneOf(d.lower(d.trim('smoker')), ['yes', 'y', 'true', '1', 'smoker'])} THEN TRUE WHEN ${d.oneOf(d.lower(d.trim('smoker')), ['no', 'n', 'false', '0', 'non-smoker'])} THEN FALSE END`,
    },
    { name: 'children', sql: (d) => parseWholeNumber(d, 'children') },
    { name: 'charges', sql: (d) => parseMoney(d, 'charges') },
    { name: 'insurance_plan', sql: (d) => d.upper(cleanText(d, 'insurance_plan')) },
    { name: 'coverage_start_date', sql: (d) => parseDate(d, 'coverage_start_date', '_extracted_at') },
    {
      name: '_priority',
      sql: (d) =>
        `(CASE source_system WHEN 'EHR_SYSTEM' THEN ${SOURCE_TRUST.EHR_SYSTEM} WHEN 'LAB_SYSTEM' THEN ${SOURCE_TRUST.LAB_SYSTEM} ELSE ${SOURCE_TRUST.ADT_SYSTEM} END) * 10000000000 + ${d.name === 'duckdb' ? 'EPOCH(_extracted_at)' : 'UNIX_TIMESTAMP(_extracted_at)'}`,
    },
    {
      name: 'data_quality_score',
      sql: (d) => {
        const checks = [
          'first_name_norm IS NOT NULL',
          'last_name_norm IS NOT NULL',
          'birth_date IS NOT NULL',
          "sex <> 'U'",
          'address_norm IS NOT NULL',
          'city_norm IS NOT NULL',
          `LENGTH(state_code) = 2 AND ${d.regexpMatches('state_code', '^[A-Z]{2}$')}`,
          'zip5 IS NOT NULL',
          'phone_digits IS NOT NULL',
          'email_norm IS NOT NULL',
          'insurance_id_norm IS NOT NULL',
          `NULLIF(${d.trim('mrn')}, '') IS NOT NULL`,
        ];
        return `ROUND((${checks.map((c) => `CASE WHEN ${c} THEN 1 ELSE 0 END`).join(' + ')}) / CAST(${checks.length} AS DOUBLE), 3)`;
      },
    },
  ],
  lookups: [
    { name: 'region', table: 'ref_us_states', column: 'state_code', value: 'region', on: 'state_code' },
  ],
  columns: SILVER_PATIENT_COLUMNS,
  expectations: [
    {
      name: 'valid_patient_demographics',
      action: 'drop',
      description: 'patient_id, first_name and last_name are present.',
      sql: () =>
        'source_patient_id IS NOT NULL AND first_name_norm IS NOT NULL AND last_name_norm IS NOT NULL',
    },
    {
      name: 'clinical_safety_age',
      action: 'drop',
      description: 'A parseable birth date giving an age from 0 to 150 (checked before the 89+ cap).',
      sql: () => '_age_raw >= 0 AND _age_raw <= 150',
    },
    {
      name: 'valid_gender',
      action: 'drop',
      description: 'sex is M, F or U.',
      sql: (d) => d.oneOf('sex', ['M', 'F', 'U']),
    },
    {
      name: 'valid_bmi',
      action: 'drop',
      description: 'BMI absent or from 16 to 50.',
      sql: () => 'bmi IS NULL OR (bmi >= 16 AND bmi <= 50)',
    },
    {
      name: 'hipaa_age_deidentification',
      action: 'drop',
      description: 'No age of 89 (89+ becomes 90).',
      sql: () => 'age_years <> 89',
    },
    {
      name: 'data_quality_threshold',
      action: 'drop',
      description: 'data_quality_score at least 0.6.',
      sql: () => 'data_quality_score >= 0.6',
    },
    {
      name: 'clinical_data_integrity',
      action: 'drop',
      description: 'patient_id present, and an MRN on EHR records (ADT and LAB records carry no EHR MRN).',
      sql: () => "source_patient_id IS NOT NULL AND (mrn IS NOT NULL OR source_system <> 'EHR_SYSTEM')",
    },
    {
      name: 'temporal_validity',
      action: 'drop',
      description: 'The effective time (extract time) is not after the run started.',
      sql: () => '_extracted_at <= _run_started_at',
    },
    {
      name: 'duplicate_record',
      action: 'drop',
      description: 'Not a repeat of an earlier row of the same file.',
      sql: () => 'NOT _is_duplicate',
    },
  ],
  keys: ['patient_id', 'effective_date'],
  clusterBy: ['patient_id'],
  partitionBy: [],
  properties: { ...phiProperties(SILVER_PATIENT_COLUMNS), quality: 'silver' },
};
