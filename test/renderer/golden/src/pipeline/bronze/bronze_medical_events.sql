-- bronze_medical_events: Raw medical events rows from the landing files, all values as text.
-- Databricks only: read_files (Auto Loader), _metadata, _rescued_data, secret() and CONSTRAINT run on Lakeflow.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW bronze_medical_events_checked
COMMENT 'bronze_medical_events: landing rows with every expectation evaluated'
AS SELECT c.*, arrays_overlap(c._failed, array('malformed_csv_row', 'valid_event_id', 'valid_event_source')) AS _rejected
FROM (SELECT t.*, filter(array(CASE WHEN COALESCE((_field_count = _header_field_count), FALSE) THEN NULL ELSE 'malformed_csv_row' END, CASE WHEN COALESCE((event_id IS NOT NULL AND event_id <> '[REDACTED]'), FALSE) THEN NULL ELSE 'valid_event_id' END, CASE WHEN COALESCE((source_system IN ('ADT_SYSTEM', 'LAB_SYSTEM')), FALSE) THEN NULL ELSE 'valid_event_source' END, CASE WHEN COALESCE((_rescued_data IS NULL), FALSE) THEN NULL ELSE 'rescued_data_null' END, CASE WHEN COALESCE(('[REDACTED]' NOT IN (COALESCE(`event_id`, ''), COALESCE(`patient_id`, ''), COALESCE(`event_date`, ''), COALESCE(`event_type`, ''), COALESCE(`medical_provider`, ''), COALESCE(`source_system`, ''))), FALSE) THEN NULL ELSE 'ssn_outside_ssn_column' END), x -> x IS NOT NULL) AS _failed FROM (
SELECT CASE WHEN (instr(NULLIF(`event_id`, ''), '-') > 0 AND LENGTH(NULLIF(`event_id`, '')) >= 11 AND (NULLIF(`event_id`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`event_id`, '') END AS `event_id`,
  CASE WHEN (instr(NULLIF(`patient_id`, ''), '-') > 0 AND LENGTH(NULLIF(`patient_id`, '')) >= 11 AND (NULLIF(`patient_id`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`patient_id`, '') END AS `patient_id`,
  CASE WHEN (instr(NULLIF(`event_date`, ''), '-') > 0 AND LENGTH(NULLIF(`event_date`, '')) >= 11 AND (NULLIF(`event_date`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`event_date`, '') END AS `event_date`,
  CASE WHEN (instr(NULLIF(`event_type`, ''), '-') > 0 AND LENGTH(NULLIF(`event_type`, '')) >= 11 AND (NULLIF(`event_type`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`event_type`, '') END AS `event_type`,
  CASE WHEN (instr(NULLIF(`medical_provider`, ''), '-') > 0 AND LENGTH(NULLIF(`medical_provider`, '')) >= 11 AND (NULLIF(`medical_provider`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`medical_provider`, '') END AS `medical_provider`,
  CASE WHEN (instr(NULLIF(`source_system`, ''), '-') > 0 AND LENGTH(NULLIF(`source_system`, '')) >= 11 AND (NULLIF(`source_system`, '') RLIKE '[0-9]{3}-[0-9]{2}-[0-9]{4}')) THEN '[REDACTED]' ELSE NULLIF(`source_system`, '') END AS `source_system`,
  current_timestamp() AS _ingested_at,
  _metadata.file_name AS _file_name,
  _metadata.file_path AS _file_path,
  regexp_replace(regexp_replace(regexp_replace(_rescued_data, '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}', '[REDACTED]'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2') AS _rescued_data,
  monotonically_increasing_id() AS _line_number,
  to_timestamp(regexp_extract(_metadata.file_name, '_([0-9]{6}_[0-9]{4})(_[0-9]+)?[.]csv$', 1), 'yyMMdd_HHmm') AS _extracted_at,
  date_format(current_timestamp(), 'yyyyMMdd-HHmmss') AS _run_id,
  CASE WHEN _corrupt_record IS NULL THEN 6 ELSE -1 END AS _field_count,
  6 AS _header_field_count,
  regexp_replace(regexp_replace(regexp_replace(_corrupt_record, '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}', '[REDACTED]'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2'), '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)', '$1[REDACTED]$2') AS _corrupt_record
FROM STREAM read_files(
  '${VOLUMES_PATH}',
  format => 'csv',
  header => true,
  pathGlobFilter => 'medical_events_*.csv',
  schema => 'event_id STRING, patient_id STRING, event_date STRING, event_type STRING, medical_provider STRING, source_system STRING, _corrupt_record STRING',
  mode => 'PERMISSIVE',
  columnNameOfCorruptRecord => '_corrupt_record',
  rescuedDataColumn => '_rescued_data',
  maxFilesPerTrigger => '${MAX_FILES_PER_TRIGGER}'
)
) t) c;

CREATE OR REFRESH STREAMING TABLE bronze_medical_events (
  CONSTRAINT malformed_csv_row EXPECT (COALESCE((_field_count = _header_field_count), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_event_id EXPECT (COALESCE((event_id IS NOT NULL AND event_id <> '[REDACTED]'), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT valid_event_source EXPECT (COALESCE((source_system IN ('ADT_SYSTEM', 'LAB_SYSTEM')), FALSE)) ON VIOLATION DROP ROW,
  CONSTRAINT rescued_data_null EXPECT (COALESCE((_rescued_data IS NULL), FALSE)),
  CONSTRAINT ssn_outside_ssn_column EXPECT (COALESCE(('[REDACTED]' NOT IN (COALESCE(`event_id`, ''), COALESCE(`patient_id`, ''), COALESCE(`event_date`, ''), COALESCE(`event_type`, ''), COALESCE(`medical_provider`, ''), COALESCE(`source_system`, ''))), FALSE))
)
COMMENT 'Raw medical events rows from the landing files, all values as text.'
CLUSTER BY (_file_name)
TBLPROPERTIES (
  'delta.enableChangeDataFeed' = 'true',
  'pipelines.pii.fields' = 'patient_id,event_date',
  'compliance.framework' = 'HIPAA',
  'data.classification' = 'PHI',
  'quality' = 'bronze',
  'pipelines.reset.allowed' = 'false'
)
AS SELECT `event_id`, `patient_id`, `event_date`, `event_type`, `medical_provider`, `source_system`, `_ingested_at`, `_file_name`, `_file_path`, `_rescued_data`, `_line_number`, `_extracted_at`, `_run_id`, _field_count, _header_field_count
FROM STREAM(bronze_medical_events_checked);

CREATE OR REFRESH STREAMING TABLE bronze_medical_events_quarantine
COMMENT 'bronze_medical_events: rejected landing rows with the names of the rules they failed (SSN already hashed)'
TBLPROPERTIES (
  'pipelines.reset.allowed' = 'false',
  'data.classification' = 'PHI'
)
AS SELECT 'bronze_medical_events' AS dataset,
  filter(_failed, x -> x IN ('malformed_csv_row', 'valid_event_id', 'valid_event_source')) AS rules,
  _file_name AS file_name, _line_number AS line_number,
  CASE WHEN _corrupt_record IS NOT NULL THEN to_json(named_struct('raw_line', _corrupt_record))
    ELSE to_json(named_struct('event_id', `event_id`, 'patient_id', `patient_id`, 'event_date', `event_date`, 'event_type', `event_type`, 'medical_provider', `medical_provider`, 'source_system', `source_system`, '_rescued_data', `_rescued_data`)) END AS record,
  current_timestamp() AS quarantined_at
FROM STREAM(bronze_medical_events_checked)
WHERE _rejected;
