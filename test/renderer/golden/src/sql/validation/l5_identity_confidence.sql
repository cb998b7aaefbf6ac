-- Level 5: Average confidence of confident identity links at least 0.90.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value >= 0.90, FALSE), 'l5_identity_confidence failed: Average confidence of confident identity links at least 0.90.') AS ok
FROM (SELECT AVG(confidence_score) AS value FROM silver_resolved_identity_resolution WHERE confidence_score >= 0.85) q;
