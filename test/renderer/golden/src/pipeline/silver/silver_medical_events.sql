-- silver_medical_events
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW silver_medical_events_checked
COMMENT 'silver_medical_events: staged rows with every expectation evaluated (_failed, _rejected)'
AS SELECT c.*, arrays_overlap(c._failed, array('no_future_events', 'patient_exists', 'duplicate_record')) AS _rejected
FROM (SELECT t.*, filter(array(CASE WHEN COALESCE((event_date IS NOT NULL AND event_date <= CAST(_run_started_at AS DATE)), FALSE) THEN NULL ELSE 'valid_event_date' END, CASE WHEN COALESCE((event_type IN ('admission', 'discharge', 'lab_result', 'vital_signs', 'clinical_note')), FALSE) THEN NULL ELSE 'valid_event_type' END, CASE WHEN COALESCE((medical_provider IS NOT NULL OR event_type = 'lab_result'), FALSE) THEN NULL ELSE 'provider_information' END, CASE WHEN COALESCE((event_date IS NULL OR event_date <= CAST(LEAST(_extracted_at, _run_started_at) AS DATE)), FALSE) THEN NULL ELSE 'no_future_events' END, CASE WHEN COALESCE((source_patient_id IS NOT NULL), FALSE) THEN NULL ELSE 'patient_exists' END, CASE WHEN COALESCE((NOT _is_duplicate), FALSE) THEN NULL ELSE 'duplicate_record' END), x -> x IS NOT NULL) AS _failed FROM (
WITH s0 AS (SELECT * FROM bronze_medical_events),
dups AS (
  SELECT `event_id` AS _dup_key0, _file_name AS _dup_file, MIN(_line_number) AS _first_line
  FROM s0 GROUP BY `event_id`, _file_name HAVING COUNT(*) > 1),
s1 AS (
  SELECT s0.`event_id`, s0.`patient_id`, s0.`event_date` AS `_raw_event_date`, s0.`event_type` AS `_raw_event_type`, s0.`medical_provider` AS `_raw_medical_provider`, s0.`source_system`, s0._file_name, s0._line_number, s0._extracted_at, s0._ingested_at, s0._rescued_data,
    NULLIF(TRIM(CASE WHEN CONTAINS(patient_id, '  ') OR CONTAINS(patient_id, CHR(9)) THEN regexp_replace(patient_id, '\\s+', ' ') ELSE patient_id END), '') AS `source_patient_id`,
    NULLIF(GREATEST(coalesce(to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'yyyy-M-d')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'M/d/yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'yyyyMMdd')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'd-MMM-yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'yyyy-M-d\'T\'H:m:s\'Z\'')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'yyyy-M-d\'T\'H:m:s')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(event_date)) <= 9 AND (TRIM(event_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(event_date), 1, LENGTH(TRIM(event_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(event_date), LENGTH(TRIM(event_date)) - 1)) ELSE TRIM(event_date) END, 'yyyy-M-d H:m:s'))), DATE '1899-12-31'), DATE '1899-12-31') AS `event_date`,
    LOWER(REPLACE(REPLACE(TRIM(event_type), ' ', '_'), '-', '_')) AS `_event_type`,
    CASE WHEN _event_type = 'admit' THEN 'admission' WHEN _event_type = 'discharged' THEN 'discharge' WHEN _event_type = 'lab' THEN 'lab_result' WHEN _event_type = 'lab_results' THEN 'lab_result' WHEN _event_type = 'vitals' THEN 'vital_signs' WHEN _event_type = 'vital_sign' THEN 'vital_signs' WHEN _event_type = 'note' THEN 'clinical_note' WHEN _event_type = 'clinical_notes' THEN 'clinical_note' ELSE _event_type END AS `event_type`,
    NULLIF(TRIM(CASE WHEN CONTAINS(medical_provider, '  ') OR CONTAINS(medical_provider, CHR(9)) THEN regexp_replace(medical_provider, '\\s+', ' ') ELSE medical_provider END), '') AS `medical_provider`,
    CASE WHEN _event_type IN ('admission', 'admit', 'discharge', 'discharged') THEN 'encounter' WHEN _event_type IN ('lab_result', 'lab', 'lab_results') THEN 'diagnostic' WHEN _event_type IN ('vital_signs', 'vitals', 'vital_sign') THEN 'observation' WHEN _event_type IN ('clinical_note', 'note', 'clinical_notes') THEN 'documentation' END AS `event_category`,
    current_timestamp() AS _run_started_at,
    COALESCE(s0._line_number > dups._first_line, FALSE) AS _is_duplicate
  FROM s0 LEFT JOIN dups ON s0.`event_id` IS NOT DISTINCT FROM dups._dup_key0
    AND s0._file_name = dups._dup_file)
SELECT s1.*, m.patient_id AS _resolved_patient_id
FROM s1  LEFT JOIN (SELECT source_system, source_patient_id, patient_id FROM silver_resolved_identity_resolution
      WHERE source_system IN ('ADT_SYSTEM', 'LAB_SYSTEM')) m
    ON m.source_system = s1.source_system AND m.source_patient_id = s1.source_patient_id
) t) c;

CREATE OR REFRESH PRIVATE MATERIALIZED VIEW silver_medical_events_validated (
  CONSTRAINT valid_event_date EXPECT (COALESCE((event_date IS NOT NULL AND event_date <= CAST(_run_started_at AS DATE)), FALSE)),
  CONSTRAINT valid_event_type EXPECT (COALESCE((event_type IN ('admission', 'discharge', 'lab_result', 'vital_signs', 'clinical_note')), FALSE)),
  CONSTRAINT provider_information EXPECT (COALESCE((medical_provider IS NOT NULL OR event_type = 'lab_result'), FALSE)),
  CONSTRAINT no_future_events EXPECT (COALESCE((event_date IS NULL OR event_date <= CAST(LEAST(_extracted_at, _run_started_at) AS DATE)), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT patient_exists EXPECT (COALESCE((source_patient_id IS NOT NULL), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT duplicate_record EXPECT (COALESCE((NOT _is_duplicate), FALSE)) ON VIOLATION DROP ROW
)
COMMENT 'silver_medical_events: rows that pass every drop and fail rule'
AS SELECT * FROM silver_medical_events_checked;

CREATE OR REFRESH MATERIALIZED VIEW silver_medical_events_quarantine
COMMENT 'silver_medical_events: rejected rows with the names of the rules they failed'
TBLPROPERTIES (
  'data.classification' = 'PHI',
  'compliance.framework' = 'HIPAA'
)
AS SELECT 'silver_medical_events' AS dataset, filter(_failed, x -> x IN ('no_future_events', 'patient_exists', 'duplicate_record')) AS rules, _file_name AS file_name,
  _line_number AS line_number, to_json(named_struct('event_id', `event_id`, 'patient_id', `patient_id`, 'event_date', `_raw_event_date`, 'event_type', `_raw_event_type`, 'medical_provider', `_raw_medical_provider`, 'source_system', `source_system`)) AS record, current_timestamp() AS quarantined_at
FROM silver_medical_events_checked
WHERE _rejected
UNION ALL
SELECT 'silver_medical_events' AS dataset, array('orphan_patient_reference') AS rules, _file_name AS file_name,
  _line_number AS line_number, to_json(named_struct('event_id', `event_id`, 'patient_id', `patient_id`, 'event_date', `_raw_event_date`, 'event_type', `_raw_event_type`, 'medical_provider', `_raw_medical_provider`, 'source_system', `source_system`)) AS record, current_timestamp() AS quarantined_at
FROM silver_medical_events_checked
WHERE NOT _rejected AND _resolved_patient_id IS NULL
  AND _ingested_at + INTERVAL 86400 SECONDS <= current_timestamp();

CREATE OR REFRESH MATERIALIZED VIEW silver_medical_events
COMMENT 'Medical events with parsed dates, normalised types and the resolved patient. Rows whose patient is not resolved yet wait (parked) until it is.'
CLUSTER BY (patient_id, event_date)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,event_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'silver'
)
AS SELECT CAST(`event_id` AS STRING) AS `event_id`,
  CAST(_resolved_patient_id AS STRING) AS `patient_id`,
  CAST(`event_date` AS DATE) AS `event_date`,
  CAST(`event_type` AS STRING) AS `event_type`,
  CAST(`medical_provider` AS STRING) AS `medical_provider`,
  CAST(`event_category` AS STRING) AS `event_category`,
  CAST(current_timestamp() AS TIMESTAMP) AS `processed_at`
FROM (
  SELECT v.*, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY _extracted_at DESC, _file_name DESC, _line_number DESC) AS _latest
  FROM silver_medical_events_validated v
  WHERE _resolved_patient_id IS NOT NULL) r
WHERE _latest = 1;
