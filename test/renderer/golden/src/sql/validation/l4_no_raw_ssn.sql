-- Level 4: No raw SSN is stored: bronze keeps only the HMAC (ssn is always NULL).
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value = 0, FALSE), 'l4_no_raw_ssn failed: No raw SSN is stored: bronze keeps only the HMAC (ssn is always NULL).') AS ok
FROM (SELECT COUNT(*) AS value FROM bronze_patients WHERE ssn IS NOT NULL) q;
