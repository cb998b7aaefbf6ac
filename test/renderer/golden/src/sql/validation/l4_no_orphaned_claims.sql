-- Level 4: Every claim references a patient.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value = 0, FALSE), 'l4_no_orphaned_claims failed: Every claim references a patient.') AS ok
FROM (SELECT COUNT(*) AS value FROM silver_claims c LEFT JOIN (SELECT DISTINCT patient_id FROM silver_patients) p ON c.patient_id = p.patient_id WHERE p.patient_id IS NULL) q;
