-- quarantine: every rejected row of every dataset, with its reasons
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE OR REFRESH MATERIALIZED VIEW quarantine
COMMENT 'Rejected rows of every dataset with the names of the rules they failed (no raw SSN)'
AS SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM bronze_patients_quarantine
UNION ALL
SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM bronze_claims_quarantine
UNION ALL
SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM bronze_medical_events_quarantine
UNION ALL
SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM silver_patients_quarantine
UNION ALL
SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM silver_claims_quarantine
UNION ALL
SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM silver_medical_events_quarantine;
