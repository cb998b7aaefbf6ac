-- Level 4: Average data quality score at least 0.95.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value >= 0.95, FALSE), 'l4_data_quality_score failed: Average data quality score at least 0.95.') AS ok
FROM (SELECT AVG(data_quality_score) AS value FROM silver_patients) q;
