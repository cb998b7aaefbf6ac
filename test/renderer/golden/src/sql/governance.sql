-- Unity Catalog grants and de-identified views (run by the apply_grants SQL task)
-- PHI tables: readable by carelake-phi-readers only (schema SELECT, granted in resources/schemas.yml).
-- Analysts (carelake-analysts): USE CATALOG / USE SCHEMA and SELECT on the deid_* views only.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

GRANT USE CATALOG ON CATALOG IDENTIFIER(:catalog) TO `carelake-phi-readers`;
GRANT USE CATALOG ON CATALOG IDENTIFIER(:catalog) TO `carelake-analysts`;

CREATE OR REPLACE VIEW deid_patients
COMMENT 'De-identified (HIPAA Safe Harbor) view for analysts'
AS SELECT age_years, sex, region, bmi, smoker, children, charges, insurance_plan,
  YEAR(coverage_start_date) AS coverage_start_year, patient_risk_category,
  YEAR(effective_from) AS effective_from_year, is_current
FROM gold_patients;
GRANT SELECT ON VIEW deid_patients TO `carelake-analysts`;

CREATE OR REPLACE VIEW deid_claims
COMMENT 'De-identified (HIPAA Safe Harbor) view for analysts'
AS SELECT c.claim_year, c.claim_amount, c.diagnosis_code, c.procedure_code, c.claim_status, c.claim_category,
  p.age_years, p.sex, p.region, p.patient_risk_category
FROM gold_claims c
LEFT JOIN gold_patients p ON p.patient_id = c.patient_id AND p.is_current;
GRANT SELECT ON VIEW deid_claims TO `carelake-analysts`;

CREATE OR REPLACE VIEW deid_medical_events
COMMENT 'De-identified (HIPAA Safe Harbor) view for analysts'
AS SELECT e.event_year, e.event_type, e.event_category, p.age_years, p.sex, p.region
FROM gold_medical_events e
LEFT JOIN gold_patients p ON p.patient_id = e.patient_id AND p.is_current;
GRANT SELECT ON VIEW deid_medical_events TO `carelake-analysts`;

CREATE OR REPLACE VIEW dim_patients AS SELECT * FROM gold_patients;
CREATE OR REPLACE VIEW fact_claims AS SELECT * FROM gold_claims;
CREATE OR REPLACE VIEW fact_medical_events AS SELECT * FROM gold_medical_events;
