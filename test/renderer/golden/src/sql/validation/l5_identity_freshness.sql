-- Level 5: Identity resolution is at most 4 hours old.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

SELECT value, assert_true(COALESCE(value <= 4, FALSE), 'l5_identity_freshness failed: Identity resolution is at most 4 hours old.') AS ok
FROM (SELECT (UNIX_TIMESTAMP(current_timestamp()) - UNIX_TIMESTAMP(MAX(resolved_at))) / 3600.0 AS value FROM silver_resolved_identity_resolution) q;
