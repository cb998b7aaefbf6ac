-- Level 4: Bronze holds patients (spec: more than 1,000 in a test deployment).
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value > 1000, FALSE), 'l4_patient_volume failed: Bronze holds patients (spec: more than 1,000 in a test deployment).') AS ok
FROM (SELECT COUNT(*) AS value FROM bronze_patients WHERE patient_id IS NOT NULL) q;
