import type { Dialect } from '../../dialect/dialect.ts';
import { dataset } from '../../definitions/pipeline.ts';
import type { Column, TransformDataset } from '../../definitions/model.ts';
import { LANDING_COLUMNS } from '../../definitions/entities.ts';
import { ORPHAN_RULE } from '../../definitions/datasets/silver-facts.ts';
import { SILVER_PATIENT_COLUMNS } from '../../definitions/datasets/silver-patients.ts';
import { yearsBetween } from '../../definitions/sql-helpers.ts';
import { IDENTITY_RELATION } from '../../definitions/identity-step.ts';
import { patientLookupJoinSql } from '../../definitions/stage-sql.ts';
import type { Relation } from './relation.ts';
import { checkedSql, rejectingRules, stagedSql } from './stage.ts';
import { typedColumns } from './types.ts';

export interface SilverOptions {
  readonly runStartedAt: string;
  /** Hours an unresolved claim or event waits for its patient before it is quarantined as an orphan. */
  readonly orphanGraceHours: number;
}

/** The accepted source records kept for identity resolution (the local engine's `silver_patient_sources`). */
export const PATIENT_SOURCE_COLUMNS: readonly Pick<Column, 'name' | 'type'>[] = [
  { name: 'source_system', type: 'VARCHAR' },
  { name: 'source_patient_id', type: 'VARCHAR' },
  { name: 'first_name_norm', type: 'VARCHAR' },
  { name: 'last_name_norm', type: 'VARCHAR' },
  { name: 'birth_date', type: 'DATE' },
  { name: 'sex', type: 'VARCHAR' },
  { name: 'state_code', type: 'VARCHAR' },
  { name: 'region', type: 'VARCHAR' },
  { name: 'city_norm', type: 'VARCHAR' },
  { name: 'address_norm', type: 'VARCHAR' },
  { name: 'zip5', type: 'VARCHAR' },
  { name: 'phone_digits', type: 'VARCHAR' },
  { name: 'email_norm', type: 'VARCHAR' },
  { name: 'mrn', type: 'VARCHAR' },
  { name: 'insurance_id_norm', type: 'VARCHAR' },
  { name: 'ssn_hash', type: 'VARCHAR' },
  { name: '_ssn_key_id', type: 'VARCHAR' },
  { name: 'bmi', type: 'DOUBLE' },
  { name: 'smoker', type: 'BOOLEAN' },
  { name: 'children', type: 'INTEGER' },
  { name: 'charges', type: 'DOUBLE' },
  { name: 'insurance_plan', type: 'VARCHAR' },
  { name: 'coverage_start_date', type: 'DATE' },
  { name: 'age_years', type: 'INTEGER' },
  { name: 'data_quality_score', type: 'DOUBLE' },
  { name: '_priority', type: 'DOUBLE' },
  { name: '_file_name', type: 'VARCHAR' },
  { name: '_line_number', type: 'BIGINT' },
  { name: '_extracted_at', type: 'TIMESTAMP' },
];

const asColumns = (cols: readonly Pick<Column, 'name' | 'type'>[]): Column[] =>
  cols.map((c) => ({ ...c, nullable: true, classification: 'operational', description: '' }));

/** The quarantine rows of a checked relation: dataset, rules failed, file, line and the raw record as JSON. */
function quarantineSql(d: Dialect, ds: TransformDataset, checked: string, opts: SilverOptions): string {
  const raw = (c: string): string =>
    ds.derived.some((x) => x.name === c) ? d.ident(`_raw_${c}`) : d.ident(c);
  const cols = LANDING_COLUMNS[ds.entity].filter((c) => c !== 'ssn');
  const extra = ds.entity === 'patients' ? ['ssn_hash'] : [];
  const record = `to_json(named_struct(${[...cols.map((c) => `'${c}', ${raw(c)}`), ...extra.map((c) => `'${c}', ${c}`)].join(', ')}))`;
  const rules = `filter(_failed, x -> x IN (${rejectingRules(ds.expectations).map(d.string).join(', ')}))`;
  const orphan = ds.patientReference
    ? `
UNION ALL
SELECT ${d.string(ds.name)} AS dataset, array(${d.string(ORPHAN_RULE)}) AS rules, _file_name AS file_name,
  _line_number AS line_number, ${record} AS record, ${opts.runStartedAt} AS quarantined_at
FROM ${checked}
WHERE NOT _rejected AND _resolved_patient_id IS NULL
  AND _ingested_at + INTERVAL ${Math.round(opts.orphanGraceHours * 3600)} SECONDS <= ${opts.runStartedAt}`
    : '';
  return `SELECT ${d.string(ds.name)} AS dataset, ${rules} AS rules, _file_name AS file_name,
  _line_number AS line_number, ${record} AS record, ${opts.runStartedAt} AS quarantined_at
FROM ${checked}
WHERE _rejected${orphan}`;
}

/** The checked / validated / quarantine triple every silver dataset starts with. */
function validation(d: Dialect, ds: TransformDataset, staged: string, opts: SilverOptions): Relation[] {
  const checked = `${ds.name}_checked`;
  return [
    {
      name: checked,
      role: 'view',
      comment: `${ds.name}: staged rows with every expectation evaluated (_failed, _rejected)`,
      sql: checkedSql(d, ds.expectations, staged),
    },
    {
      name: `${ds.name}_validated`,
      role: 'validated',
      comment: `${ds.name}: rows that pass every drop and fail rule`,
      source: checked,
      expectations: ds.expectations,
      sql: `SELECT * FROM ${checked} WHERE NOT _rejected`,
    },
    {
      name: `${ds.name}_quarantine`,
      role: 'table',
      comment: `${ds.name}: rejected rows with the names of the rules they failed`,
      sql: quarantineSql(d, ds, checked, opts),
    },
  ];
}

/** silver_patients up to the identity step: staging, validation, quarantine, accepted source records. */
export function patientSourceRelations(d: Dialect, opts: SilverOptions): Relation[] {
  const ds = dataset('silver_patients') as TransformDataset;
  const staged = stagedSql(d, ds, 'SELECT * FROM bronze_patients', { runStartedAt: opts.runStartedAt });
  return [
    ...validation(d, ds, staged, opts),
    {
      name: 'silver_patient_sources',
      role: 'table',
      comment: 'Accepted patient source records (EHR, ADT, LAB) with normalised match keys',
      sql: `SELECT ${typedColumns(d, asColumns(PATIENT_SOURCE_COLUMNS), (c) => d.ident(c.name))}
FROM silver_patients_validated`,
    },
  ];
}

/** silver_patients after the identity step: the golden record per resolved patient and extract time. */
export function goldenPatientRelations(d: Dialect, opts: SilverOptions): Relation[] {
  const ds = dataset('silver_patients') as TransformDataset;
  const arg = (col: string, filter = `s.${col} IS NOT NULL`): string =>
    `${d.argMaxNotNull(`s.${col}`, 's._priority').replace(/FILTER \(WHERE .*\)$/, `FILTER (WHERE ${filter})`)} AS ${col}`;
  const risk = SILVER_PATIENT_COLUMNS.find((c) => c.name === 'patient_risk_category')?.sql?.(d) ?? 'NULL';
  const age = yearsBetween('birth_date', 'CAST(t AS DATE)');
  const values: Record<string, string> = {
    age_years: 'age_years',
    sex: "COALESCE(sex, 'U')",
    patient_risk_category: risk,
    effective_date: 't',
    processed_at: opts.runStartedAt,
  };
  return [
    {
      name: 'silver_patient_sources_resolved',
      role: 'view',
      comment: 'Accepted source records with their resolved patient',
      sql: `SELECT s.*, m.patient_id
FROM silver_patient_sources s
JOIN ${IDENTITY_RELATION} m ON m.source_system = s.source_system AND m.source_patient_id = s.source_patient_id`,
    },
    {
      name: 'silver_patients',
      role: 'table',
      dataset: ds,
      comment: ds.description,
      sql: `WITH targets AS (SELECT DISTINCT patient_id, _extracted_at AS t FROM silver_patient_sources_resolved),
agg AS (
  SELECT tg.patient_id, tg.t, ${arg('mrn', "s.mrn IS NOT NULL AND s.source_system = 'EHR_SYSTEM'")},
    ${arg('birth_date')}, ${arg('sex', "s.sex <> 'U'")}, ${arg('region')}, ${arg('bmi')}, ${arg('smoker')},
    ${arg('children')}, ${arg('charges')}, ${arg('insurance_plan')}, ${arg('coverage_start_date')},
    ${arg('ssn_hash')}, ${arg('data_quality_score')}
  FROM targets tg JOIN silver_patient_sources_resolved s ON s.patient_id = tg.patient_id AND s._extracted_at <= tg.t
  GROUP BY tg.patient_id, tg.t),
aged AS (SELECT *, CASE WHEN ${age} >= 89 THEN 90 ELSE ${age} END AS age_years FROM agg)
SELECT ${typedColumns(d, ds.columns, (c) => values[c.name] ?? d.ident(c.name))}
FROM aged`,
    },
  ];
}

/** silver_claims / silver_medical_events: staging with the resolved patient, validation, latest row per key. */
export function factRelations(
  d: Dialect,
  name: 'silver_claims' | 'silver_medical_events',
  opts: SilverOptions,
): Relation[] {
  const ds = dataset(name) as TransformDataset;
  const staged = stagedSql(d, ds, `SELECT * FROM bronze_${ds.entity}`, {
    runStartedAt: opts.runStartedAt,
    joins: patientLookupJoinSql(d, ds, IDENTITY_RELATION),
    columns: ['m.patient_id AS _resolved_patient_id'],
  });
  const key = ds.keys[0] ?? '';
  const values: Record<string, string> = {
    patient_id: '_resolved_patient_id',
    processed_at: opts.runStartedAt,
  };
  return [
    ...validation(d, ds, staged, opts),
    {
      name,
      role: 'table',
      dataset: ds,
      comment: `${ds.description} Rows whose patient is not resolved yet wait (parked) until it is.`,
      sql: `SELECT ${typedColumns(d, ds.columns, (c) => values[c.name] ?? d.ident(c.name))}
FROM (
  SELECT v.*, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY _extracted_at DESC, _file_name DESC, _line_number DESC) AS _latest
  FROM ${name}_validated v
  WHERE _resolved_patient_id IS NOT NULL) r
WHERE _latest = 1`,
    },
  ];
}
