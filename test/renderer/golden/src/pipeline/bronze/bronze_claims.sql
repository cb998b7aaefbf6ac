-- bronze_claims: Raw claims rows from the landing files, all values as text.
-- Databricks only: read_files (Auto Loader), _metadata, _rescued_data, secret() and CONSTRAINT run on Lakeflow.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW bronze_claims_checked
COMMENT 'bronze_claims: landing rows with every expectation evaluated'
AS SELECT c.*, arrays_overlap(c._failed, array('malformed_csv_row', 'valid_claim_id')) AS _rejected
FROM (SELECT t.*, filter(array(CASE WHEN COALESCE((_field_count = _header_field_count), FALSE) THEN NULL ELSE 'malformed_csv_row' END, CASE WHEN COALESCE((claim_id IS NOT NULL AND claim_id <> '[REDACTED]'), FALSE) THEN NULL ELSE 'valid_claim_id' END, CASE WHEN COALESCE((source_system = 'CLAIMS_SYSTEM'), FALSE) THEN NULL ELSE 'valid_claims_source' END, CASE WHEN COALESCE((_rescued_data IS NULL), FALSE) THEN NULL ELSE 'rescued_data_null' END, CASE WHEN COALESCE(('[REDACTED]' NOT IN (COALESCE(`claim_id`, ''), COALESCE(`patient_id`, ''), COALESCE(`claim_amount`, ''), COALESCE(`claim_date`, ''), COALESCE(`diagnosis_code`, ''), COALESCE(`procedure_code`, ''), COALESCE(`claim_status`, ''), COALESCE(`source_system`, ''))), FALSE) THEN NULL ELSE 'ssn_outside_ssn_column' END), x -> x IS NOT NULL) AS _failed FROM (
SELECT CASE WHEN (instr(NULLIF(`claim_id`, ''), '-') > 0 AND LENGTH(NULLIF(`claim_id`, '')) >= 11 AND (NULLIF(`claim_id`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`claim_id`, '') END AS `claim_id`,
  CASE WHEN (instr(NULLIF(`patient_id`, ''), '-') > 0 AND LENGTH(NULLIF(`patient_id`, '')) >= 11 AND (NULLIF(`patient_id`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`patient_id`, '') END AS `patient_id`,
  CASE WHEN (instr(NULLIF(`claim_amount`, ''), '-') > 0 AND LENGTH(NULLIF(`claim_amount`, '')) >= 11 AND (NULLIF(`claim_amount`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`claim_amount`, '') END AS `claim_amount`,
  CASE WHEN (instr(NULLIF(`claim_date`, ''), '-') > 0 AND LENGTH(NULLIF(`claim_date`, '')) >= 11 AND (NULLIF(`claim_date`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`claim_date`, '') END AS `claim_date`,
  CASE WHEN (instr(NULLIF(`diagnosis_code`, ''), '-') > 0 AND LENGTH(NULLIF(`diagnosis_code`, '')) >= 11 AND (NULLIF(`diagnosis_code`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`diagnosis_code`, '') END AS `diagnosis_code`,
  CASE WHEN (instr(NULLIF(`procedure_code`, ''), '-') > 0 AND LENGTH(NULLIF(`procedure_code`, '')) >= 11 AND (NULLIF(`procedure_code`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`procedure_code`, '') END AS `procedure_code`,
  CASE WHEN (instr(NULLIF(`claim_status`, ''), '-') > 0 AND LENGTH(NULLIF(`claim_status`, '')) >= 11 AND (NULLIF(`claim_status`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`claim_status`, '') END AS `claim_status`,
  CASE WHEN (instr(NULLIF(`source_system`, ''), '-') > 0 AND LENGTH(NULLIF(`source_system`, '')) >= 11 AND (NULLIF(`source_system`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`source_system`, '') END AS `source_system`,
  current_timestamp() AS _ingested_at,
  _metadata.file_name AS _file_name,
  _metadata.file_path AS _file_path,
  regexp_replace(regexp_replace(regexp_replace(_rescued_data, '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}', '[REDACTED]'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2') AS _rescued_data,
  monotonically_increasing_id() AS _line_number,
  to_timestamp(regexp_extract(_metadata.file_name, '_([0-9]{6}_[0-9]{4})(_[0-9]+)?[.]csv$', 1), 'yyMMdd_HHmm') AS _extracted_at,
  date_format(current_timestamp(), 'yyyyMMdd-HHmmss') AS _run_id,
  CASE WHEN _corrupt_record IS NULL THEN 8 ELSE -1 END AS _field_count,
  8 AS _header_field_count,
  regexp_replace(regexp_replace(regexp_replace(_corrupt_record, '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}', '[REDACTED]'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2') AS _corrupt_record
FROM STREAM read_files(
  '${VOLUMES_PATH}',
  format => 'csv',
  header => true,
  pathGlobFilter => 'claims_*.csv',
  schema => 'claim_id STRING, patient_id STRING, claim_amount STRING, claim_date STRING, diagnosis_code STRING, procedure_code STRING, claim_status STRING, source_system STRING, _corrupt_record STRING',
  mode => 'PERMISSIVE',
  columnNameOfCorruptRecord => '_corrupt_record',
  rescuedDataColumn => '_rescued_data',
  maxFilesPerTrigger => '${MAX_FILES_PER_TRIGGER}'
)
) t) c;

CREATE OR REFRESH STREAMING TABLE bronze_claims (
  CONSTRAINT malformed_csv_row EXPECT (COALESCE((_field_count = _header_field_count), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_claim_id EXPECT (COALESCE((claim_id IS NOT NULL AND claim_id <> '[REDACTED]'), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_claims_source EXPECT (COALESCE((source_system = 'CLAIMS_SYSTEM'), FALSE)),
  CONSTRAINT rescued_data_null EXPECT (COALESCE((_rescued_data IS NULL), FALSE)),
  CONSTRAINT ssn_outside_ssn_column EXPECT (COALESCE(('[REDACTED]' NOT IN (COALESCE(`claim_id`, ''), COALESCE(`patient_id`, ''), COALESCE(`claim_amount`, ''), COALESCE(`claim_date`, ''), COALESCE(`diagnosis_code`, ''), COALESCE(`procedure_code`, ''), COALESCE(`claim_status`, ''), COALESCE(`source_system`, ''))), FALSE))
)
COMMENT 'Raw claims rows from the landing files, all values as text.'
CLUSTER BY (_file_name)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,claim_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'bronze',
  'pipelines.reset.allowed' = 'false'
)
AS SELECT `claim_id`, `patient_id`, `claim_amount`, `claim_date`, `diagnosis_code`, `procedure_code`, `claim_status`, `source_system`, `_ingested_at`, `_file_name`, `_file_path`, `_rescued_data`, `_line_number`, `_extracted_at`, `_run_id`, _field_count, _header_field_count
FROM STREAM(bronze_claims_checked);

CREATE OR REFRESH STREAMING TABLE bronze_claims_quarantine
COMMENT 'bronze_claims: rejected landing rows with the names of the rules they failed (SSN already hashed)'
TBLPROPERTIES (
  'pipelines.reset.allowed' = 'false',
  'data.classification' = 'PHI'
)
AS SELECT 'bronze_claims' AS dataset,
  filter(_failed, x -> x IN ('malformed_csv_row', 'valid_claim_id')) AS rules,
  _file_name AS file_name, _line_number AS line_number,
  CASE WHEN _corrupt_record IS NOT NULL THEN to_json(named_struct('raw_line', _corrupt_record))
    ELSE to_json(named_struct('claim_id', `claim_id`, 'patient_id', `patient_id`, 'claim_amount', `claim_amount`, 'claim_date', `claim_date`, 'diagnosis_code', `diagnosis_code`, 'procedure_code', `procedure_code`, 'claim_status', `claim_status`, 'source_system', `source_system`, '_rescued_data', `_rescued_data`)) END AS record,
  current_timestamp() AS quarantined_at
FROM STREAM(bronze_claims_checked)
WHERE _rejected;
