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

CREATE OR REFRESH MATERIALIZED VIEW identity_nickname_pairs
COMMENT 'Symmetric first-name nickname pairs read by identity resolution (data/reference/nicknames)'
AS WITH n AS (SELECT DISTINCT LOWER(TRIM(name1)) AS a, LOWER(TRIM(name2)) AS b FROM read_files('${REFERENCE_PATH}/names.csv', format => 'csv', header => true, inferSchema => false)
                WHERE name1 IS NOT NULL AND name2 IS NOT NULL AND LOWER(TRIM(name1)) <> LOWER(TRIM(name2)))
  SELECT DISTINCT name_a, name_b FROM (
    SELECT a AS name_a, b AS name_b FROM n
    UNION ALL SELECT b, a FROM n
    UNION ALL SELECT x.b, y.b FROM n x JOIN n y ON x.a = y.a AND x.b <> y.b) t;
