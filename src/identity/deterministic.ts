import type { Database } from '../engine/database.ts';

/**
 * Deterministic patient identity resolution (rule version `deterministic-v1`): a source record keeps its
 * patient once linked; a new record joins an existing patient on an exact SSN HMAC, else on exact
 * normalised first name + last name + birth date, when that key points at exactly one patient; new
 * records that share such a key with each other form one new patient. Resolved ids are `P` + 9 digits,
 * allocated in a deterministic order (most trusted source first, then first seen, then source id).
 */
export const IDENTITY_RULE_VERSION = 'deterministic-v1';

export interface IdentityStats {
  readonly newRecords: number;
  readonly linkedToExisting: number;
  readonly newPatients: number;
}

export async function resolveIdentities(
  db: Database,
  runId: string,
  resolvedAtSql: string,
): Promise<IdentityStats> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE id_new AS
    SELECT s.source_system, s.source_patient_id,
      arg_max(s.ssn_hash, s._extracted_at) FILTER (WHERE s.ssn_hash IS NOT NULL) AS ssn_hash,
      arg_max(s.first_name_norm, s._extracted_at) AS fn, arg_max(s.last_name_norm, s._extracted_at) AS ln,
      arg_max(s.birth_date, s._extracted_at) AS dob, max(s._priority) AS priority, min(s._extracted_at) AS first_seen
    FROM silver_patient_sources s
    WHERE s._run_id = $run AND NOT EXISTS (
      SELECT 1 FROM silver_resolved_identity_resolution m
      WHERE m.source_system = s.source_system AND m.source_patient_id = s.source_patient_id)
    GROUP BY s.source_system, s.source_patient_id`,
    { run: runId },
  );

  // Keys of existing patients that identify exactly one patient, read only for the keys new records carry.
  await db.run(`CREATE OR REPLACE TEMP TABLE id_known AS
    SELECT s.ssn_hash, s.first_name_norm AS fn, s.last_name_norm AS ln, s.birth_date AS dob, m.patient_id
    FROM silver_patient_sources s JOIN silver_resolved_identity_resolution m
      ON m.source_system = s.source_system AND m.source_patient_id = s.source_patient_id
    WHERE s.ssn_hash IN (SELECT ssn_hash FROM id_new WHERE ssn_hash IS NOT NULL)
       OR (s.first_name_norm, s.last_name_norm, s.birth_date) IN (SELECT (fn, ln, dob) FROM id_new)`);
  await db.run(`CREATE OR REPLACE TEMP TABLE id_match AS
    WITH by_ssn AS (SELECT ssn_hash, min(patient_id) AS patient_id FROM id_known WHERE ssn_hash IS NOT NULL
                    GROUP BY ssn_hash HAVING COUNT(DISTINCT patient_id) = 1),
         by_name AS (SELECT fn, ln, dob, min(patient_id) AS patient_id FROM id_known
                     WHERE fn IS NOT NULL AND ln IS NOT NULL AND dob IS NOT NULL
                     GROUP BY fn, ln, dob HAVING COUNT(DISTINCT patient_id) = 1)
    SELECT n.source_system, n.source_patient_id,
      COALESCE(a.patient_id, b.patient_id) AS patient_id,
      CASE WHEN a.patient_id IS NOT NULL THEN 'ssn_hash' WHEN b.patient_id IS NOT NULL THEN 'name_dob' END AS rule
    FROM id_new n LEFT JOIN by_ssn a ON a.ssn_hash = n.ssn_hash
      LEFT JOIN by_name b ON b.fn = n.fn AND b.ln = n.ln AND b.dob = n.dob`);

  // New records that match no existing patient cluster among themselves (two propagation rounds).
  await db.run(`CREATE OR REPLACE TEMP TABLE id_cluster AS
    WITH base AS (
      SELECT n.*, ROW_NUMBER() OVER (ORDER BY n.priority DESC, n.first_seen, n.source_system, n.source_patient_id) AS r
      FROM id_new n JOIN id_match m USING (source_system, source_patient_id) WHERE m.patient_id IS NULL),
    a1 AS (SELECT *, LEAST(r,
        CASE WHEN ssn_hash IS NOT NULL THEN MIN(r) OVER (PARTITION BY ssn_hash) ELSE r END,
        CASE WHEN fn IS NOT NULL AND ln IS NOT NULL AND dob IS NOT NULL THEN MIN(r) OVER (PARTITION BY fn, ln, dob) ELSE r END) AS a
      FROM base),
    a2 AS (SELECT *, LEAST(a,
        CASE WHEN ssn_hash IS NOT NULL THEN MIN(a) OVER (PARTITION BY ssn_hash) ELSE a END,
        CASE WHEN fn IS NOT NULL AND ln IS NOT NULL AND dob IS NOT NULL THEN MIN(a) OVER (PARTITION BY fn, ln, dob) ELSE a END) AS a2
      FROM a1)
    SELECT source_system, source_patient_id, a2 AS anchor, r, (r = a2) AS is_anchor,
      CASE WHEN r = a2 THEN 'new_patient' WHEN ssn_hash IS NOT NULL AND ssn_hash = FIRST_VALUE(ssn_hash) OVER (PARTITION BY a2 ORDER BY r) THEN 'ssn_hash' ELSE 'name_dob' END AS rule
    FROM a2`);
  const base =
    (
      await db.one<{ n: number }>(
        `SELECT COALESCE(MAX(CAST(SUBSTR(patient_id, 2) AS BIGINT)), 0) AS n FROM silver_resolved_identity_resolution`,
      )
    )?.n ?? 0;
  await db.run(
    `INSERT INTO silver_resolved_identity_resolution
    SELECT source_system, source_patient_id, patient_id,
      CASE rule WHEN 'ssn_hash' THEN 0.99 WHEN 'name_dob' THEN 0.95 ELSE 1.0 END,
      json_object('rule', rule, 'fields', CASE rule WHEN 'ssn_hash' THEN ['ssn_hash'] WHEN 'name_dob' THEN ['first_name', 'last_name', 'date_of_birth'] ELSE ['source_record'] END),
      '${IDENTITY_RULE_VERSION}:' || rule, ${resolvedAtSql}, $run
    FROM (
      SELECT source_system, source_patient_id, patient_id, rule FROM id_match WHERE patient_id IS NOT NULL
      UNION ALL
      SELECT c.source_system, c.source_patient_id,
        'P' || LPAD(CAST(${base} + DENSE_RANK() OVER (ORDER BY c.anchor) AS VARCHAR), 9, '0'), c.rule
      FROM id_cluster c)`,
    { run: runId },
  );
  const stats = await db.one<{ n: number; linked: number; patients: number }>(`SELECT
      (SELECT COUNT(*) FROM id_new) AS n,
      (SELECT COUNT(*) FROM id_match WHERE patient_id IS NOT NULL) AS linked,
      (SELECT COUNT(*) FROM id_cluster WHERE is_anchor) AS patients`);
  await db.run(
    `UPDATE silver_patient_sources s SET patient_id = m.patient_id
    FROM silver_resolved_identity_resolution m
    WHERE s._run_id = $run AND m.source_system = s.source_system AND m.source_patient_id = s.source_patient_id`,
    {
      run: runId,
    },
  );
  return {
    newRecords: stats?.n ?? 0,
    linkedToExisting: stats?.linked ?? 0,
    newPatients: stats?.patients ?? 0,
  };
}
