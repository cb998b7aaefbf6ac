-- gold_claims
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE OR REFRESH MATERIALIZED VIEW gold_claims
COMMENT 'Claim facts (view fact_claims), partitioned by year and month on export.'
CLUSTER BY (claim_year, claim_month, patient_id)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,claim_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'gold'
)
AS SELECT CAST(claim_id AS STRING) AS `claim_id`,
  CAST(patient_id AS STRING) AS `patient_id`,
  CAST(claim_amount AS DOUBLE) AS `claim_amount`,
  CAST(claim_date AS DATE) AS `claim_date`,
  CAST(diagnosis_code AS STRING) AS `diagnosis_code`,
  CAST(procedure_code AS STRING) AS `procedure_code`,
  CAST(claim_status AS STRING) AS `claim_status`,
  CAST(claim_category AS STRING) AS `claim_category`,
  CAST(date_format(claim_date, 'yyyy-MM') AS STRING) AS `claim_month`,
  CAST(CAST(YEAR(claim_date) AS INTEGER) AS INT) AS `claim_year`
FROM silver_claims;
