-- silver_patients, part 1: staging, expectations, quarantine, accepted source records
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW silver_patients_checked
COMMENT 'silver_patients: staged rows with every expectation evaluated (_failed, _rejected)'
AS SELECT c.*, arrays_overlap(c._failed, array('valid_patient_demographics', 'clinical_safety_age', 'valid_gender', 'valid_bmi', 'hipaa_age_deidentification', 'data_quality_threshold', 'clinical_data_integrity', 'temporal_validity', 'duplicate_record')) AS _rejected
FROM (SELECT t.*, filter(array(CASE WHEN COALESCE((source_patient_id IS NOT NULL AND first_name_norm IS NOT NULL AND last_name_norm IS NOT NULL), FALSE) THEN NULL ELSE 'valid_patient_demographics' END, CASE WHEN COALESCE((_age_raw >= 0 AND _age_raw <= 150), FALSE) THEN NULL ELSE 'clinical_safety_age' END, CASE WHEN COALESCE((sex IN ('M', 'F', 'U')), FALSE) THEN NULL ELSE 'valid_gender' END, CASE WHEN COALESCE((bmi IS NULL OR (bmi >= 16 AND bmi <= 50)), FALSE) THEN NULL ELSE 'valid_bmi' END, CASE WHEN COALESCE((age_years <> 89), FALSE) THEN NULL ELSE 'hipaa_age_deidentification' END, CASE WHEN COALESCE((data_quality_score >= 0.6), FALSE) THEN NULL ELSE 'data_quality_threshold' END, CASE WHEN COALESCE((source_patient_id IS NOT NULL AND (mrn IS NOT NULL OR source_system <> 'EHR_SYSTEM')), FALSE) THEN NULL ELSE 'clinical_data_integrity' END, CASE WHEN COALESCE((_extracted_at <= _run_started_at), FALSE) THEN NULL ELSE 'temporal_validity' END, CASE WHEN COALESCE((NOT _is_duplicate), FALSE) THEN NULL ELSE 'duplicate_record' END), x -> x IS NOT NULL) AS _failed FROM (
WITH s0 AS (SELECT * FROM bronze_patients),
dups AS (
  SELECT `source_system` AS _dup_key0, `patient_id` AS _dup_key1, _file_name AS _dup_file, MIN(_line_number) AS _first_line
  FROM s0 GROUP BY `source_system`, `patient_id`, _file_name HAVING COUNT(*) > 1),
s1 AS (
  SELECT s0.`patient_id`, s0.`mrn` AS `_raw_mrn`, s0.`first_name`, s0.`last_name`, s0.`date_of_birth`, s0.`gender`, s0.`address_line1`, s0.`city`, s0.`state`, s0.`zip_code`, s0.`phone`, s0.`email`, s0.`ssn`, s0.`insurance_id`, s0.`source_system`, s0.`bmi` AS `_raw_bmi`, s0.`smoker` AS `_raw_smoker`, s0.`children` AS `_raw_children`, s0.`charges` AS `_raw_charges`, s0.`insurance_plan` AS `_raw_insurance_plan`, s0.`coverage_start_date` AS `_raw_coverage_start_date`, s0._file_name, s0._line_number, s0._extracted_at, s0._ingested_at, s0._rescued_data, s0.ssn_hash, s0._ssn_key_id,
    NULLIF(TRIM(CASE WHEN CONTAINS(patient_id, '  ') OR CONTAINS(patient_id, CHR(9)) THEN regexp_replace(patient_id, '\\s+', ' ') ELSE patient_id END), '') AS `source_patient_id`,
    LOWER(NULLIF(TRIM(CASE WHEN CONTAINS(first_name, '  ') OR CONTAINS(first_name, CHR(9)) THEN regexp_replace(first_name, '\\s+', ' ') ELSE first_name END), '')) AS `first_name_norm`,
    LOWER(NULLIF(TRIM(CASE WHEN CONTAINS(last_name, '  ') OR CONTAINS(last_name, CHR(9)) THEN regexp_replace(last_name, '\\s+', ' ') ELSE last_name END), '')) AS `last_name_norm`,
    NULLIF(GREATEST(coalesce(to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'yyyy-M-d')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'M/d/yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'yyyyMMdd')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'd-MMM-yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'yyyy-M-d\'T\'H:m:s\'Z\'')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'yyyy-M-d\'T\'H:m:s')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(date_of_birth)) <= 9 AND (TRIM(date_of_birth) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(date_of_birth), 1, LENGTH(TRIM(date_of_birth)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(date_of_birth), LENGTH(TRIM(date_of_birth)) - 1)) ELSE TRIM(date_of_birth) END, 'yyyy-M-d H:m:s'))), DATE '1899-12-31'), DATE '1899-12-31') AS `birth_date`,
    (YEAR(CAST(_extracted_at AS DATE)) - YEAR(birth_date) - CASE WHEN MONTH(CAST(_extracted_at AS DATE)) * 100 + DAY(CAST(_extracted_at AS DATE)) < MONTH(birth_date) * 100 + DAY(birth_date) THEN 1 ELSE 0 END) AS `_age_raw`,
    CASE WHEN _age_raw >= 89 THEN 90 ELSE _age_raw END AS `age_years`,
    CASE WHEN UPPER(TRIM(gender)) IN ('M', 'MALE', '1') THEN 'M' WHEN UPPER(TRIM(gender)) IN ('F', 'FEMALE', '2') THEN 'F' ELSE 'U' END AS `sex`,
    UPPER(TRIM(state)) AS `state_code`,
    LOWER(NULLIF(TRIM(CASE WHEN CONTAINS(city, '  ') OR CONTAINS(city, CHR(9)) THEN regexp_replace(city, '\\s+', ' ') ELSE city END), '')) AS `city_norm`,
    LOWER(NULLIF(TRIM(CASE WHEN CONTAINS(address_line1, '  ') OR CONTAINS(address_line1, CHR(9)) THEN regexp_replace(address_line1, '\\s+', ' ') ELSE address_line1 END), '')) AS `address_norm`,
    CASE WHEN (TRIM(zip_code) RLIKE '^[0-9]{5}(-[0-9]{4})?$') THEN SUBSTR(TRIM(zip_code), 1, 5) END AS `zip5`,
    CASE WHEN LENGTH(regexp_replace(phone, '[^0-9]', '')) = 10 THEN regexp_replace(phone, '[^0-9]', '') WHEN LENGTH(regexp_replace(phone, '[^0-9]', '')) = 11 AND SUBSTR(regexp_replace(phone, '[^0-9]', ''), 1, 1) = '1' THEN SUBSTR(regexp_replace(phone, '[^0-9]', ''), 2) END AS `phone_digits`,
    CASE WHEN (LOWER(TRIM(email)) RLIKE '^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$') THEN LOWER(TRIM(email)) END AS `email_norm`,
    NULLIF(TRIM(CASE WHEN CONTAINS(mrn, '  ') OR CONTAINS(mrn, CHR(9)) THEN regexp_replace(mrn, '\\s+', ' ') ELSE mrn END), '') AS `mrn`,
    NULLIF(TRIM(CASE WHEN CONTAINS(insurance_id, '  ') OR CONTAINS(insurance_id, CHR(9)) THEN regexp_replace(insurance_id, '\\s+', ' ') ELSE insurance_id END), '') AS `insurance_id_norm`,
    ROUND(try_cast(TRIM(bmi) AS DOUBLE), 1) AS `bmi`,
    CASE WHEN LOWER(TRIM(smoker)) IN ('yes', 'y', 'true', '1', 'smoker') THEN TRUE WHEN LOWER(TRIM(smoker)) IN ('no', 'n', 'false', '0', 'non-smoker') THEN FALSE END AS `smoker`,
    try_cast(TRIM(children) AS INT) AS `children`,
    CASE WHEN (TRIM(charges) RLIKE '^-?[0-9]+(\\.[0-9]{1,2})?$') THEN try_cast(TRIM(charges) AS DOUBLE)
    WHEN (TRIM(charges) RLIKE '^-?\\$?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\\.[0-9]{1,2})?$') THEN try_cast(REPLACE(REPLACE(TRIM(charges), '$', ''), ',', '') AS DOUBLE) END AS `charges`,
    UPPER(NULLIF(TRIM(CASE WHEN CONTAINS(insurance_plan, '  ') OR CONTAINS(insurance_plan, CHR(9)) THEN regexp_replace(insurance_plan, '\\s+', ' ') ELSE insurance_plan END), '')) AS `insurance_plan`,
    NULLIF(GREATEST(coalesce(to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'yyyy-M-d')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'M/d/yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'yyyyMMdd')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'd-MMM-yyyy')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'yyyy-M-d\'T\'H:m:s\'Z\'')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'yyyy-M-d\'T\'H:m:s')), to_date(try_to_timestamp(CASE WHEN LENGTH(TRIM(coverage_start_date)) <= 9 AND (TRIM(coverage_start_date) RLIKE '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$')
    THEN concat(substr(TRIM(coverage_start_date), 1, LENGTH(TRIM(coverage_start_date)) - 2), CASE WHEN 2000 + try_cast(substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1) AS INT) > year(_extracted_at) THEN '19' ELSE '20' END, substr(TRIM(coverage_start_date), LENGTH(TRIM(coverage_start_date)) - 1)) ELSE TRIM(coverage_start_date) END, 'yyyy-M-d H:m:s'))), DATE '1899-12-31'), DATE '1899-12-31') AS `coverage_start_date`,
    (CASE source_system WHEN 'EHR_SYSTEM' THEN 3 WHEN 'LAB_SYSTEM' THEN 2 ELSE 1 END) * 10000000000 + UNIX_TIMESTAMP(_extracted_at) AS `_priority`,
    ROUND((CASE WHEN first_name_norm IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN last_name_norm IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN birth_date IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN sex <> 'U' THEN 1 ELSE 0 END + CASE WHEN address_norm IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN city_norm IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN LENGTH(state_code) = 2 AND (state_code RLIKE '^[A-Z]{2}$') THEN 1 ELSE 0 END + CASE WHEN zip5 IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN phone_digits IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN email_norm IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN insurance_id_norm IS NOT NULL THEN 1 ELSE 0 END + CASE WHEN NULLIF(TRIM(mrn), '') IS NOT NULL THEN 1 ELSE 0 END) / 12.0, 3) AS `data_quality_score`,
    current_timestamp() AS _run_started_at,
    COALESCE(s0._line_number > dups._first_line, FALSE) AS _is_duplicate
  FROM s0 LEFT JOIN dups ON s0.`source_system` IS NOT DISTINCT FROM dups._dup_key0 AND s0.`patient_id` IS NOT DISTINCT FROM dups._dup_key1
    AND s0._file_name = dups._dup_file)
SELECT s1.*, l0.region AS region
FROM s1 LEFT JOIN (SELECT DISTINCT state_code, region FROM ref_us_states) l0 ON l0.state_code = s1.state_code
) t) c;

CREATE OR REFRESH PRIVATE MATERIALIZED VIEW silver_patients_validated (
  CONSTRAINT valid_patient_demographics EXPECT (COALESCE((source_patient_id IS NOT NULL AND first_name_norm IS NOT NULL AND last_name_norm IS NOT NULL), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT clinical_safety_age EXPECT (COALESCE((_age_raw >= 0 AND _age_raw <= 150), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_gender EXPECT (COALESCE((sex IN ('M', 'F', 'U')), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_bmi EXPECT (COALESCE((bmi IS NULL OR (bmi >= 16 AND bmi <= 50)), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT hipaa_age_deidentification EXPECT (COALESCE((age_years <> 89), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT data_quality_threshold EXPECT (COALESCE((data_quality_score >= 0.6), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT clinical_data_integrity EXPECT (COALESCE((source_patient_id IS NOT NULL AND (mrn IS NOT NULL OR source_system <> 'EHR_SYSTEM')), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT temporal_validity EXPECT (COALESCE((_extracted_at <= _run_started_at), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT duplicate_record EXPECT (COALESCE((NOT _is_duplicate), FALSE)) ON VIOLATION DROP ROW
)
COMMENT 'silver_patients: rows that pass every drop and fail rule'
AS SELECT * FROM silver_patients_checked;

CREATE OR REFRESH MATERIALIZED VIEW silver_patients_quarantine
COMMENT 'silver_patients: rejected rows with the names of the rules they failed'
TBLPROPERTIES (
  'data.classification' = 'PHI',
  'compliance.framework' = 'HIPAA'
)
AS SELECT 'silver_patients' AS dataset, filter(_failed, x -> x IN ('valid_patient_demographics', 'clinical_safety_age', 'valid_gender', 'valid_bmi', 'hipaa_age_deidentification', 'data_quality_threshold', 'clinical_data_integrity', 'temporal_validity', 'duplicate_record')) AS rules, _file_name AS file_name,
  _line_number AS line_number, to_json(named_struct('patient_id', `patient_id`, 'mrn', `_raw_mrn`, 'first_name', `first_name`, 'last_name', `last_name`, 'date_of_birth', `date_of_birth`, 'gender', `gender`, 'address_line1', `address_line1`, 'city', `city`, 'state', `state`, 'zip_code', `zip_code`, 'phone', `phone`, 'email', `email`, 'insurance_id', `insurance_id`, 'source_system', `source_system`, 'bmi', `_raw_bmi`, 'smoker', `_raw_smoker`, 'children', `_raw_children`, 'charges', `_raw_charges`, 'insurance_plan', `_raw_insurance_plan`, 'coverage_start_date', `_raw_coverage_start_date`, 'ssn_hash', ssn_hash)) AS record, current_timestamp() AS quarantined_at
FROM silver_patients_checked
WHERE _rejected;

CREATE OR REFRESH MATERIALIZED VIEW silver_patient_sources
COMMENT 'Accepted patient source records (EHR, ADT, LAB) with normalised match keys'
AS SELECT CAST(`source_system` AS STRING) AS `source_system`,
  CAST(`source_patient_id` AS STRING) AS `source_patient_id`,
  CAST(`first_name_norm` AS STRING) AS `first_name_norm`,
  CAST(`last_name_norm` AS STRING) AS `last_name_norm`,
  CAST(`birth_date` AS DATE) AS `birth_date`,
  CAST(`sex` AS STRING) AS `sex`,
  CAST(`state_code` AS STRING) AS `state_code`,
  CAST(`region` AS STRING) AS `region`,
  CAST(`city_norm` AS STRING) AS `city_norm`,
  CAST(`address_norm` AS STRING) AS `address_norm`,
  CAST(`zip5` AS STRING) AS `zip5`,
  CAST(`phone_digits` AS STRING) AS `phone_digits`,
  CAST(`email_norm` AS STRING) AS `email_norm`,
  CAST(`mrn` AS STRING) AS `mrn`,
  CAST(`insurance_id_norm` AS STRING) AS `insurance_id_norm`,
  CAST(`ssn_hash` AS STRING) AS `ssn_hash`,
  CAST(`_ssn_key_id` AS STRING) AS `_ssn_key_id`,
  CAST(`bmi` AS DOUBLE) AS `bmi`,
  CAST(`smoker` AS BOOLEAN) AS `smoker`,
  CAST(`children` AS INT) AS `children`,
  CAST(`charges` AS DOUBLE) AS `charges`,
  CAST(`insurance_plan` AS STRING) AS `insurance_plan`,
  CAST(`coverage_start_date` AS DATE) AS `coverage_start_date`,
  CAST(`age_years` AS INT) AS `age_years`,
  CAST(`data_quality_score` AS DOUBLE) AS `data_quality_score`,
  CAST(`_priority` AS DOUBLE) AS `_priority`,
  CAST(`_file_name` AS STRING) AS `_file_name`,
  CAST(`_line_number` AS BIGINT) AS `_line_number`,
  CAST(`_extracted_at` AS TIMESTAMP) AS `_extracted_at`
FROM silver_patients_validated;
