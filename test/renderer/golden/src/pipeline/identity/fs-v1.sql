-- Identity resolution step fs-v1
-- Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.
-- Pluggable: any IdentityStep renders here; it reads silver_patient_sources and ends in silver_resolved_identity_resolution.
-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.

CREATE OR REFRESH MATERIALIZED VIEW identity_records
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT ROW_NUMBER() OVER (ORDER BY n.sys_rank, n.extracted_at, n.source_system, n.source_patient_id) AS rid,
  n.source_system, n.source_patient_id, n.sys_rank, n.fn, n.ln, n.dob, n.sex, n.ssn, n.mrn, n.mid, n.addr, n.city, n.state, n.zip, n.phone, n.email,
  n.extracted_at, CAST(NULL AS STRING) AS patient_id
FROM (SELECT s.source_system, s.source_patient_id, CASE s.source_system WHEN 'EHR_SYSTEM' THEN 0 WHEN 'ADT_SYSTEM' THEN 1 WHEN 'LAB_SYSTEM' THEN 2 ELSE 3 END AS sys_rank,
    NULLIF(s.first_name_norm, '') AS fn, NULLIF(s.last_name_norm, '') AS ln, s.birth_date AS dob,
    NULLIF(s.sex, 'U') AS sex, s.ssn_hash AS ssn,
    s.mrn, s.insurance_id_norm AS mid, s.address_norm AS addr, s.city_norm AS city,
    s.state_code AS state, s.zip5 AS zip, s.phone_digits AS phone, s.email_norm AS email, s._extracted_at AS extracted_at, s._file_name, s._line_number
  FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.source_system, s.source_patient_id
          ORDER BY s._extracted_at DESC, s._file_name DESC, s._line_number DESC) AS _rn
        FROM silver_patient_sources s WHERE TRUE) s
  WHERE _rn = 1) n;

CREATE OR REFRESH MATERIALIZED VIEW identity_model_parameters
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT 'fs-v1.0' AS model_version, comparison, level, level_name, m, u, weight
  FROM (VALUES ('first_name', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('first_name', 1, 'exact', 7.37e-1, 6.6e-3, 6.803054784623979e+0),
    ('first_name', 2, 'nickname', 1.79e-1, 4.86e-3, 5.2028594634332e+0),
    ('first_name', 3, 'edit_1', 5.15e-2, 1.69e-3, 4.9294772806757585e+0),
    ('first_name', 4, 'edit_2', 1.62e-2, 6.42e-3, 1.3353486106496837e+0),
    ('first_name', 5, 'else', 1.6e-2, 9.8e-1, -5.93663793900257e+0),
    ('last_name', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('last_name', 1, 'exact', 9.28e-1, 1.31e-2, 6.146486088477484e+0),
    ('last_name', 2, 'edit_1', 5.75e-2, 1.17e-3, 5.618981521135695e+0),
    ('last_name', 3, 'edit_2', 1.3e-2, 2.01e-3, 2.693244216736888e+0),
    ('last_name', 4, 'else', 1.37e-3, 9.84e-1, -9.488338612153438e+0),
    ('birth_date', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('birth_date', 1, 'exact', 9.82e-1, 6.96e-5, 1.3784348098015414e+1),
    ('birth_date', 2, 'day_month_swap', 1.73e-2, 1.16e-5, 1.054243151717124e+1),
    ('birth_date', 3, 'one_digit', 1e-3, 1.46e-3, -5.459683691052923e-1),
    ('birth_date', 4, 'within_1_year', 1e-3, 3.68e-2, -5.20163386116965e+0),
    ('birth_date', 5, 'else', 1e-3, 9.62e-1, -9.909893083770042e+0),
    ('ssn', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('ssn', 1, 'exact', 9.99e-1, 3.77e-5, 1.4693632534073203e+1),
    ('ssn', 2, 'else', 1e-3, 1e+0, -9.965784284662087e+0),
    ('mrn', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('mrn', 1, 'exact', 9.99e-1, 2.63e-5, 1.5213134258049566e+1),
    ('mrn', 2, 'else', 1e-3, 1e+0, -9.965784284662087e+0),
    ('member_id', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('member_id', 1, 'exact', 9.99e-1, 1.89e-5, 1.5689810823120796e+1),
    ('member_id', 2, 'else', 1e-3, 1e+0, -9.965784284662087e+0),
    ('address', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('address', 1, 'exact', 8.6e-1, 1.16e-5, 1.617792423401134e+1),
    ('address', 2, 'same_street', 1e-3, 1.16e-5, 6.429731384421877e+0),
    ('address', 3, 'same_zip_or_city', 1.29e-3, 6.87e-3, -2.412939033394846e+0),
    ('address', 4, 'else', 1.38e-1, 9.93e-1, -2.847125450750205e+0),
    ('phone', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('phone', 1, 'exact', 9.35e-1, 2.53e-5, 1.517354135963014e+1),
    ('phone', 2, 'else', 6.47e-2, 1e+0, -3.950090477556942e+0),
    ('email', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('email', 1, 'exact', 9.99e-1, 2.4e-5, 1.5345162651733348e+1),
    ('email', 2, 'else', 1e-3, 1e+0, -9.965784284662087e+0),
    ('sex', 0, 'missing', 1e+0, 1e+0, 0e+0),
    ('sex', 1, 'exact', 9.99e-1, 5.02e-1, 9.927973138416464e-1),
    ('sex', 2, 'else', 1e-3, 4.98e-1, -8.960001932068081e+0)) v(comparison, level, level_name, m, u, weight)
  UNION ALL
  SELECT 'fs-v1.0', '_prior', 0, 'prior', prior_share, 1 - prior_share, log2(prior_share / (1 - prior_share))
  FROM (SELECT LEAST(5e-1, 2.4e+0 / GREATEST(2, n - 1)) AS prior_share
        FROM (SELECT (SELECT COUNT(*) FROM identity_records) AS n) c) p;

CREATE OR REFRESH MATERIALIZED VIEW identity_term_frequencies
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT CAST(NULL AS STRING) AS model_version, CAST(NULL AS STRING) AS column_name,
    CAST(NULL AS STRING) AS value, CAST(NULL AS DOUBLE) AS tf WHERE FALSE;

CREATE TEMPORARY VIEW idr_work
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT rid, 'new' AS kind, CAST(NULL AS STRING) AS current_patient_id, sys_rank, source_system,
  source_patient_id, extracted_at
FROM identity_records;

CREATE TEMPORARY VIEW idr_members
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT CAST(NULL AS STRING) AS pid, CAST(NULL AS BIGINT) AS rid, CAST(NULL AS INT) AS sys_rank, CAST(NULL AS STRING) AS source_system WHERE FALSE;

CREATE TEMPORARY VIEW idr_rejected
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT CAST(NULL AS BIGINT) AS rid_a, CAST(NULL AS BIGINT) AS rid_b WHERE FALSE;

CREATE TEMPORARY VIEW idr_blocking_keys
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT t.rid, 1 AS rule, xxhash64(t.ssn) AS k FROM identity_records t WHERE (TRUE) AND t.ssn IS NOT NULL
UNION ALL
SELECT t.rid, 2 AS rule, xxhash64(t.ln, year(t.dob), LEAST(month(t.dob), day(t.dob)), GREATEST(month(t.dob), day(t.dob)), t.sex) AS k FROM identity_records t WHERE (TRUE) AND t.ln IS NOT NULL AND t.dob IS NOT NULL
UNION ALL
SELECT t.rid, 3 AS rule, xxhash64(t.fn, year(t.dob), LEAST(month(t.dob), day(t.dob)), GREATEST(month(t.dob), day(t.dob))) AS k FROM identity_records t WHERE (TRUE) AND t.fn IS NOT NULL AND t.dob IS NOT NULL
UNION ALL
SELECT t.rid, 4 AS rule, xxhash64(t.mrn) AS k FROM identity_records t WHERE (TRUE) AND t.mrn IS NOT NULL
UNION ALL
SELECT t.rid, 5 AS rule, xxhash64(t.mid) AS k FROM identity_records t WHERE (TRUE) AND t.mid IS NOT NULL
UNION ALL
SELECT t.rid, 7 AS rule, xxhash64(t.phone, t.fn) AS k FROM identity_records t WHERE (TRUE) AND t.phone IS NOT NULL AND t.fn IS NOT NULL
UNION ALL
SELECT t.rid, 9 AS rule, xxhash64(t.ln, t.zip, year(t.dob)) AS k FROM identity_records t WHERE (TRUE) AND t.ln IS NOT NULL AND t.zip IS NOT NULL AND t.dob IS NOT NULL
UNION ALL
SELECT t.rid, 10 AS rule, xxhash64(t.dob, t.zip) AS k FROM identity_records t WHERE (TRUE) AND t.dob IS NOT NULL AND t.zip IS NOT NULL
UNION ALL
SELECT t.rid, 11 AS rule, xxhash64(t.phone, t.dob) AS k FROM identity_records t WHERE (TRUE) AND t.phone IS NOT NULL AND t.dob IS NOT NULL;

CREATE TEMPORARY VIEW idr_pairs
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS WITH sized AS (
    SELECT rule, k, COUNT(*) AS n, MIN(rid) AS lo, MAX(rid) AS hi, SUM(rid) AS total FROM idr_blocking_keys
    GROUP BY rule, k HAVING COUNT(*) BETWEEN 2 AND 40),
  members AS (
    SELECT b.rule, b.k, b.rid FROM idr_blocking_keys b JOIN (SELECT rule, k FROM sized WHERE n > 3) s
      ON s.rule = b.rule AND s.k = b.k),
  pairs AS (
    SELECT rule, lo AS rid_l, hi AS rid_r FROM sized WHERE n <= 3
    UNION ALL
    SELECT rule, lo, CAST(total - lo - hi AS BIGINT) FROM sized WHERE n = 3
    UNION ALL
    SELECT rule, CAST(total - lo - hi AS BIGINT), hi FROM sized WHERE n = 3
    UNION ALL
    SELECT a.rule, a.rid, m.rid FROM members a JOIN members m ON m.rule = a.rule AND m.k = a.k AND a.rid < m.rid)
  SELECT rid_l, rid_r, MIN(rule) AS rule FROM pairs GROUP BY rid_l, rid_r;

CREATE TEMPORARY VIEW idr_vectors
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT p.rid_l, p.rid_r, p.rule,
    CASE WHEN l.fn IS NULL OR r.fn IS NULL THEN 0 WHEN l.fn = r.fn THEN 1 WHEN nk.name_a IS NOT NULL THEN 2 WHEN LENGTH(l.fn) <= 100 AND LENGTH(r.fn) <= 100 AND ABS(octet_length(l.fn) - octet_length(r.fn)) <= 1 AND levenshtein(decode(encode(l.fn, 'UTF-8'), 'ISO-8859-1'), decode(encode(r.fn, 'UTF-8'), 'ISO-8859-1')) <= 1 THEN 3 WHEN LENGTH(l.fn) <= 100 AND LENGTH(r.fn) <= 100 AND ABS(octet_length(l.fn) - octet_length(r.fn)) <= 2 AND levenshtein(decode(encode(l.fn, 'UTF-8'), 'ISO-8859-1'), decode(encode(r.fn, 'UTF-8'), 'ISO-8859-1')) <= 2 THEN 4 ELSE 5 END AS g_first_name,
    CASE WHEN l.ln IS NULL OR r.ln IS NULL THEN 0 WHEN l.ln = r.ln THEN 1 WHEN LENGTH(l.ln) <= 100 AND LENGTH(r.ln) <= 100 AND ABS(octet_length(l.ln) - octet_length(r.ln)) <= 1 AND levenshtein(decode(encode(l.ln, 'UTF-8'), 'ISO-8859-1'), decode(encode(r.ln, 'UTF-8'), 'ISO-8859-1')) <= 1 THEN 2 WHEN LEAST(LENGTH(l.ln), LENGTH(r.ln)) >= 5 AND LENGTH(l.ln) <= 100 AND LENGTH(r.ln) <= 100 AND ABS(octet_length(l.ln) - octet_length(r.ln)) <= 2 AND levenshtein(decode(encode(l.ln, 'UTF-8'), 'ISO-8859-1'), decode(encode(r.ln, 'UTF-8'), 'ISO-8859-1')) <= 2 THEN 3 ELSE 4 END AS g_last_name,
    CASE WHEN l.dob IS NULL OR r.dob IS NULL THEN 0 WHEN l.dob = r.dob THEN 1 WHEN year(l.dob) = year(r.dob) AND month(l.dob) = day(r.dob) AND day(l.dob) = month(r.dob) THEN 2 WHEN levenshtein(decode(encode(CAST(l.dob AS STRING), 'UTF-8'), 'ISO-8859-1'), decode(encode(CAST(r.dob AS STRING), 'UTF-8'), 'ISO-8859-1')) = 1 THEN 3 WHEN ABS(datediff(r.dob, l.dob)) <= 366 THEN 4 ELSE 5 END AS g_birth_date,
    CASE WHEN l.ssn IS NULL OR r.ssn IS NULL THEN 0 WHEN l.ssn = r.ssn THEN 1 ELSE 2 END AS g_ssn,
    CASE WHEN l.mrn IS NULL OR r.mrn IS NULL THEN 0 WHEN l.mrn = r.mrn THEN 1 ELSE 2 END AS g_mrn,
    CASE WHEN l.mid IS NULL OR r.mid IS NULL THEN 0 WHEN l.mid = r.mid THEN 1 ELSE 2 END AS g_member_id,
    CASE WHEN (l.addr IS NULL AND l.zip IS NULL) OR (r.addr IS NULL AND r.zip IS NULL) THEN 0 WHEN l.addr = r.addr AND l.zip = r.zip THEN 1 WHEN l.addr = r.addr THEN 2 WHEN (l.zip = r.zip OR l.city = r.city) THEN 3 ELSE 4 END AS g_address,
    CASE WHEN l.phone IS NULL OR r.phone IS NULL THEN 0 WHEN l.phone = r.phone THEN 1 ELSE 2 END AS g_phone,
    CASE WHEN l.email IS NULL OR r.email IS NULL THEN 0 WHEN l.email = r.email THEN 1 ELSE 2 END AS g_email,
    CASE WHEN l.sex IS NULL OR r.sex IS NULL OR l.sex = 'U' OR r.sex = 'U' THEN 0 WHEN l.sex = r.sex THEN 1 ELSE 2 END AS g_sex,
    l.fn AS tf_fn, l.ln AS tf_ln
  FROM idr_pairs p JOIN identity_records l ON l.rid = p.rid_l JOIN identity_records r ON r.rid = p.rid_r
  LEFT JOIN identity_nickname_pairs nk ON nk.name_a = l.fn AND nk.name_b = r.fn;

CREATE OR REFRESH MATERIALIZED VIEW identity_scored_pairs
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT s.*, 1.0 / (1.0 + power(2.0, -s.match_weight)) AS match_probability,
    (s.g_ssn = 1
    AND s.g_birth_date IN (1, 2, 3)
    AND (s.g_first_name IN (1, 2, 3)
         OR s.g_last_name IN (1, 2))) AS short_circuit, ((s.g_first_name = 5 OR s.g_birth_date = 5)
    AND s.g_ssn <> 1 AND s.g_mrn <> 1
    AND s.g_member_id <> 1 AND s.g_email <> 1) AS hard_conflict
  FROM (
    SELECT v.*, pr.weight
    + CASE WHEN v.g_first_name = 1 AND tf_first_name.tf IS NOT NULL
    THEN log2(p_first_name.m / GREATEST(tf_first_name.tf, p_first_name.u * 0.0625)) ELSE COALESCE(p_first_name.weight, 0) END
    + CASE WHEN v.g_last_name = 1 AND tf_last_name.tf IS NOT NULL
    THEN log2(p_last_name.m / GREATEST(tf_last_name.tf, p_last_name.u * 0.0625)) ELSE COALESCE(p_last_name.weight, 0) END
    + COALESCE(p_birth_date.weight, 0)
    + COALESCE(p_ssn.weight, 0)
    + COALESCE(p_mrn.weight, 0)
    + COALESCE(p_member_id.weight, 0)
    + COALESCE(p_address.weight, 0)
    + COALESCE(p_phone.weight, 0)
    + COALESCE(p_email.weight, 0)
    + COALESCE(p_sex.weight, 0) AS match_weight
    FROM idr_vectors v
    JOIN identity_model_parameters pr ON pr.model_version = 'fs-v1.0' AND pr.comparison = '_prior' AND pr.level = 0
    LEFT JOIN identity_model_parameters p_first_name ON p_first_name.model_version = 'fs-v1.0'
       AND p_first_name.comparison = 'first_name' AND p_first_name.level = v.g_first_name
  LEFT JOIN identity_term_frequencies tf_first_name ON tf_first_name.model_version = 'fs-v1.0'
       AND tf_first_name.column_name = 'fn' AND tf_first_name.value = v.tf_fn
  LEFT JOIN identity_model_parameters p_last_name ON p_last_name.model_version = 'fs-v1.0'
       AND p_last_name.comparison = 'last_name' AND p_last_name.level = v.g_last_name
  LEFT JOIN identity_term_frequencies tf_last_name ON tf_last_name.model_version = 'fs-v1.0'
       AND tf_last_name.column_name = 'ln' AND tf_last_name.value = v.tf_ln
  LEFT JOIN identity_model_parameters p_birth_date ON p_birth_date.model_version = 'fs-v1.0'
       AND p_birth_date.comparison = 'birth_date' AND p_birth_date.level = v.g_birth_date
  LEFT JOIN identity_model_parameters p_ssn ON p_ssn.model_version = 'fs-v1.0'
       AND p_ssn.comparison = 'ssn' AND p_ssn.level = v.g_ssn
  LEFT JOIN identity_model_parameters p_mrn ON p_mrn.model_version = 'fs-v1.0'
       AND p_mrn.comparison = 'mrn' AND p_mrn.level = v.g_mrn
  LEFT JOIN identity_model_parameters p_member_id ON p_member_id.model_version = 'fs-v1.0'
       AND p_member_id.comparison = 'member_id' AND p_member_id.level = v.g_member_id
  LEFT JOIN identity_model_parameters p_address ON p_address.model_version = 'fs-v1.0'
       AND p_address.comparison = 'address' AND p_address.level = v.g_address
  LEFT JOIN identity_model_parameters p_phone ON p_phone.model_version = 'fs-v1.0'
       AND p_phone.comparison = 'phone' AND p_phone.level = v.g_phone
  LEFT JOIN identity_model_parameters p_email ON p_email.model_version = 'fs-v1.0'
       AND p_email.comparison = 'email' AND p_email.level = v.g_email
  LEFT JOIN identity_model_parameters p_sex ON p_sex.model_version = 'fs-v1.0'
       AND p_sex.comparison = 'sex' AND p_sex.level = v.g_sex) s;

CREATE TEMPORARY VIEW idr_edges
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS WITH e AS (
      SELECT rid_l AS x, rid_r AS y, match_probability AS prob, match_weight AS weight, short_circuit AS sc,
        hard_conflict AS conflict FROM identity_scored_pairs
      UNION ALL
      SELECT rid_r, rid_l, match_probability, match_weight, short_circuit, hard_conflict FROM identity_scored_pairs)
    SELECT e.x, e.y, e.prob, e.weight, CASE WHEN e.sc THEN 1 ELSE 0 END AS sc,
      CASE WHEN e.conflict THEN 1 ELSE 0 END AS conflict, CASE WHEN rj.rid_a IS NULL THEN 0 ELSE 1 END AS rejected
    FROM e JOIN idr_work w ON w.rid = e.x
    LEFT JOIN idr_rejected rj ON rj.rid_a = e.x AND rj.rid_b = e.y;

CREATE TEMPORARY VIEW idr_assign_none
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT CAST(NULL AS BIGINT) AS rid, CAST(NULL AS STRING) AS patient_id, CAST(NULL AS BIGINT) AS via_rid, CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight, CAST(NULL AS INT) AS deterministic WHERE FALSE;

CREATE TEMPORARY VIEW idr_candidates_0
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS WITH x AS (
      SELECT w.rid, w.kind, w.current_patient_id, w.source_system FROM idr_work w WHERE w.sys_rank = 0),
    known AS (
      SELECT e.x, e.y, e.prob, e.weight, e.sc, e.conflict, e.rejected, x.source_system AS x_system,
        CASE WHEN wy.rid IS NULL THEN ry.patient_id ELSE ay.patient_id END AS pid
      FROM idr_edges e JOIN x ON x.rid = e.x
      JOIN identity_records ry ON ry.rid = e.y
      LEFT JOIN idr_work wy ON wy.rid = e.y
      LEFT JOIN idr_assign_none ay ON ay.rid = e.y),
    member_rows AS (
      SELECT m.pid, m.rid, m.sys_rank, m.source_system FROM idr_members m WHERE m.pid IN (SELECT pid FROM known)
      UNION ALL
      SELECT a.patient_id, w.rid, w.sys_rank, w.source_system FROM idr_assign_none a JOIN idr_work w ON w.rid = a.rid
      WHERE a.patient_id IN (SELECT pid FROM known)),
    anchors AS (
      SELECT pid, rid AS anchor_rid FROM (
        SELECT pid, rid, ROW_NUMBER() OVER (PARTITION BY pid ORDER BY sys_rank, rid) AS a FROM member_rows) t
      WHERE a = 1),
    members AS (SELECT DISTINCT pid, source_system FROM member_rows),
    ranked AS (
      SELECT k.*, ROW_NUMBER() OVER (PARTITION BY k.x, k.pid ORDER BY k.conflict, k.sc DESC, k.prob DESC, k.y) AS rk,
        MAX(CASE WHEN k.rejected = 1 OR (k.conflict = 1 AND k.y = an.anchor_rid) THEN 1 ELSE 0 END)
          OVER (PARTITION BY k.x, k.pid) AS any_conflict
      FROM known k JOIN anchors an ON an.pid = k.pid WHERE k.pid IS NOT NULL)
    SELECT c.x, c.y, c.pid, c.prob, c.weight, c.sc, c.conflict, c.any_conflict, c.x_system,
      CASE WHEN ms.pid IS NULL THEN 0 ELSE 1 END AS same_system
    FROM ranked c LEFT JOIN members ms ON ms.pid = c.pid AND ms.source_system = c.x_system
    WHERE c.rk = 1;

CREATE TEMPORARY VIEW idr_linked_0
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT * FROM idr_assign_none
UNION ALL
SELECT * FROM (WITH eligible AS (
      SELECT * FROM idr_candidates_0
      WHERE any_conflict = 0 AND (sc = 1 OR (conflict = 0 AND prob >= 0.95))
        AND (same_system = 0 OR sc = 1)),
    best AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY x ORDER BY sc DESC, prob DESC, pid) AS choice FROM eligible),
    chosen AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY pid, x_system ORDER BY sc DESC, prob DESC, x) AS per_system
      FROM best WHERE choice = 1)
    SELECT x AS rid, pid AS patient_id, y AS via_rid, prob AS probability, weight, sc AS deterministic
    FROM chosen WHERE per_system = 1 OR sc = 1) j;

CREATE OR REFRESH MATERIALIZED VIEW idr_assign_0
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT * FROM idr_linked_0
UNION ALL
SELECT * FROM (SELECT w.rid, 'P' || LPAD(CAST((SELECT COUNT(*) FROM idr_assign_none WHERE via_rid IS NULL) + ROW_NUMBER() OVER (ORDER BY w.extracted_at, w.source_system, w.source_patient_id) AS STRING), 9, '0') AS patient_id,
      CAST(NULL AS BIGINT) AS via_rid, CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight,
      0 AS deterministic
    FROM idr_work w WHERE w.sys_rank = 0 AND w.rid NOT IN (SELECT rid FROM idr_linked_0)) n;

CREATE TEMPORARY VIEW idr_candidates_1
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS WITH x AS (
      SELECT w.rid, w.kind, w.current_patient_id, w.source_system FROM idr_work w WHERE w.sys_rank = 1),
    known AS (
      SELECT e.x, e.y, e.prob, e.weight, e.sc, e.conflict, e.rejected, x.source_system AS x_system,
        CASE WHEN wy.rid IS NULL THEN ry.patient_id ELSE ay.patient_id END AS pid
      FROM idr_edges e JOIN x ON x.rid = e.x
      JOIN identity_records ry ON ry.rid = e.y
      LEFT JOIN idr_work wy ON wy.rid = e.y
      LEFT JOIN idr_assign_0 ay ON ay.rid = e.y),
    member_rows AS (
      SELECT m.pid, m.rid, m.sys_rank, m.source_system FROM idr_members m WHERE m.pid IN (SELECT pid FROM known)
      UNION ALL
      SELECT a.patient_id, w.rid, w.sys_rank, w.source_system FROM idr_assign_0 a JOIN idr_work w ON w.rid = a.rid
      WHERE a.patient_id IN (SELECT pid FROM known)),
    anchors AS (
      SELECT pid, rid AS anchor_rid FROM (
        SELECT pid, rid, ROW_NUMBER() OVER (PARTITION BY pid ORDER BY sys_rank, rid) AS a FROM member_rows) t
      WHERE a = 1),
    members AS (SELECT DISTINCT pid, source_system FROM member_rows),
    ranked AS (
      SELECT k.*, ROW_NUMBER() OVER (PARTITION BY k.x, k.pid ORDER BY k.conflict, k.sc DESC, k.prob DESC, k.y) AS rk,
        MAX(CASE WHEN k.rejected = 1 OR (k.conflict = 1 AND k.y = an.anchor_rid) THEN 1 ELSE 0 END)
          OVER (PARTITION BY k.x, k.pid) AS any_conflict
      FROM known k JOIN anchors an ON an.pid = k.pid WHERE k.pid IS NOT NULL)
    SELECT c.x, c.y, c.pid, c.prob, c.weight, c.sc, c.conflict, c.any_conflict, c.x_system,
      CASE WHEN ms.pid IS NULL THEN 0 ELSE 1 END AS same_system
    FROM ranked c LEFT JOIN members ms ON ms.pid = c.pid AND ms.source_system = c.x_system
    WHERE c.rk = 1;

CREATE TEMPORARY VIEW idr_linked_1
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT * FROM idr_assign_0
UNION ALL
SELECT * FROM (WITH eligible AS (
      SELECT * FROM idr_candidates_1
      WHERE any_conflict = 0 AND (sc = 1 OR (conflict = 0 AND prob >= 0.95))
        AND (same_system = 0 OR sc = 1)),
    best AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY x ORDER BY sc DESC, prob DESC, pid) AS choice FROM eligible),
    chosen AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY pid, x_system ORDER BY sc DESC, prob DESC, x) AS per_system
      FROM best WHERE choice = 1)
    SELECT x AS rid, pid AS patient_id, y AS via_rid, prob AS probability, weight, sc AS deterministic
    FROM chosen WHERE per_system = 1 OR sc = 1) j;

CREATE OR REFRESH MATERIALIZED VIEW idr_assign_1
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT * FROM idr_linked_1
UNION ALL
SELECT * FROM (SELECT w.rid, 'P' || LPAD(CAST((SELECT COUNT(*) FROM idr_assign_0 WHERE via_rid IS NULL) + ROW_NUMBER() OVER (ORDER BY w.extracted_at, w.source_system, w.source_patient_id) AS STRING), 9, '0') AS patient_id,
      CAST(NULL AS BIGINT) AS via_rid, CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight,
      0 AS deterministic
    FROM idr_work w WHERE w.sys_rank = 1 AND w.rid NOT IN (SELECT rid FROM idr_linked_1)) n;

CREATE TEMPORARY VIEW idr_candidates_2
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS WITH x AS (
      SELECT w.rid, w.kind, w.current_patient_id, w.source_system FROM idr_work w WHERE w.sys_rank = 2),
    known AS (
      SELECT e.x, e.y, e.prob, e.weight, e.sc, e.conflict, e.rejected, x.source_system AS x_system,
        CASE WHEN wy.rid IS NULL THEN ry.patient_id ELSE ay.patient_id END AS pid
      FROM idr_edges e JOIN x ON x.rid = e.x
      JOIN identity_records ry ON ry.rid = e.y
      LEFT JOIN idr_work wy ON wy.rid = e.y
      LEFT JOIN idr_assign_1 ay ON ay.rid = e.y),
    member_rows AS (
      SELECT m.pid, m.rid, m.sys_rank, m.source_system FROM idr_members m WHERE m.pid IN (SELECT pid FROM known)
      UNION ALL
      SELECT a.patient_id, w.rid, w.sys_rank, w.source_system FROM idr_assign_1 a JOIN idr_work w ON w.rid = a.rid
      WHERE a.patient_id IN (SELECT pid FROM known)),
    anchors AS (
      SELECT pid, rid AS anchor_rid FROM (
        SELECT pid, rid, ROW_NUMBER() OVER (PARTITION BY pid ORDER BY sys_rank, rid) AS a FROM member_rows) t
      WHERE a = 1),
    members AS (SELECT DISTINCT pid, source_system FROM member_rows),
    ranked AS (
      SELECT k.*, ROW_NUMBER() OVER (PARTITION BY k.x, k.pid ORDER BY k.conflict, k.sc DESC, k.prob DESC, k.y) AS rk,
        MAX(CASE WHEN k.rejected = 1 OR (k.conflict = 1 AND k.y = an.anchor_rid) THEN 1 ELSE 0 END)
          OVER (PARTITION BY k.x, k.pid) AS any_conflict
      FROM known k JOIN anchors an ON an.pid = k.pid WHERE k.pid IS NOT NULL)
    SELECT c.x, c.y, c.pid, c.prob, c.weight, c.sc, c.conflict, c.any_conflict, c.x_system,
      CASE WHEN ms.pid IS NULL THEN 0 ELSE 1 END AS same_system
    FROM ranked c LEFT JOIN members ms ON ms.pid = c.pid AND ms.source_system = c.x_system
    WHERE c.rk = 1;

CREATE TEMPORARY VIEW idr_linked_2
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT * FROM idr_assign_1
UNION ALL
SELECT * FROM (WITH eligible AS (
      SELECT * FROM idr_candidates_2
      WHERE any_conflict = 0 AND (sc = 1 OR (conflict = 0 AND prob >= 0.95))
        AND (same_system = 0 OR sc = 1)),
    best AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY x ORDER BY sc DESC, prob DESC, pid) AS choice FROM eligible),
    chosen AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY pid, x_system ORDER BY sc DESC, prob DESC, x) AS per_system
      FROM best WHERE choice = 1)
    SELECT x AS rid, pid AS patient_id, y AS via_rid, prob AS probability, weight, sc AS deterministic
    FROM chosen WHERE per_system = 1 OR sc = 1) j;

CREATE OR REFRESH MATERIALIZED VIEW idr_assign_2
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT * FROM idr_linked_2
UNION ALL
SELECT * FROM (SELECT w.rid, 'P' || LPAD(CAST((SELECT COUNT(*) FROM idr_assign_1 WHERE via_rid IS NULL) + ROW_NUMBER() OVER (ORDER BY w.extracted_at, w.source_system, w.source_patient_id) AS STRING), 9, '0') AS patient_id,
      CAST(NULL AS BIGINT) AS via_rid, CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight,
      0 AS deterministic
    FROM idr_work w WHERE w.sys_rank = 2 AND w.rid NOT IN (SELECT rid FROM idr_linked_2)) n;

CREATE TEMPORARY VIEW idr_final
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS WITH other AS (
      SELECT e.x, MAX(e.prob) AS prob FROM idr_edges e
      JOIN (SELECT rid, patient_id FROM idr_assign_2 WHERE via_rid IS NULL AND probability IS NULL) ax ON ax.rid = e.x
      JOIN identity_records ry ON ry.rid = e.y
      LEFT JOIN idr_assign_2 ay ON ay.rid = e.y
      WHERE e.conflict = 0 AND e.rejected = 0 AND ax.patient_id <> COALESCE(ay.patient_id, ry.patient_id)
      GROUP BY e.x)
    SELECT a.rid, w.source_system, w.source_patient_id, w.extracted_at, a.patient_id, w.kind, w.current_patient_id, a.via_rid,
      a.weight, a.deterministic,
      CASE WHEN w.kind = 'changed' AND a.patient_id = w.current_patient_id THEN 'kept'
           WHEN a.via_rid IS NULL AND a.probability IS NULL THEN 'new_patient'
           WHEN w.kind = 'changed' THEN 'moved'
           WHEN a.deterministic = 1 THEN 'deterministic'
           ELSE 'probabilistic' END AS decision,
      CASE WHEN a.via_rid IS NULL AND a.probability IS NULL THEN 1.0 - COALESCE(o.prob, 0.0)
           WHEN a.deterministic = 1 THEN GREATEST(a.probability, 0.999)
           ELSE COALESCE(a.probability, 1.0) END AS confidence,
      CASE WHEN a.via_rid IS NULL THEN NULL ELSE vr.source_system || ':' || vr.source_patient_id END AS via_record,
      CASE WHEN s.rid_l IS NOT NULL THEN named_struct('first_name', CASE s.g_first_name WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'nickname' WHEN 3 THEN 'edit_1' WHEN 4 THEN 'edit_2' WHEN 5 THEN 'else' END, 'last_name', CASE s.g_last_name WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'edit_1' WHEN 3 THEN 'edit_2' WHEN 4 THEN 'else' END, 'birth_date', CASE s.g_birth_date WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'day_month_swap' WHEN 3 THEN 'one_digit' WHEN 4 THEN 'within_1_year' WHEN 5 THEN 'else' END, 'ssn', CASE s.g_ssn WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'else' END, 'mrn', CASE s.g_mrn WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'else' END, 'member_id', CASE s.g_member_id WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'else' END, 'address', CASE s.g_address WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'same_street' WHEN 3 THEN 'same_zip_or_city' WHEN 4 THEN 'else' END, 'phone', CASE s.g_phone WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'else' END, 'email', CASE s.g_email WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'else' END, 'sex', CASE s.g_sex WHEN 0 THEN 'missing' WHEN 1 THEN 'exact' WHEN 2 THEN 'else' END) END AS levels
    FROM idr_assign_2 a JOIN idr_work w ON w.rid = a.rid
    LEFT JOIN identity_records vr ON vr.rid = a.via_rid
    LEFT JOIN identity_scored_pairs s ON s.rid_l = LEAST(a.rid, a.via_rid) AND s.rid_r = GREATEST(a.rid, a.via_rid)
    LEFT JOIN other o ON o.x = a.rid;

CREATE OR REFRESH MATERIALIZED VIEW silver_resolved_identity_resolution
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
TBLPROPERTIES (
  'data.classification' = 'PHI',
  'compliance.framework' = 'HIPAA'
)
AS SELECT f.source_system, f.source_patient_id, f.patient_id, ROUND(f.confidence, 6) AS confidence_score,
      to_json(named_struct('decision', decision, 'matched_record', via_record, 'match_weight', ROUND(weight, 3), 'levels', levels), map('ignoreNullFields', 'false')) AS match_evidence,
      'fs-v1:' || decision AS match_rule, current_timestamp() AS resolved_at,
      weight AS match_weight, 'fs-v1.0' AS model_version
    FROM idr_final f;

CREATE TEMPORARY VIEW idr_resolved_records
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT r.rid, r.source_system, r.source_patient_id, r.sys_rank, r.fn, r.ln, r.dob, r.sex, r.ssn, r.mrn, r.mid, r.addr, r.city, r.state, r.zip, r.phone, r.email,
  r.extracted_at, f.patient_id
FROM identity_records r JOIN idr_final f ON f.rid = r.rid;

CREATE TEMPORARY VIEW idr_resolved_patients
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT DISTINCT patient_id FROM silver_resolved_identity_resolution;

CREATE OR REFRESH MATERIALIZED VIEW silver_enriched_identity_resolution
COMMENT 'Identity resolution (fs-v1): Probabilistic Fellegi–Sunter matching (model fs-v1.0) with best-anchor clustering by source system, recomputed from all records.'
AS SELECT g.*, 'fs-v1.0' AS model_version
FROM (WITH ranked AS (
      SELECT r.rid, r.patient_id, COALESCE(l.confidence_score, 1.0) * CASE r.source_system WHEN 'EHR_SYSTEM' THEN 1 WHEN 'LAB_SYSTEM' THEN 0.9 WHEN 'ADT_SYSTEM' THEN 0.85 ELSE 0.5 END AS score,
        ROW_NUMBER() OVER (PARTITION BY r.patient_id ORDER BY COALESCE(l.confidence_score, 1.0) * CASE r.source_system WHEN 'EHR_SYSTEM' THEN 1 WHEN 'LAB_SYSTEM' THEN 0.9 WHEN 'ADT_SYSTEM' THEN 0.85 ELSE 0.5 END DESC, r.extracted_at DESC, r.rid) AS rk,
        COUNT(*) OVER (PARTITION BY r.patient_id) AS record_count,
        MAX(r.extracted_at) OVER (PARTITION BY r.patient_id) AS effective_at
      FROM idr_resolved_records r
      JOIN idr_resolved_patients p ON p.patient_id = r.patient_id
      LEFT JOIN silver_resolved_identity_resolution l ON l.source_system = r.source_system AND l.source_patient_id = r.source_patient_id),
    first AS (
      SELECT k.patient_id, t.fn, t.ln, t.dob, t.sex, t.ssn, t.mrn, t.mid, t.addr, t.city, t.state, t.zip, t.phone, t.email, t.source_system || ':' || t.source_patient_id AS src, COALESCE(t.fn IS NOT NULL, FALSE) AS ok_first_name, COALESCE(t.ln IS NOT NULL, FALSE) AS ok_last_name, COALESCE(t.dob IS NOT NULL, FALSE) AS ok_birth_date, COALESCE(t.sex IN ('F', 'M'), FALSE) AS ok_sex, COALESCE(t.ssn IS NOT NULL, FALSE) AS ok_ssn_hash, COALESCE(t.mrn IS NOT NULL, FALSE) AS ok_mrn, COALESCE(t.mid IS NOT NULL, FALSE) AS ok_member_id, COALESCE(t.addr IS NOT NULL, FALSE) AS ok_address, COALESCE(t.city IS NOT NULL, FALSE) AS ok_city, COALESCE(t.state IS NOT NULL, FALSE) AS ok_state, COALESCE((t.zip RLIKE '^[0-9]{5}$'), FALSE) AS ok_zip, COALESCE((t.phone RLIKE '^[0-9]{10}$'), FALSE) AS ok_phone, COALESCE((t.email RLIKE '^[^@ ]+@[^@ ]+$'), FALSE) AS ok_email, k.score, k.record_count, k.effective_at
      FROM idr_resolved_records t JOIN ranked k ON k.rid = t.rid WHERE k.rk = 1),
    gaps AS (SELECT t.patient_id FROM first t WHERE t.record_count > 1 AND NOT (t.ok_first_name AND t.ok_last_name AND t.ok_birth_date AND t.ok_sex AND t.ok_ssn_hash AND t.ok_mrn AND t.ok_member_id AND t.ok_address AND t.ok_city AND t.ok_state AND t.ok_zip AND t.ok_phone AND t.ok_email)),
    o AS (
      SELECT t.patient_id,
      max_by(CASE WHEN t.fn IS NOT NULL THEN t.fn END, -t.rk) FILTER (WHERE CASE WHEN t.fn IS NOT NULL THEN t.fn END IS NOT NULL) AS first_name,
      max_by(CASE WHEN t.fn IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.fn IS NOT NULL THEN t.src END IS NOT NULL) AS first_name_source,
      max_by(CASE WHEN t.fn IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.fn IS NOT NULL THEN t.score END IS NOT NULL) AS first_name_confidence,
      max_by(CASE WHEN t.ln IS NOT NULL THEN t.ln END, -t.rk) FILTER (WHERE CASE WHEN t.ln IS NOT NULL THEN t.ln END IS NOT NULL) AS last_name,
      max_by(CASE WHEN t.ln IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.ln IS NOT NULL THEN t.src END IS NOT NULL) AS last_name_source,
      max_by(CASE WHEN t.ln IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.ln IS NOT NULL THEN t.score END IS NOT NULL) AS last_name_confidence,
      max_by(CASE WHEN t.dob IS NOT NULL THEN t.dob END, -t.rk) FILTER (WHERE CASE WHEN t.dob IS NOT NULL THEN t.dob END IS NOT NULL) AS birth_date,
      max_by(CASE WHEN t.dob IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.dob IS NOT NULL THEN t.src END IS NOT NULL) AS birth_date_source,
      max_by(CASE WHEN t.dob IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.dob IS NOT NULL THEN t.score END IS NOT NULL) AS birth_date_confidence,
      max_by(CASE WHEN t.sex IN ('F', 'M') THEN t.sex END, -t.rk) FILTER (WHERE CASE WHEN t.sex IN ('F', 'M') THEN t.sex END IS NOT NULL) AS sex,
      max_by(CASE WHEN t.sex IN ('F', 'M') THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.sex IN ('F', 'M') THEN t.src END IS NOT NULL) AS sex_source,
      max_by(CASE WHEN t.sex IN ('F', 'M') THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.sex IN ('F', 'M') THEN t.score END IS NOT NULL) AS sex_confidence,
      max_by(CASE WHEN t.ssn IS NOT NULL THEN t.ssn END, -t.rk) FILTER (WHERE CASE WHEN t.ssn IS NOT NULL THEN t.ssn END IS NOT NULL) AS ssn_hash,
      max_by(CASE WHEN t.ssn IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.ssn IS NOT NULL THEN t.src END IS NOT NULL) AS ssn_hash_source,
      max_by(CASE WHEN t.ssn IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.ssn IS NOT NULL THEN t.score END IS NOT NULL) AS ssn_hash_confidence,
      max_by(CASE WHEN t.mrn IS NOT NULL THEN t.mrn END, -t.rk) FILTER (WHERE CASE WHEN t.mrn IS NOT NULL THEN t.mrn END IS NOT NULL) AS mrn,
      max_by(CASE WHEN t.mrn IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.mrn IS NOT NULL THEN t.src END IS NOT NULL) AS mrn_source,
      max_by(CASE WHEN t.mrn IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.mrn IS NOT NULL THEN t.score END IS NOT NULL) AS mrn_confidence,
      max_by(CASE WHEN t.mid IS NOT NULL THEN t.mid END, -t.rk) FILTER (WHERE CASE WHEN t.mid IS NOT NULL THEN t.mid END IS NOT NULL) AS member_id,
      max_by(CASE WHEN t.mid IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.mid IS NOT NULL THEN t.src END IS NOT NULL) AS member_id_source,
      max_by(CASE WHEN t.mid IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.mid IS NOT NULL THEN t.score END IS NOT NULL) AS member_id_confidence,
      max_by(CASE WHEN t.addr IS NOT NULL THEN t.addr END, -t.rk) FILTER (WHERE CASE WHEN t.addr IS NOT NULL THEN t.addr END IS NOT NULL) AS address,
      max_by(CASE WHEN t.addr IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.addr IS NOT NULL THEN t.src END IS NOT NULL) AS address_source,
      max_by(CASE WHEN t.addr IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.addr IS NOT NULL THEN t.score END IS NOT NULL) AS address_confidence,
      max_by(CASE WHEN t.city IS NOT NULL THEN t.city END, -t.rk) FILTER (WHERE CASE WHEN t.city IS NOT NULL THEN t.city END IS NOT NULL) AS city,
      max_by(CASE WHEN t.city IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.city IS NOT NULL THEN t.src END IS NOT NULL) AS city_source,
      max_by(CASE WHEN t.city IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.city IS NOT NULL THEN t.score END IS NOT NULL) AS city_confidence,
      max_by(CASE WHEN t.state IS NOT NULL THEN t.state END, -t.rk) FILTER (WHERE CASE WHEN t.state IS NOT NULL THEN t.state END IS NOT NULL) AS state,
      max_by(CASE WHEN t.state IS NOT NULL THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN t.state IS NOT NULL THEN t.src END IS NOT NULL) AS state_source,
      max_by(CASE WHEN t.state IS NOT NULL THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN t.state IS NOT NULL THEN t.score END IS NOT NULL) AS state_confidence,
      max_by(CASE WHEN (t.zip RLIKE '^[0-9]{5}$') THEN t.zip END, -t.rk) FILTER (WHERE CASE WHEN (t.zip RLIKE '^[0-9]{5}$') THEN t.zip END IS NOT NULL) AS zip,
      max_by(CASE WHEN (t.zip RLIKE '^[0-9]{5}$') THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN (t.zip RLIKE '^[0-9]{5}$') THEN t.src END IS NOT NULL) AS zip_source,
      max_by(CASE WHEN (t.zip RLIKE '^[0-9]{5}$') THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN (t.zip RLIKE '^[0-9]{5}$') THEN t.score END IS NOT NULL) AS zip_confidence,
      max_by(CASE WHEN (t.phone RLIKE '^[0-9]{10}$') THEN t.phone END, -t.rk) FILTER (WHERE CASE WHEN (t.phone RLIKE '^[0-9]{10}$') THEN t.phone END IS NOT NULL) AS phone,
      max_by(CASE WHEN (t.phone RLIKE '^[0-9]{10}$') THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN (t.phone RLIKE '^[0-9]{10}$') THEN t.src END IS NOT NULL) AS phone_source,
      max_by(CASE WHEN (t.phone RLIKE '^[0-9]{10}$') THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN (t.phone RLIKE '^[0-9]{10}$') THEN t.score END IS NOT NULL) AS phone_confidence,
      max_by(CASE WHEN (t.email RLIKE '^[^@ ]+@[^@ ]+$') THEN t.email END, -t.rk) FILTER (WHERE CASE WHEN (t.email RLIKE '^[^@ ]+@[^@ ]+$') THEN t.email END IS NOT NULL) AS email,
      max_by(CASE WHEN (t.email RLIKE '^[^@ ]+@[^@ ]+$') THEN t.src END, -t.rk) FILTER (WHERE CASE WHEN (t.email RLIKE '^[^@ ]+@[^@ ]+$') THEN t.src END IS NOT NULL) AS email_source,
      max_by(CASE WHEN (t.email RLIKE '^[^@ ]+@[^@ ]+$') THEN t.score END, -t.rk) FILTER (WHERE CASE WHEN (t.email RLIKE '^[^@ ]+@[^@ ]+$') THEN t.score END IS NOT NULL) AS email_confidence
      FROM (SELECT k.patient_id, r.fn, r.ln, r.dob, r.sex, r.ssn, r.mrn, r.mid, r.addr, r.city, r.state, r.zip, r.phone, r.email, r.source_system || ':' || r.source_patient_id AS src, k.score, k.rk FROM idr_resolved_records r JOIN ranked k ON k.rid = r.rid
        WHERE k.rk > 1 AND k.patient_id IN (SELECT patient_id FROM gaps)) t
      GROUP BY t.patient_id),
    g AS (
      SELECT t.patient_id, t.record_count, t.effective_at,
      CASE WHEN t.ok_first_name THEN t.fn ELSE o.first_name END AS first_name,
      CASE WHEN t.ok_first_name THEN t.src ELSE o.first_name_source END AS first_name_source,
      CASE WHEN t.ok_first_name THEN t.score ELSE o.first_name_confidence END AS first_name_confidence,
      CASE WHEN t.ok_last_name THEN t.ln ELSE o.last_name END AS last_name,
      CASE WHEN t.ok_last_name THEN t.src ELSE o.last_name_source END AS last_name_source,
      CASE WHEN t.ok_last_name THEN t.score ELSE o.last_name_confidence END AS last_name_confidence,
      CASE WHEN t.ok_birth_date THEN t.dob ELSE o.birth_date END AS birth_date,
      CASE WHEN t.ok_birth_date THEN t.src ELSE o.birth_date_source END AS birth_date_source,
      CASE WHEN t.ok_birth_date THEN t.score ELSE o.birth_date_confidence END AS birth_date_confidence,
      CASE WHEN t.ok_sex THEN t.sex ELSE o.sex END AS sex,
      CASE WHEN t.ok_sex THEN t.src ELSE o.sex_source END AS sex_source,
      CASE WHEN t.ok_sex THEN t.score ELSE o.sex_confidence END AS sex_confidence,
      CASE WHEN t.ok_ssn_hash THEN t.ssn ELSE o.ssn_hash END AS ssn_hash,
      CASE WHEN t.ok_ssn_hash THEN t.src ELSE o.ssn_hash_source END AS ssn_hash_source,
      CASE WHEN t.ok_ssn_hash THEN t.score ELSE o.ssn_hash_confidence END AS ssn_hash_confidence,
      CASE WHEN t.ok_mrn THEN t.mrn ELSE o.mrn END AS mrn,
      CASE WHEN t.ok_mrn THEN t.src ELSE o.mrn_source END AS mrn_source,
      CASE WHEN t.ok_mrn THEN t.score ELSE o.mrn_confidence END AS mrn_confidence,
      CASE WHEN t.ok_member_id THEN t.mid ELSE o.member_id END AS member_id,
      CASE WHEN t.ok_member_id THEN t.src ELSE o.member_id_source END AS member_id_source,
      CASE WHEN t.ok_member_id THEN t.score ELSE o.member_id_confidence END AS member_id_confidence,
      CASE WHEN t.ok_address THEN t.addr ELSE o.address END AS address,
      CASE WHEN t.ok_address THEN t.src ELSE o.address_source END AS address_source,
      CASE WHEN t.ok_address THEN t.score ELSE o.address_confidence END AS address_confidence,
      CASE WHEN t.ok_city THEN t.city ELSE o.city END AS city,
      CASE WHEN t.ok_city THEN t.src ELSE o.city_source END AS city_source,
      CASE WHEN t.ok_city THEN t.score ELSE o.city_confidence END AS city_confidence,
      CASE WHEN t.ok_state THEN t.state ELSE o.state END AS state,
      CASE WHEN t.ok_state THEN t.src ELSE o.state_source END AS state_source,
      CASE WHEN t.ok_state THEN t.score ELSE o.state_confidence END AS state_confidence,
      CASE WHEN t.ok_zip THEN t.zip ELSE o.zip END AS zip,
      CASE WHEN t.ok_zip THEN t.src ELSE o.zip_source END AS zip_source,
      CASE WHEN t.ok_zip THEN t.score ELSE o.zip_confidence END AS zip_confidence,
      CASE WHEN t.ok_phone THEN t.phone ELSE o.phone END AS phone,
      CASE WHEN t.ok_phone THEN t.src ELSE o.phone_source END AS phone_source,
      CASE WHEN t.ok_phone THEN t.score ELSE o.phone_confidence END AS phone_confidence,
      CASE WHEN t.ok_email THEN t.email ELSE o.email END AS email,
      CASE WHEN t.ok_email THEN t.src ELSE o.email_source END AS email_source,
      CASE WHEN t.ok_email THEN t.score ELSE o.email_confidence END AS email_confidence
      FROM first t LEFT JOIN o ON o.patient_id = t.patient_id)
    SELECT g.*, CAST(CASE WHEN first_name IS NULL THEN 0 ELSE 1 END + CASE WHEN last_name IS NULL THEN 0 ELSE 1 END + CASE WHEN birth_date IS NULL THEN 0 ELSE 1 END + CASE WHEN sex IS NULL THEN 0 ELSE 1 END + CASE WHEN ssn_hash IS NULL THEN 0 ELSE 1 END + CASE WHEN mrn IS NULL THEN 0 ELSE 1 END + CASE WHEN member_id IS NULL THEN 0 ELSE 1 END + CASE WHEN address IS NULL THEN 0 ELSE 1 END + CASE WHEN city IS NULL THEN 0 ELSE 1 END + CASE WHEN state IS NULL THEN 0 ELSE 1 END + CASE WHEN zip IS NULL THEN 0 ELSE 1 END + CASE WHEN phone IS NULL THEN 0 ELSE 1 END + CASE WHEN email IS NULL THEN 0 ELSE 1 END AS DOUBLE) / 13 AS golden_completeness,
      current_timestamp() AS resolved_at,
      ((unix_timestamp(current_timestamp()) - unix_timestamp(g.effective_at)) / CAST(3600 AS DOUBLE)) AS identity_resolution_age_hours
    FROM g) g;
