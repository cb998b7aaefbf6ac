-- bronze_patients: Raw patients rows from the landing files, all values as text.
-- Databricks only: read_files (Auto Loader), _metadata, _rescued_data, secret() and CONSTRAINT run on Lakeflow.
-- The raw SSN is read only inside this query and hashed at once; the table stores ssn = NULL.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW bronze_patients_checked
COMMENT 'bronze_patients: landing rows with every expectation evaluated'
AS SELECT c.*, arrays_overlap(c._failed, array('malformed_csv_row', 'valid_patient_id', 'no_test_patients', 'hipaa_compliant', 'valid_source')) AS _rejected
FROM (SELECT t.*, filter(array(CASE WHEN COALESCE((_field_count = _header_field_count), FALSE) THEN NULL ELSE 'malformed_csv_row' END, CASE WHEN COALESCE((patient_id IS NOT NULL AND LENGTH(patient_id) >= 5 AND patient_id <> '[REDACTED]'), FALSE) THEN NULL ELSE 'valid_patient_id' END, CASE WHEN COALESCE((NOT (((upper(replace(COALESCE(first_name, ''), '\u00DF', '\u1E9E')) LIKE 'ZZ%' OR upper(replace(COALESCE(first_name, ''), '\u00DF', '\u1E9E')) LIKE '%TEST%') AND (upper(replace(COALESCE(first_name, ''), '\u00DF', '\u1E9E')) RLIKE '^ZZ(Z|TEST)|(^|[^A-Z])TEST([^A-Z]|$)|^TEST ?PATIENT')) OR ((upper(replace(COALESCE(last_name, ''), '\u00DF', '\u1E9E')) LIKE 'ZZ%' OR upper(replace(COALESCE(last_name, ''), '\u00DF', '\u1E9E')) LIKE '%TEST%') AND (upper(replace(COALESCE(last_name, ''), '\u00DF', '\u1E9E')) RLIKE '^ZZ(Z|TEST)|(^|[^A-Z])TEST([^A-Z]|$)|^TEST ?PATIENT')))), FALSE) THEN NULL ELSE 'no_test_patients' END, CASE WHEN COALESCE((ssn IS NULL OR LENGTH(ssn) = 0), FALSE) THEN NULL ELSE 'hipaa_compliant' END, CASE WHEN COALESCE((source_system IN ('EHR_SYSTEM', 'ADT_SYSTEM', 'LAB_SYSTEM')), FALSE) THEN NULL ELSE 'valid_source' END, CASE WHEN COALESCE((_ssn_present = false OR ssn_hash IS NOT NULL), FALSE) THEN NULL ELSE 'valid_ssn_format' END, CASE WHEN COALESCE((_rescued_data IS NULL), FALSE) THEN NULL ELSE 'rescued_data_null' END, CASE WHEN COALESCE(('[REDACTED]' NOT IN (COALESCE(`patient_id`, ''), COALESCE(`mrn`, ''), COALESCE(`first_name`, ''), COALESCE(`last_name`, ''), COALESCE(`date_of_birth`, ''), COALESCE(`gender`, ''), COALESCE(`address_line1`, ''), COALESCE(`city`, ''), COALESCE(`state`, ''), COALESCE(`zip_code`, ''), COALESCE(`phone`, ''), COALESCE(`email`, ''), COALESCE(`insurance_id`, ''), COALESCE(`source_system`, ''), COALESCE(`bmi`, ''), COALESCE(`smoker`, ''), COALESCE(`children`, ''), COALESCE(`charges`, ''), COALESCE(`insurance_plan`, ''), COALESCE(`coverage_start_date`, ''))), FALSE) THEN NULL ELSE 'ssn_outside_ssn_column' END), x -> x IS NOT NULL) AS _failed FROM (
SELECT CASE WHEN (instr(NULLIF(`patient_id`, ''), '-') > 0 AND LENGTH(NULLIF(`patient_id`, '')) >= 11 AND (NULLIF(`patient_id`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`patient_id`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND endswith(NULLIF(`patient_id`, ''), substr(regexp_replace(ssn, '[^0-9]', ''), 6, 4)) AND regexp_replace(NULLIF(`patient_id`, ''), '[^0-9]', '') = regexp_replace(ssn, '[^0-9]', '')) THEN '[REDACTED]' ELSE NULLIF(`patient_id`, '') END AS `patient_id`,
  CASE WHEN (instr(NULLIF(`mrn`, ''), '-') > 0 AND LENGTH(NULLIF(`mrn`, '')) >= 11 AND (NULLIF(`mrn`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`mrn`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND endswith(NULLIF(`mrn`, ''), substr(regexp_replace(ssn, '[^0-9]', ''), 6, 4)) AND regexp_replace(NULLIF(`mrn`, ''), '[^0-9]', '') = regexp_replace(ssn, '[^0-9]', '')) THEN '[REDACTED]' ELSE NULLIF(`mrn`, '') END AS `mrn`,
  CASE WHEN (instr(NULLIF(`first_name`, ''), '-') > 0 AND LENGTH(NULLIF(`first_name`, '')) >= 11 AND (NULLIF(`first_name`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`first_name`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`first_name`, '') END AS `first_name`,
  CASE WHEN (instr(NULLIF(`last_name`, ''), '-') > 0 AND LENGTH(NULLIF(`last_name`, '')) >= 11 AND (NULLIF(`last_name`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`last_name`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`last_name`, '') END AS `last_name`,
  CASE WHEN (instr(NULLIF(`date_of_birth`, ''), '-') > 0 AND LENGTH(NULLIF(`date_of_birth`, '')) >= 11 AND (NULLIF(`date_of_birth`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`date_of_birth`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`date_of_birth`, '') END AS `date_of_birth`,
  CASE WHEN (instr(NULLIF(`gender`, ''), '-') > 0 AND LENGTH(NULLIF(`gender`, '')) >= 11 AND (NULLIF(`gender`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`gender`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`gender`, '') END AS `gender`,
  CASE WHEN (instr(NULLIF(`address_line1`, ''), '-') > 0 AND LENGTH(NULLIF(`address_line1`, '')) >= 11 AND (NULLIF(`address_line1`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`address_line1`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`address_line1`, '') END AS `address_line1`,
  CASE WHEN (instr(NULLIF(`city`, ''), '-') > 0 AND LENGTH(NULLIF(`city`, '')) >= 11 AND (NULLIF(`city`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`city`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`city`, '') END AS `city`,
  CASE WHEN (instr(NULLIF(`state`, ''), '-') > 0 AND LENGTH(NULLIF(`state`, '')) >= 11 AND (NULLIF(`state`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`state`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`state`, '') END AS `state`,
  CASE WHEN (instr(NULLIF(`zip_code`, ''), '-') > 0 AND LENGTH(NULLIF(`zip_code`, '')) >= 11 AND (NULLIF(`zip_code`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`zip_code`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`zip_code`, '') END AS `zip_code`,
  CASE WHEN (instr(NULLIF(`phone`, ''), '-') > 0 AND LENGTH(NULLIF(`phone`, '')) >= 11 AND (NULLIF(`phone`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`phone`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND endswith(NULLIF(`phone`, ''), substr(regexp_replace(ssn, '[^0-9]', ''), 6, 4)) AND regexp_replace(NULLIF(`phone`, ''), '[^0-9]', '') = regexp_replace(ssn, '[^0-9]', '')) THEN '[REDACTED]' ELSE NULLIF(`phone`, '') END AS `phone`,
  CASE WHEN (instr(NULLIF(`email`, ''), '-') > 0 AND LENGTH(NULLIF(`email`, '')) >= 11 AND (NULLIF(`email`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`email`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`email`, '') END AS `email`,
  CAST(NULL AS STRING) AS ssn,
  CASE WHEN (instr(NULLIF(`insurance_id`, ''), '-') > 0 AND LENGTH(NULLIF(`insurance_id`, '')) >= 11 AND (NULLIF(`insurance_id`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`insurance_id`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND endswith(NULLIF(`insurance_id`, ''), substr(regexp_replace(ssn, '[^0-9]', ''), 6, 4)) AND regexp_replace(NULLIF(`insurance_id`, ''), '[^0-9]', '') = regexp_replace(ssn, '[^0-9]', '')) THEN '[REDACTED]' ELSE NULLIF(`insurance_id`, '') END AS `insurance_id`,
  CASE WHEN (instr(NULLIF(`source_system`, ''), '-') > 0 AND LENGTH(NULLIF(`source_system`, '')) >= 11 AND (NULLIF(`source_system`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`source_system`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`source_system`, '') END AS `source_system`,
  CASE WHEN (instr(NULLIF(`bmi`, ''), '-') > 0 AND LENGTH(NULLIF(`bmi`, '')) >= 11 AND (NULLIF(`bmi`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`bmi`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`bmi`, '') END AS `bmi`,
  CASE WHEN (instr(NULLIF(`smoker`, ''), '-') > 0 AND LENGTH(NULLIF(`smoker`, '')) >= 11 AND (NULLIF(`smoker`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`smoker`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`smoker`, '') END AS `smoker`,
  CASE WHEN (instr(NULLIF(`children`, ''), '-') > 0 AND LENGTH(NULLIF(`children`, '')) >= 11 AND (NULLIF(`children`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`children`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`children`, '') END AS `children`,
  CASE WHEN (instr(NULLIF(`charges`, ''), '-') > 0 AND LENGTH(NULLIF(`charges`, '')) >= 11 AND (NULLIF(`charges`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`charges`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`charges`, '') END AS `charges`,
  CASE WHEN (instr(NULLIF(`insurance_plan`, ''), '-') > 0 AND LENGTH(NULLIF(`insurance_plan`, '')) >= 11 AND (NULLIF(`insurance_plan`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`insurance_plan`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`insurance_plan`, '') END AS `insurance_plan`,
  CASE WHEN (instr(NULLIF(`coverage_start_date`, ''), '-') > 0 AND LENGTH(NULLIF(`coverage_start_date`, '')) >= 11 AND (NULLIF(`coverage_start_date`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) OR (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9 AND instr(NULLIF(`coverage_start_date`, ''), regexp_replace(ssn, '[^0-9]', '')) > 0) THEN '[REDACTED]' ELSE NULLIF(`coverage_start_date`, '') END AS `coverage_start_date`,
  CASE WHEN (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9
    AND substr(regexp_replace(ssn, '[^0-9]', ''), 1, 3) NOT IN ('000', '666')
    AND substr(regexp_replace(ssn, '[^0-9]', ''), 4, 2) <> '00'
    AND substr(regexp_replace(ssn, '[^0-9]', ''), 6, 4) <> '0000'
    AND regexp_replace(ssn, '[^0-9]', '') <> repeat(substr(regexp_replace(ssn, '[^0-9]', ''), 1, 1), 9)
    AND NOT regexp_replace(ssn, '[^0-9]', '') IN ('123456789', '078051120', '219099999', '987654320', '987654321', '987654322', '987654323', '987654324', '987654325', '987654326', '987654327', '987654328', '987654329')) THEN sha2(concat(unhex(concat_ws('', transform(sequence(0, 63), i -> lpad(hex(conv(substr(rpad(secret('${SSN_SECRET_SCOPE}', '${SSN_SECRET_KEY}'), 128, '0'), i * 2 + 1, 2), 16, 10) ^ 92), 2, '0')))), unhex(sha2(concat(unhex(concat_ws('', transform(sequence(0, 63), i -> lpad(hex(conv(substr(rpad(secret('${SSN_SECRET_SCOPE}', '${SSN_SECRET_KEY}'), 128, '0'), i * 2 + 1, 2), 16, 10) ^ 54), 2, '0')))), encode(regexp_replace(ssn, '[^0-9]', ''), 'UTF-8')), 256))), 256) END AS ssn_hash,
  CASE WHEN (LENGTH(regexp_replace(ssn, '[^0-9]', '')) = 9
    AND substr(regexp_replace(ssn, '[^0-9]', ''), 1, 3) NOT IN ('000', '666')
    AND substr(regexp_replace(ssn, '[^0-9]', ''), 4, 2) <> '00'
    AND substr(regexp_replace(ssn, '[^0-9]', ''), 6, 4) <> '0000'
    AND regexp_replace(ssn, '[^0-9]', '') <> repeat(substr(regexp_replace(ssn, '[^0-9]', ''), 1, 1), 9)
    AND NOT regexp_replace(ssn, '[^0-9]', '') IN ('123456789', '078051120', '219099999', '987654320', '987654321', '987654322', '987654323', '987654324', '987654325', '987654326', '987654327', '987654328', '987654329')) THEN '${SSN_KEY_ID}' END AS _ssn_key_id,
  NULLIF(trim(BOTH '\u0020\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u202F\u205F\u3000' FROM ssn), '') IS NOT NULL AS _ssn_present,
  current_timestamp() AS _ingested_at,
  _metadata.file_name AS _file_name,
  _metadata.file_path AS _file_path,
  regexp_replace(regexp_replace(regexp_replace(_rescued_data, '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}', '[REDACTED]'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2') AS _rescued_data,
  monotonically_increasing_id() AS _line_number,
  to_timestamp(regexp_extract(_metadata.file_name, '_([0-9]{6}_[0-9]{4})(_[0-9]+)?[.]csv$', 1), 'yyMMdd_HHmm') AS _extracted_at,
  date_format(current_timestamp(), 'yyyyMMdd-HHmmss') AS _run_id,
  CASE WHEN _corrupt_record IS NULL THEN 21 ELSE -1 END AS _field_count,
  21 AS _header_field_count,
  regexp_replace(regexp_replace(regexp_replace(_corrupt_record, '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}', '[REDACTED]'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2') AS _corrupt_record
FROM STREAM read_files(
  '${VOLUMES_PATH}',
  format => 'csv',
  header => true,
  pathGlobFilter => 'patients_*.csv',
  schema => 'patient_id STRING, mrn STRING, first_name STRING, last_name STRING, date_of_birth STRING, gender STRING, address_line1 STRING, city STRING, state STRING, zip_code STRING, phone STRING, email STRING, ssn STRING, insurance_id STRING, source_system STRING, bmi STRING, smoker STRING, children STRING, charges STRING, insurance_plan STRING, coverage_start_date STRING, _corrupt_record STRING',
  mode => 'PERMISSIVE',
  columnNameOfCorruptRecord => '_corrupt_record',
  rescuedDataColumn => '_rescued_data',
  maxFilesPerTrigger => '${MAX_FILES_PER_TRIGGER}'
)
) t) c;

CREATE OR REFRESH STREAMING TABLE bronze_patients (
  CONSTRAINT malformed_csv_row EXPECT (COALESCE((_field_count = _header_field_count), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_patient_id EXPECT (COALESCE((patient_id IS NOT NULL AND LENGTH(patient_id) >= 5 AND patient_id <> '[REDACTED]'), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT no_test_patients EXPECT (COALESCE((NOT (((upper(replace(COALESCE(first_name, ''), '\u00DF', '\u1E9E')) LIKE 'ZZ%' OR upper(replace(COALESCE(first_name, ''), '\u00DF', '\u1E9E')) LIKE '%TEST%') AND (upper(replace(COALESCE(first_name, ''), '\u00DF', '\u1E9E')) RLIKE '^ZZ(Z|TEST)|(^|[^A-Z])TEST([^A-Z]|$)|^TEST ?PATIENT')) OR ((upper(replace(COALESCE(last_name, ''), '\u00DF', '\u1E9E')) LIKE 'ZZ%' OR upper(replace(COALESCE(last_name, ''), '\u00DF', '\u1E9E')) LIKE '%TEST%') AND (upper(replace(COALESCE(last_name, ''), '\u00DF', '\u1E9E')) RLIKE '^ZZ(Z|TEST)|(^|[^A-Z])TEST([^A-Z]|$)|^TEST ?PATIENT')))), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT hipaa_compliant EXPECT (COALESCE((ssn IS NULL OR LENGTH(ssn) = 0), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_source EXPECT (COALESCE((source_system IN ('EHR_SYSTEM', 'ADT_SYSTEM', 'LAB_SYSTEM')), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_ssn_format EXPECT (COALESCE((_ssn_present = false OR ssn_hash IS NOT NULL), FALSE)),
  CONSTRAINT rescued_data_null EXPECT (COALESCE((_rescued_data IS NULL), FALSE)),
  CONSTRAINT ssn_outside_ssn_column EXPECT (COALESCE(('[REDACTED]' NOT IN (COALESCE(`patient_id`, ''), COALESCE(`mrn`, ''), COALESCE(`first_name`, ''), COALESCE(`last_name`, ''), COALESCE(`date_of_birth`, ''), COALESCE(`gender`, ''), COALESCE(`address_line1`, ''), COALESCE(`city`, ''), COALESCE(`state`, ''), COALESCE(`zip_code`, ''), COALESCE(`phone`, ''), COALESCE(`email`, ''), COALESCE(`insurance_id`, ''), COALESCE(`source_system`, ''), COALESCE(`bmi`, ''), COALESCE(`smoker`, ''), COALESCE(`children`, ''), COALESCE(`charges`, ''), COALESCE(`insurance_plan`, ''), COALESCE(`coverage_start_date`, ''))), FALSE))
)
COMMENT 'Raw patients rows from the landing files, all values as text.'
CLUSTER BY (_file_name)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,mrn,first_name,last_name,date_of_birth,gender,address_line1,city,state,zip_code,phone,email,ssn,insurance_id,children,coverage_start_date,ssn_hash',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'bronze',
  'pipelines.reset.allowed' = 'false'
)
AS SELECT `patient_id`, `mrn`, `first_name`, `last_name`, `date_of_birth`, `gender`, `address_line1`, `city`, `state`, `zip_code`, `phone`, `email`, `ssn`, `insurance_id`, `source_system`, `bmi`, `smoker`, `children`, `charges`, `insurance_plan`, `coverage_start_date`, `ssn_hash`, `_ssn_key_id`, `_ingested_at`, `_file_name`, `_file_path`, `_rescued_data`, `_line_number`, `_extracted_at`, `_run_id`, _field_count, _header_field_count, _ssn_present
FROM STREAM(bronze_patients_checked);

CREATE OR REFRESH STREAMING TABLE bronze_patients_quarantine
COMMENT 'bronze_patients: rejected landing rows with the names of the rules they failed (SSN already hashed)'
TBLPROPERTIES (
  'pipelines.reset.allowed' = 'false',
  'data.classification' = 'PHI'
)
AS SELECT 'bronze_patients' AS dataset,
  filter(_failed, x -> x IN ('malformed_csv_row', 'valid_patient_id', 'no_test_patients', 'hipaa_compliant', 'valid_source')) AS rules,
  _file_name AS file_name, _line_number AS line_number,
  CASE WHEN _corrupt_record IS NOT NULL THEN to_json(named_struct('raw_line', _corrupt_record))
    ELSE to_json(named_struct('patient_id', `patient_id`, 'mrn', `mrn`, 'first_name', `first_name`, 'last_name', `last_name`, 'date_of_birth', `date_of_birth`, 'gender', `gender`, 'address_line1', `address_line1`, 'city', `city`, 'state', `state`, 'zip_code', `zip_code`, 'phone', `phone`, 'email', `email`, 'insurance_id', `insurance_id`, 'source_system', `source_system`, 'bmi', `bmi`, 'smoker', `smoker`, 'children', `children`, 'charges', `charges`, 'insurance_plan', `insurance_plan`, 'coverage_start_date', `coverage_start_date`, 'ssn_hash', `ssn_hash`, '_rescued_data', `_rescued_data`)) END AS record,
  current_timestamp() AS quarantined_at
FROM STREAM(bronze_patients_checked)
WHERE _rejected;
