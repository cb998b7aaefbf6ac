import type { Dialect } from '../dialect/dialect.ts';

/**
 * The identity resolution step as data, for the engines that run it as declarative SQL (the
 * Databricks bundle and the Spark parity run). A step is an ordered list of relations over
 * `silver_patient_sources` (one row per accepted source record, with its normalised match keys); the
 * last one is `silver_resolved_identity_resolution` with `IDENTITY_COLUMNS`, one row per source
 * record. `fs-v1` (definitions/identity/step.ts) is the default; another model plugs in the same way.
 */
export interface IdentityRelation {
  readonly name: string;
  /** A SELECT; it may read `silver_patient_sources` and the step's earlier relations. */
  readonly sql: string;
  /** Persisted (a table / materialized view) or an intermediate view. */
  readonly persisted: boolean;
}

export interface IdentityStep {
  readonly version: string;
  readonly description: string;
  relations(d: Dialect, opts: { readonly resolvedAt: string }): readonly IdentityRelation[];
}

/** The columns the final relation returns, in order. */
export const IDENTITY_COLUMNS = [
  'source_system',
  'source_patient_id',
  'patient_id',
  'confidence_score',
  'match_evidence',
  'match_rule',
  'resolved_at',
] as const;

/** The name every identity step's final relation has. */
export const IDENTITY_RELATION = 'silver_resolved_identity_resolution';

const FIELDS = {
  ssn_hash: '["ssn_hash"]',
  name_dob: '["first_name","last_name","date_of_birth"]',
  new_patient: '["source_record"]',
} as const;

/**
 * `deterministic-v1` over all source records at once: records sharing an SSN HMAC or an exact
 * normalised first name + last name + birth date form one patient (two propagation rounds); ids are
 * `P` + 9 digits in the order most trusted source first, then first seen, then source id. The local
 * engine ran these rules before `fs-v1` and no longer does: the bundle renders `fs-v1`
 * (`definitions/identity/step.ts`) unless `carelake bundle --identity deterministic-v1` asks for
 * these, which no engine result is compared with.
 */
export const deterministicIdentityStep: IdentityStep = {
  version: 'deterministic-v1',
  description:
    'Exact SSN HMAC, else exact first name + last name + birth date; records cluster transitively.',
  relations: (d, { resolvedAt }) => {
    const nameKey = 'fn IS NOT NULL AND ln IS NOT NULL AND dob IS NOT NULL';
    const round = (prev: string, next: string): string =>
      `LEAST(${prev},
        CASE WHEN ssn_hash IS NOT NULL THEN MIN(${prev}) OVER (PARTITION BY ssn_hash) ELSE ${prev} END,
        CASE WHEN ${nameKey} THEN MIN(${prev}) OVER (PARTITION BY fn, ln, dob) ELSE ${prev} END) AS ${next}`;
    const evidence = `CONCAT('{"rule":"', rule, '","fields":', CASE rule ${Object.entries(FIELDS)
      .map(([k, v]) => `WHEN '${k}' THEN '${v}'`)
      .join(' ')} END, '}')`;
    return [
      {
        name: 'identity_records',
        persisted: false,
        sql: `SELECT source_system, source_patient_id,
  ${d.argMaxNotNull('ssn_hash', '_extracted_at')} AS ssn_hash,
  ${d.argMaxNotNull('first_name_norm', '_extracted_at')} AS fn,
  ${d.argMaxNotNull('last_name_norm', '_extracted_at')} AS ln,
  ${d.argMaxNotNull('birth_date', '_extracted_at')} AS dob,
  MAX(_priority) AS priority, MIN(_extracted_at) AS first_seen
FROM silver_patient_sources
GROUP BY source_system, source_patient_id`,
      },
      {
        name: 'identity_clusters',
        persisted: false,
        sql: `WITH base AS (
  SELECT n.*, ROW_NUMBER() OVER (ORDER BY n.priority DESC, n.first_seen, n.source_system, n.source_patient_id) AS r
  FROM identity_records n),
a1 AS (SELECT *, ${round('r', 'a')} FROM base),
a2 AS (SELECT *, ${round('a', 'a2')} FROM a1)
SELECT source_system, source_patient_id, a2 AS anchor, r,
  CASE WHEN r = a2 THEN 'new_patient'
    WHEN ssn_hash IS NOT NULL AND ssn_hash = FIRST_VALUE(ssn_hash) OVER (PARTITION BY a2 ORDER BY r) THEN 'ssn_hash'
    ELSE 'name_dob' END AS rule
FROM a2`,
      },
      {
        name: IDENTITY_RELATION,
        persisted: true,
        sql: `SELECT source_system, source_patient_id,
  CONCAT('P', LPAD(CAST(DENSE_RANK() OVER (ORDER BY anchor) AS STRING), 9, '0')) AS patient_id,
  CAST(CASE rule WHEN 'ssn_hash' THEN 0.99 WHEN 'name_dob' THEN 0.95 ELSE 1.0 END AS DOUBLE) AS confidence_score,
  ${evidence} AS match_evidence,
  CONCAT('deterministic-v1:', rule) AS match_rule,
  ${resolvedAt} AS resolved_at
FROM identity_clusters`,
      },
    ];
  },
};
