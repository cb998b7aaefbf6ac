import { phiProperties, type Column, type FactDataset, type Scd2Dataset, type TableCheck } from '../model.ts';
import { SILVER_PATIENT_COLUMNS } from './silver-patients.ts';
import { SILVER_CLAIM_COLUMNS, SILVER_EVENT_COLUMNS } from './silver-facts.ts';

const pick = (columns: readonly Column[], names: readonly string[]): Column[] =>
  names.map((n) => {
    const c = columns.find((col) => col.name === n);
    if (!c) throw new Error(`unknown column ${n}`);
    return {
      name: c.name,
      type: c.type,
      nullable: c.nullable,
      classification: c.classification,
      description: c.description,
      ...(c.distinctValues ? { distinctValues: true } : {}),
      ...(c.values ? { values: c.values } : {}),
    };
  });

/**
 * Attributes whose change opens a new SCD2 version. Age is not tracked (it ticks over by itself), and
 * neither is the risk category, which follows age: a version carries the category computed when it
 * opened, and a change of BMI or smoking status opens a version with a fresh category.
 */
export const TRACKED_PATIENT_COLUMNS = [
  'mrn',
  'sex',
  'region',
  'bmi',
  'smoker',
  'children',
  'charges',
  'insurance_plan',
  'coverage_start_date',
] as const;

export const GOLD_PATIENT_COLUMNS: readonly Column[] = [
  ...pick(SILVER_PATIENT_COLUMNS, [
    'patient_id',
    'mrn',
    'age_years',
    ...TRACKED_PATIENT_COLUMNS.slice(1),
    'patient_risk_category',
  ]),
  {
    name: 'effective_from',
    type: 'TIMESTAMP',
    nullable: false,
    classification: 'operational',
    description: 'Start of this version (inclusive).',
  },
  {
    name: 'effective_to',
    type: 'TIMESTAMP',
    nullable: true,
    classification: 'operational',
    description: 'End of this version (exclusive); NULL while current.',
  },
  {
    name: 'is_current',
    type: 'BOOLEAN',
    nullable: false,
    classification: 'operational',
    description: 'TRUE on the current version.',
  },
];

const factPatientCheck = (table: string, key: string): TableCheck => ({
  name: 'referential_integrity',
  description: `Every ${table} row's patient is in gold_patients.`,
  violations: (_d, scope) =>
    `SELECT COUNT(*) FROM ${table} f WHERE ${scope ? `f.${key} IN (${scope}) AND ` : ''}NOT EXISTS (SELECT 1 FROM gold_patients p WHERE p.patient_id = f.patient_id)`,
});

export const goldPatients: Scd2Dataset = {
  kind: 'scd2',
  name: 'gold_patients',
  layer: 'gold',
  entity: 'patients',
  description: 'Patient dimension, SCD type 2 keyed by resolved patient_id (view dim_patients).',
  upstream: ['silver_patients'],
  columns: GOLD_PATIENT_COLUMNS,
  trackedColumns: TRACKED_PATIENT_COLUMNS,
  sequenceBy: 'effective_date',
  expectations: [
    {
      name: 'scd_integrity',
      action: 'fail',
      description: 'effective_from present and before effective_to.',
      sql: () => 'effective_from IS NOT NULL AND (effective_to IS NULL OR effective_from < effective_to)',
    },
  ],
  checks: [
    {
      name: 'no_duplicate_patients',
      description: 'Exactly one current row per patient.',
      violations: (_d, scope) =>
        `SELECT COUNT(*) FROM (SELECT patient_id FROM gold_patients ${scope ? `WHERE patient_id IN (${scope}) ` : ''}GROUP BY patient_id HAVING COUNT(*) FILTER (WHERE is_current) <> 1)`,
    },
    {
      name: 'no_overlapping_windows',
      description: 'Validity windows of a patient never overlap and leave no gap.',
      violations: (_d, scope) =>
        `SELECT COUNT(*) FROM (SELECT effective_to, LEAD(effective_from) OVER (PARTITION BY patient_id ORDER BY effective_from) AS next_from FROM gold_patients ${scope ? `WHERE patient_id IN (${scope})` : ''}) WHERE next_from IS NOT NULL AND (effective_to IS NULL OR effective_to <> next_from)`,
    },
    {
      name: 'current_record_exists',
      description: 'The dimension is not empty when silver has patients.',
      violations: () =>
        'SELECT CASE WHEN (SELECT COUNT(*) FROM silver_patients) > 0 AND (SELECT COUNT(*) FROM gold_patients WHERE is_current) = 0 THEN 1 ELSE 0 END',
    },
  ],
  keys: ['patient_id', 'effective_from'],
  clusterBy: ['patient_id'],
  partitionBy: [],
  properties: { ...phiProperties(GOLD_PATIENT_COLUMNS), quality: 'gold' },
};

/**
 * A gold fact: the silver columns plus `{prefix}_month` ('YYYY-MM') and `{prefix}_year` of `dateColumn`,
 * keyed by `key`, clustered by period and patient, partitioned by year and month on export.
 */
function goldFact(spec: {
  entity: 'claims' | 'medical_events';
  silver: readonly Column[];
  columns: readonly string[];
  key: string;
  dateColumn: string;
  prefix: string;
  description: string;
}): { columns: readonly Column[]; dataset: FactDataset } {
  const month = `${spec.prefix}_month`;
  const year = `${spec.prefix}_year`;
  const columns: readonly Column[] = [
    ...pick(spec.silver, spec.columns),
    {
      name: month,
      type: 'VARCHAR',
      nullable: true,
      classification: 'operational',
      description: `Month of ${spec.dateColumn}, 'YYYY-MM'.`,
    },
    {
      name: year,
      type: 'INTEGER',
      nullable: true,
      classification: 'operational',
      description: `Year of ${spec.dateColumn}.`,
    },
  ];
  const name = `gold_${spec.entity}`;
  const dataset: FactDataset = {
    kind: 'fact',
    name,
    layer: 'gold',
    entity: spec.entity,
    description: spec.description,
    upstream: [`silver_${spec.entity}`],
    columns: columns.map((c) =>
      c.name === month
        ? { ...c, sql: (d) => d.yearMonth(spec.dateColumn) }
        : c.name === year
          ? { ...c, sql: () => `CAST(YEAR(${spec.dateColumn}) AS INTEGER)` }
          : { ...c, sql: () => c.name },
    ),
    expectations: [],
    checks: [factPatientCheck(name, spec.key)],
    keys: [spec.key],
    clusterBy: [year, month, 'patient_id'],
    partitionBy: [year, month],
    properties: { ...phiProperties(columns), quality: 'gold' },
  };
  return { columns, dataset };
}

const claims = goldFact({
  entity: 'claims',
  silver: SILVER_CLAIM_COLUMNS,
  columns: [
    'claim_id',
    'patient_id',
    'claim_amount',
    'claim_date',
    'diagnosis_code',
    'procedure_code',
    'claim_status',
    'claim_category',
  ],
  key: 'claim_id',
  dateColumn: 'claim_date',
  prefix: 'claim',
  description: 'Claim facts (view fact_claims), partitioned by year and month on export.',
});
export const GOLD_CLAIM_COLUMNS = claims.columns;
export const goldClaims = claims.dataset;

const events = goldFact({
  entity: 'medical_events',
  silver: SILVER_EVENT_COLUMNS,
  columns: ['event_id', 'patient_id', 'event_date', 'event_type', 'medical_provider', 'event_category'],
  key: 'event_id',
  dateColumn: 'event_date',
  prefix: 'event',
  description: 'Medical event facts (view fact_medical_events), partitioned by year and month on export.',
});
export const GOLD_EVENT_COLUMNS = events.columns;
export const goldMedicalEvents = events.dataset;

/** Views with the seed's dimensional names. */
export const GOLD_VIEWS = [
  { name: 'dim_patients', sql: 'SELECT * FROM gold_patients' },
  { name: 'fact_claims', sql: 'SELECT * FROM gold_claims' },
  { name: 'fact_medical_events', sql: 'SELECT * FROM gold_medical_events' },
] as const;
