-- Reference tables shipped in data/reference (see its SOURCES.md)
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE OR REFRESH MATERIALIZED VIEW ref_us_states
COMMENT 'US states and territories with their Census region'
AS SELECT state_code, state_name, NULLIF(region, '') AS region, NULLIF(division, '') AS division
FROM read_files('${REFERENCE_PATH}/us_states_regions.csv', format => 'csv', header => true, inferSchema => false);

CREATE OR REFRESH MATERIALIZED VIEW ref_icd10cm
COMMENT 'ICD-10-CM billable codes'
AS SELECT code, description
FROM read_files('${REFERENCE_PATH}/icd10cm_codes.csv', format => 'csv', header => true, inferSchema => false);
