-- Identity resolution step deterministic-v1
-- Exact SSN HMAC, else exact first name + last name + birth date; records cluster transitively.
-- Pluggable: any IdentityStep renders here; it reads silver_patient_sources and ends in silver_resolved_identity_resolution.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE TEMPORARY VIEW identity_records
COMMENT 'Identity resolution (deterministic-v1): Exact SSN HMAC, else exact first name + last name + birth date; records cluster transitively.'
AS SELECT source_system, source_patient_id,
  max_by(ssn_hash, _extracted_at) FILTER (WHERE ssn_hash IS NOT NULL) AS ssn_hash,
  max_by(first_name_norm, _extracted_at) FILTER (WHERE first_name_norm IS NOT NULL) AS fn,
  max_by(last_name_norm, _extracted_at) FILTER (WHERE last_name_norm IS NOT NULL) AS ln,
  max_by(birth_date, _extracted_at) FILTER (WHERE birth_date IS NOT NULL) AS dob,
  MAX(_priority) AS priority, MIN(_extracted_at) AS first_seen
FROM silver_patient_sources
GROUP BY source_system, source_patient_id;

CREATE TEMPORARY VIEW identity_clusters
COMMENT 'Identity resolution (deterministic-v1): Exact SSN HMAC, else exact first name + last name + birth date; records cluster transitively.'
AS WITH base AS (
  SELECT n.*, ROW_NUMBER() OVER (ORDER BY n.priority DESC, n.first_seen, n.source_system, n.source_patient_id) AS r
  FROM identity_records n),
a1 AS (SELECT *, LEAST(r,
        CASE WHEN ssn_hash IS NOT NULL THEN MIN(r) OVER (PARTITION BY ssn_hash) ELSE r END,
        CASE WHEN fn IS NOT NULL AND ln IS NOT NULL AND dob IS NOT NULL THEN MIN(r) OVER (PARTITION BY fn, ln, dob) ELSE r END) AS a FROM base),
a2 AS (SELECT *, LEAST(a,
        CASE WHEN ssn_hash IS NOT NULL THEN MIN(a) OVER (PARTITION BY ssn_hash) ELSE a END,
        CASE WHEN fn IS NOT NULL AND ln IS NOT NULL AND dob IS NOT NULL THEN MIN(a) OVER (PARTITION BY fn, ln, dob) ELSE a END) AS a2 FROM a1)
SELECT source_system, source_patient_id, a2 AS anchor, r,
  CASE WHEN r = a2 THEN 'new_patient'
    WHEN ssn_hash IS NOT NULL AND ssn_hash = FIRST_VALUE(ssn_hash) OVER (PARTITION BY a2 ORDER BY r) THEN 'ssn_hash'
    ELSE 'name_dob' END AS rule
FROM a2;

CREATE OR REFRESH MATERIALIZED VIEW silver_resolved_identity_resolution
COMMENT 'Identity resolution (deterministic-v1): Exact SSN HMAC, else exact first name + last name + birth date; records cluster transitively.'
TBLPROPERTIES (
  'data.classification' = 'PHI',
  'compliance.framework' = 'HIPAA'
)
AS SELECT source_system, source_patient_id,
  CONCAT('P', LPAD(CAST(DENSE_RANK() OVER (ORDER BY anchor) AS STRING), 9, '0')) AS patient_id,
  CAST(CASE rule WHEN 'ssn_hash' THEN 0.99 WHEN 'name_dob' THEN 0.95 ELSE 1.0 END AS DOUBLE) AS confidence_score,
  CONCAT('{"rule":"', rule, '","fields":', CASE rule WHEN 'ssn_hash' THEN '["ssn_hash"]' WHEN 'name_dob' THEN '["first_name","last_name","date_of_birth"]' WHEN 'new_patient' THEN '["source_record"]' END, '}') AS match_evidence,
  CONCAT('deterministic-v1:', rule) AS match_rule,
  current_timestamp() AS resolved_at
FROM identity_clusters;
