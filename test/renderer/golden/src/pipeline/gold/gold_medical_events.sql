-- gold_medical_events
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE OR REFRESH MATERIALIZED VIEW gold_medical_events
COMMENT 'Medical event facts (view fact_medical_events), partitioned by year and month on export.'
CLUSTER BY (event_year, event_month, patient_id)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,event_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'gold'
)
AS SELECT CAST(event_id AS STRING) AS `event_id`,
  CAST(patient_id AS STRING) AS `patient_id`,
  CAST(event_date AS DATE) AS `event_date`,
  CAST(event_type AS STRING) AS `event_type`,
  CAST(medical_provider AS STRING) AS `medical_provider`,
  CAST(event_category AS STRING) AS `event_category`,
  CAST(date_format(event_date, 'yyyy-MM') AS STRING) AS `event_month`,
  CAST(CAST(YEAR(event_date) AS INTEGER) AS INT) AS `event_year`
FROM silver_medical_events;
