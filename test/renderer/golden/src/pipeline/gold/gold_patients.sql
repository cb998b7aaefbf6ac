-- gold_patients: Patient dimension, SCD type 2 keyed by resolved patient_id (view dim_patients).
-- AUTO CDC … STORED AS SCD TYPE 2 keeps __START_AT/__END_AT; gold_patients exposes them as
-- effective_from / effective_to / is_current. Only the tracked columns open a version.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW gold_patients_changes
COMMENT 'Golden rows of the patients whose source records arrived in this update'
AS SELECT g.*
FROM (SELECT source_system, NULLIF(NULLIF(trim(BOTH '\u0020\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u202F\u205F\u3000' FROM CASE WHEN CONTAINS(patient_id, '  ') OR CONTAINS(patient_id, CHR(9)) THEN regexp_replace(patient_id, '[\\t\\n\\f\\r ]+', ' ') ELSE patient_id END), ''), '[REDACTED]') AS source_patient_id, _extracted_at FROM STREAM(bronze_patients)) b
JOIN silver_resolved_identity_resolution m ON m.source_system = b.source_system AND m.source_patient_id = b.source_patient_id
JOIN silver_patients g ON g.patient_id = m.patient_id AND g.effective_date = b._extracted_at;

CREATE OR REFRESH STREAMING TABLE gold_patients_history
COMMENT 'gold_patients: SCD type 2 history kept by AUTO CDC'
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,mrn,age_years,sex,region,children,coverage_start_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'gold'
);

CREATE FLOW gold_patients_history_cdc AS AUTO CDC INTO gold_patients_history
FROM STREAM(gold_patients_changes)
KEYS (patient_id)
SEQUENCE BY effective_date
COLUMNS patient_id, mrn, age_years, sex, region, bmi, smoker, children, charges, insurance_plan, coverage_start_date, patient_risk_category
STORED AS SCD TYPE 2
TRACK HISTORY ON mrn, sex, region, bmi, smoker, children, charges, insurance_plan, coverage_start_date;

CREATE OR REFRESH MATERIALIZED VIEW gold_patients (
  CONSTRAINT scd_integrity EXPECT (COALESCE((effective_from IS NOT NULL AND (effective_to IS NULL OR effective_from < effective_to)), FALSE)) ON VIOLATION FAIL UPDATE
)
COMMENT 'Patient dimension, SCD type 2 keyed by resolved patient_id (view dim_patients).'
CLUSTER BY (patient_id)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,mrn,age_years,sex,region,children,coverage_start_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'gold'
)
AS SELECT patient_id, mrn, age_years, sex, region, bmi, smoker, children, charges, insurance_plan, coverage_start_date, patient_risk_category,
  __START_AT AS effective_from, __END_AT AS effective_to, __END_AT IS NULL AS is_current
FROM gold_patients_history;
