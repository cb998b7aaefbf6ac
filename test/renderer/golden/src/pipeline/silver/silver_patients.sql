-- silver_patients, part 2: the golden record per resolved patient and extract time
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW silver_patient_sources_resolved
COMMENT 'Accepted source records with their resolved patient'
AS SELECT s.*, m.patient_id
FROM silver_patient_sources s
JOIN silver_resolved_identity_resolution m ON m.source_system = s.source_system AND m.source_patient_id = s.source_patient_id;

CREATE OR REFRESH MATERIALIZED VIEW silver_patients
COMMENT 'Patients standardised: one golden row per resolved patient and extract time.'
CLUSTER BY (patient_id)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,mrn,age_years,sex,region,children,coverage_start_date,ssn_hash',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'silver'
)
AS WITH targets AS (SELECT DISTINCT patient_id, _extracted_at AS t FROM silver_patient_sources_resolved),
agg AS (
  SELECT tg.patient_id, tg.t, max_by(s.mrn, s._priority) FILTER (WHERE s.mrn IS NOT NULL AND s.source_system = 'EHR_SYSTEM') AS mrn,
    max_by(s.birth_date, s._priority) FILTER (WHERE s.birth_date IS NOT NULL) AS birth_date, max_by(s.sex, s._priority) FILTER (WHERE s.sex <> 'U') AS sex, max_by(s.region, s._priority) FILTER (WHERE s.region IS NOT NULL) AS region, max_by(s.bmi, s._priority) FILTER (WHERE s.bmi IS NOT NULL) AS bmi, max_by(s.smoker, s._priority) FILTER (WHERE s.smoker IS NOT NULL) AS smoker,
    max_by(s.children, s._priority) FILTER (WHERE s.children IS NOT NULL) AS children, max_by(s.charges, s._priority) FILTER (WHERE s.charges IS NOT NULL) AS charges, max_by(s.insurance_plan, s._priority) FILTER (WHERE s.insurance_plan IS NOT NULL) AS insurance_plan, max_by(s.coverage_start_date, s._priority) FILTER (WHERE s.coverage_start_date IS NOT NULL) AS coverage_start_date,
    max_by(s.ssn_hash, s._priority) FILTER (WHERE s.ssn_hash IS NOT NULL) AS ssn_hash, max_by(s.data_quality_score, s._priority) FILTER (WHERE s.data_quality_score IS NOT NULL) AS data_quality_score
  FROM targets tg JOIN silver_patient_sources_resolved s ON s.patient_id = tg.patient_id AND s._extracted_at <= tg.t
  GROUP BY tg.patient_id, tg.t),
aged AS (SELECT *, CASE WHEN (YEAR(CAST(t AS DATE)) - YEAR(birth_date) - CASE WHEN MONTH(CAST(t AS DATE)) * 100 + DAY(CAST(t AS DATE)) < MONTH(birth_date) * 100 + DAY(birth_date) THEN 1 ELSE 0 END) >= 89 THEN 90 ELSE (YEAR(CAST(t AS DATE)) - YEAR(birth_date) - CASE WHEN MONTH(CAST(t AS DATE)) * 100 + DAY(CAST(t AS DATE)) < MONTH(birth_date) * 100 + DAY(birth_date) THEN 1 ELSE 0 END) END AS age_years FROM agg)
SELECT CAST(`patient_id` AS STRING) AS `patient_id`,
  CAST(`mrn` AS STRING) AS `mrn`,
  CAST(age_years AS INT) AS `age_years`,
  CAST(COALESCE(sex, 'U') AS STRING) AS `sex`,
  CAST(`region` AS STRING) AS `region`,
  CAST(`bmi` AS DOUBLE) AS `bmi`,
  CAST(`smoker` AS BOOLEAN) AS `smoker`,
  CAST(`children` AS INT) AS `children`,
  CAST(`charges` AS DOUBLE) AS `charges`,
  CAST(`insurance_plan` AS STRING) AS `insurance_plan`,
  CAST(`coverage_start_date` AS DATE) AS `coverage_start_date`,
  CAST(`ssn_hash` AS STRING) AS `ssn_hash`,
  CAST(CASE WHEN bmi >= 40 OR age_years >= 75 OR (smoker AND (bmi >= 30 OR age_years >= 60)) THEN 'high' WHEN smoker OR bmi >= 30 OR age_years >= 50 THEN 'medium' ELSE 'low' END AS STRING) AS `patient_risk_category`,
  CAST(`data_quality_score` AS DOUBLE) AS `data_quality_score`,
  CAST(t AS TIMESTAMP) AS `effective_date`,
  CAST(current_timestamp() AS TIMESTAMP) AS `processed_at`
FROM aged;
