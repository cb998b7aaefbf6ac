-- Level 4: No age above 89 other than 90 (Safe Harbor).
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value = 0, FALSE), 'l4_elderly_deidentified failed: No age above 89 other than 90 (Safe Harbor).') AS ok
FROM (SELECT COUNT(*) AS value FROM silver_patients WHERE age_years > 89 AND age_years <> 90) q;
