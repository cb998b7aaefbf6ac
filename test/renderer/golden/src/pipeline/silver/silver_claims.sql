-- silver_claims
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW silver_claims_checked
COMMENT 'silver_claims: staged rows with every expectation evaluated (_failed, _rejected)'
AS SELECT c.*, arrays_overlap(c._failed, array('valid_claim_amount', 'claim_amount_reversal', 'valid_claim_status', 'valid_diagnosis_code', 'valid_procedure_code', 'patient_exists', 'valid_claim_date', 'no_future_claims', 'duplicate_record')) AS _rejected
FROM (SELECT t.*, filter(array(CASE WHEN COALESCE((claim_amount > 0 AND claim_amount < 1000000), FALSE) THEN NULL ELSE 'valid_claim_amount' END, CASE WHEN COALESCE((claim_amount IS NULL OR claim_amount >= 0), FALSE) THEN NULL ELSE 'claim_amount_reversal' END, CASE WHEN COALESCE((claim_status IN ('submitted', 'approved', 'denied', 'paid')), FALSE) THEN NULL ELSE 'valid_claim_status' END, CASE WHEN COALESCE((diagnosis_code IS NULL OR ((diagnosis_code RLIKE '^[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$') AND _diagnosis_listed)), FALSE) THEN NULL ELSE 'valid_diagnosis_code' END, CASE WHEN COALESCE((procedure_code IS NULL OR (procedure_code RLIKE '^([0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4})$')), FALSE) THEN NULL ELSE 'valid_procedure_code' END, CASE WHEN COALESCE((source_patient_id IS NOT NULL), FALSE) THEN NULL ELSE 'patient_exists' END, CASE WHEN COALESCE((claim_date IS NOT NULL), FALSE) THEN NULL ELSE 'valid_claim_date' END, CASE WHEN COALESCE((claim_date <= CAST(LEAST(_extracted_at, _run_started_at) AS DATE)), FALSE) THEN NULL ELSE 'no_future_claims' END, CASE WHEN COALESCE((NOT _is_duplicate), FALSE) THEN NULL ELSE 'duplicate_record' END), x -> x IS NOT NULL) AS _failed FROM (
WITH s0 AS (SELECT * FROM bronze_claims),
dups AS (
  SELECT `claim_id` AS _dup_key0, _file_name AS _dup_file, MIN(_line_number) AS _first_line
  FROM s0 GROUP BY `claim_id`, _file_name HAVING COUNT(*) > 1),
s1 AS (
  SELECT s0.`claim_id`, s0.`patient_id`, s0.`claim_amount` AS `_raw_claim_amount`, s0.`claim_date` AS `_raw_claim_date`, s0.`diagnosis_code` AS `_raw_diagnosis_code`, s0.`procedure_code` AS `_raw_procedure_code`, s0.`claim_status` AS `_raw_claim_status`, s0.`source_system`, s0._file_name, s0._line_number, s0._extracted_at, s0._ingested_at, s0._rescued_data,
    NULLIF(TRIM(CASE WHEN CONTAINS(patient_id, '  ') OR CONTAINS(patient_id, CHR(9)) THEN regexp_replace(patient_id, '\\s+', ' ') ELSE patient_id END), '') AS `source_patient_id`,
    CASE WHEN (TRIM(claim_amount) RLIKE '^-?[0-9]+(\\.[0-9]{1,2})?$') THEN try_cast(TRIM(claim_amount) AS DOUBLE)
    WHEN (TRIM(claim_amount) RLIKE '^-?\\$?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\\.[0-9]{1,2})?$') THEN try_cast(REPLACE(REPLACE(TRIM(claim_amount), '$', ''), ',', '') AS DOUBLE) END AS `claim_amount`,
    NULLIF(GREATEST(coalesce(to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'yyyy-M-d')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'M/d/yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'yyyyMMdd')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'd-MMM-yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'yyyy-M-d\'T\'H:m:s\'Z\'')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'yyyy-M-d\'T\'H:m:s')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(claim_date)) <= 9 AND (TRIM(claim_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(claim_date), 1, LENGTH(TRIM(claim_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(claim_date), LENGTH(TRIM(claim_date)) - 1)) ELSE TRIM(claim_date) END, 'yyyy-M-d H:m:s'))), DATE '1899-12-31'), DATE '1899-12-31') AS `claim_date`,
    NULLIF(CASE WHEN LENGTH(UPPER(REPLACE(TRIM(diagnosis_code), ' ', ''))) BETWEEN 4 AND 7 AND NOT CONTAINS(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), '.') THEN CONCAT(SUBSTR(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), 1, 3), '.', SUBSTR(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), 4)) ELSE UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')) END, '') AS `diagnosis_code`,
    NULLIF(UPPER(TRIM(procedure_code)), '') AS `procedure_code`,
    CASE WHEN LOWER(TRIM(claim_status)) = 'pending' THEN 'submitted' WHEN LOWER(TRIM(claim_status)) = 'pend' THEN 'submitted' WHEN LOWER(TRIM(claim_status)) = 'received' THEN 'submitted' WHEN LOWER(TRIM(claim_status)) = 'accepted' THEN 'approved' WHEN LOWER(TRIM(claim_status)) = 'rejected' THEN 'denied' ELSE LOWER(TRIM(claim_status)) END AS `claim_status`,
    UPPER(TRIM(procedure_code)) AS `_procedure`,
    CASE
          WHEN NULLIF(CASE WHEN LENGTH(UPPER(REPLACE(TRIM(diagnosis_code), ' ', ''))) BETWEEN 4 AND 7 AND NOT CONTAINS(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), '.') THEN CONCAT(SUBSTR(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), 1, 3), '.', SUBSTR(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), 4)) ELSE UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')) END, '') >= 'Z00' AND NULLIF(CASE WHEN LENGTH(UPPER(REPLACE(TRIM(diagnosis_code), ' ', ''))) BETWEEN 4 AND 7 AND NOT CONTAINS(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), '.') THEN CONCAT(SUBSTR(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), 1, 3), '.', SUBSTR(UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')), 4)) ELSE UPPER(REPLACE(TRIM(diagnosis_code), ' ', '')) END, '') < 'Z14' THEN 'preventive'
          WHEN _procedure IN ('99281', '99282', '99283', '99284', '99285') THEN 'emergency'
          WHEN _procedure IN ('99221', '99222', '99223', '99231', '99232', '99233', '99234', '99235', '99236', '99238', '99239') THEN 'inpatient'
          WHEN LENGTH(_procedure) = 5 AND _procedure >= '99200' AND _procedure < '99220' THEN 'office_visit'
          WHEN LENGTH(_procedure) = 5 AND _procedure LIKE '99%' THEN 'evaluation_management'
          WHEN LENGTH(_procedure) = 5 AND _procedure LIKE 'J%' THEN 'drug'
          WHEN LENGTH(_procedure) = 5 AND _procedure LIKE 'A0%' THEN 'ambulance'
          WHEN LENGTH(_procedure) = 5 AND (_procedure LIKE 'E%' OR _procedure LIKE 'K%' OR _procedure LIKE 'L%') THEN 'durable_medical_equipment'
          WHEN LENGTH(_procedure) = 5 AND _procedure >= '00000' AND _procedure <= '99999' THEN 'procedure'
          ELSE 'other' END AS `claim_category`,
    current_timestamp() AS _run_started_at,
    COALESCE(s0._line_number > dups._first_line, FALSE) AS _is_duplicate
  FROM s0 LEFT JOIN dups ON s0.`claim_id` IS NOT DISTINCT FROM dups._dup_key0
    AND s0._file_name = dups._dup_file)
SELECT s1.*, l0.code IS NOT NULL AS _diagnosis_listed, m.patient_id AS _resolved_patient_id
FROM s1 LEFT JOIN (SELECT DISTINCT code FROM ref_icd10cm) l0 ON l0.code = s1.diagnosis_code LEFT JOIN (SELECT source_system, source_patient_id, patient_id FROM silver_resolved_identity_resolution
      WHERE source_system IN ('EHR_SYSTEM')) m
    ON m.source_system = 'EHR_SYSTEM' AND m.source_patient_id = s1.source_patient_id
) t) c;

CREATE OR REFRESH PRIVATE MATERIALIZED VIEW silver_claims_validated (
  CONSTRAINT valid_claim_amount EXPECT (COALESCE((claim_amount > 0 AND claim_amount < 1000000), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT claim_amount_reversal EXPECT (COALESCE((claim_amount IS NULL OR claim_amount >= 0), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_claim_status EXPECT (COALESCE((claim_status IN ('submitted', 'approved', 'denied', 'paid')), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_diagnosis_code EXPECT (COALESCE((diagnosis_code IS NULL OR ((diagnosis_code RLIKE '^[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$') AND _diagnosis_listed)), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_procedure_code EXPECT (COALESCE((procedure_code IS NULL OR (procedure_code RLIKE '^([0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4})$')), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT patient_exists EXPECT (COALESCE((source_patient_id IS NOT NULL), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_claim_date EXPECT (COALESCE((claim_date IS NOT NULL), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT no_future_claims EXPECT (COALESCE((claim_date <= CAST(LEAST(_extracted_at, _run_started_at) AS DATE)), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT duplicate_record EXPECT (COALESCE((NOT _is_duplicate), FALSE)) ON VIOLATION DROP ROW
)
COMMENT 'silver_claims: rows that pass every drop and fail rule'
AS SELECT * FROM silver_claims_checked;

CREATE OR REFRESH MATERIALIZED VIEW silver_claims_quarantine
COMMENT 'silver_claims: rejected rows with the names of the rules they failed'
TBLPROPERTIES (
  'data.classification' = 'PHI',
  'compliance.framework' = 'HIPAA'
)
AS SELECT 'silver_claims' AS dataset, filter(_failed, x -> x IN ('valid_claim_amount', 'claim_amount_reversal', 'valid_claim_status', 'valid_diagnosis_code', 'valid_procedure_code', 'patient_exists', 'valid_claim_date', 'no_future_claims', 'duplicate_record')) AS rules, _file_name AS file_name,
  _line_number AS line_number, to_json(named_struct('claim_id', `claim_id`, 'patient_id', `patient_id`, 'claim_amount', `_raw_claim_amount`, 'claim_date', `_raw_claim_date`, 'diagnosis_code', `_raw_diagnosis_code`, 'procedure_code', `_raw_procedure_code`, 'claim_status', `_raw_claim_status`, 'source_system', `source_system`)) AS record, current_timestamp() AS quarantined_at
FROM silver_claims_checked
WHERE _rejected
UNION ALL
SELECT 'silver_claims' AS dataset, array('orphan_patient_reference') AS rules, _file_name AS file_name,
  _line_number AS line_number, to_json(named_struct('claim_id', `claim_id`, 'patient_id', `patient_id`, 'claim_amount', `_raw_claim_amount`, 'claim_date', `_raw_claim_date`, 'diagnosis_code', `_raw_diagnosis_code`, 'procedure_code', `_raw_procedure_code`, 'claim_status', `_raw_claim_status`, 'source_system', `source_system`)) AS record, current_timestamp() AS quarantined_at
FROM silver_claims_checked
WHERE NOT _rejected AND _resolved_patient_id IS NULL
  AND _ingested_at + INTERVAL 86400 SECONDS <= current_timestamp();

CREATE OR REFRESH MATERIALIZED VIEW silver_claims
COMMENT 'Claims with parsed amounts and dates, validated codes and the resolved patient. Rows whose patient is not resolved yet wait (parked) until it is.'
CLUSTER BY (patient_id, claim_date)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,claim_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'silver'
)
AS SELECT CAST(`claim_id` AS STRING) AS `claim_id`,
  CAST(_resolved_patient_id AS STRING) AS `patient_id`,
  CAST(`claim_amount` AS DOUBLE) AS `claim_amount`,
  CAST(`claim_date` AS DATE) AS `claim_date`,
  CAST(`diagnosis_code` AS STRING) AS `diagnosis_code`,
  CAST(`procedure_code` AS STRING) AS `procedure_code`,
  CAST(`claim_status` AS STRING) AS `claim_status`,
  CAST(`claim_category` AS STRING) AS `claim_category`,
  CAST(current_timestamp() AS TIMESTAMP) AS `processed_at`
FROM (
  SELECT v.*, ROW_NUMBER() OVER (PARTITION BY claim_id ORDER BY _extracted_at DESC, _file_name DESC, _line_number DESC) AS _latest
  FROM silver_claims_validated v
  WHERE _resolved_patient_id IS NOT NULL) r
WHERE _latest = 1;
