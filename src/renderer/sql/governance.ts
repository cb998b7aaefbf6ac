import type { Dialect } from '../../dialect/dialect.ts';
import type { BundleOptions } from '../options.ts';
import { fileHeader } from './ddl.ts';

/** A SQL task file names its tables relative to the pipeline's catalog and schema (task parameters). */
export const USE_TARGET = 'USE CATALOG IDENTIFIER(:catalog);\nUSE SCHEMA IDENTIFIER(:schema);\n';

/**
 * Unity Catalog grants beyond the bundle's schema and volume grants, and the de-identified views
 * analysts read (Safe Harbor: no direct identifiers, dates reduced to years, ages 90+ already capped,
 * region instead of address). Pipeline files cannot hold GRANT statements, so a SQL task runs this
 * file after every refresh; `:catalog` and `:schema` are the task's parameters.
 */
export function governanceSql(d: Dialect, o: BundleOptions): string {
  const q = (t: string): string => t;
  const g = (group: string): string => d.ident(group);
  const views = [
    {
      name: 'deid_patients',
      sql: `SELECT age_years, sex, region, bmi, smoker, children, charges, insurance_plan,
  YEAR(coverage_start_date) AS coverage_start_year, patient_risk_category,
  YEAR(effective_from) AS effective_from_year, is_current
FROM ${q('gold_patients')}`,
    },
    {
      name: 'deid_claims',
      sql: `SELECT c.claim_year, c.claim_amount, c.diagnosis_code, c.procedure_code, c.claim_status, c.claim_category,
  p.age_years, p.sex, p.region, p.patient_risk_category
FROM ${q('gold_claims')} c
LEFT JOIN ${q('gold_patients')} p ON p.patient_id = c.patient_id AND p.is_current`,
    },
    {
      name: 'deid_medical_events',
      sql: `SELECT e.event_year, e.event_type, e.event_category, p.age_years, p.sex, p.region
FROM ${q('gold_medical_events')} e
LEFT JOIN ${q('gold_patients')} p ON p.patient_id = e.patient_id AND p.is_current`,
    },
  ];
  return [
    fileHeader('Unity Catalog grants and de-identified views (run by the apply_grants SQL task)', [
      `PHI tables: readable by ${o.phiGroup} only (schema SELECT, granted in resources/schemas.yml).`,
      `Analysts (${o.analystGroup}): USE CATALOG / USE SCHEMA and SELECT on the deid_* views only.`,
    ]),
    USE_TARGET,
    `GRANT USE CATALOG ON CATALOG IDENTIFIER(:catalog) TO ${g(o.phiGroup)};`,
    `GRANT USE CATALOG ON CATALOG IDENTIFIER(:catalog) TO ${g(o.analystGroup)};`,
    '',
    ...views.flatMap((v) => [
      `CREATE OR REPLACE VIEW ${q(v.name)}\nCOMMENT ${d.string('De-identified (HIPAA Safe Harbor) view for analysts')}\nAS ${v.sql};`,
      `GRANT SELECT ON VIEW ${q(v.name)} TO ${g(o.analystGroup)};`,
      '',
    ]),
    ...['dim_patients', 'fact_claims', 'fact_medical_events'].map(
      (v, i) =>
        `CREATE OR REPLACE VIEW ${q(v)} AS SELECT * FROM ${q(['gold_patients', 'gold_claims', 'gold_medical_events'][i] ?? '')};`,
    ),
    '',
  ].join('\n');
}
