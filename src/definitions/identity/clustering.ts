import type { Dialect } from '../../dialect/dialect.ts';
import { passThrough } from '../sql-helpers.ts';
import { IDENTITY_MODEL_NAME } from './comparisons.ts';
import { evidenceLevelsSql, THRESHOLDS } from './scoring.ts';

/**
 * Best-anchor (star) clustering, in SQL with window functions and a fixed number of statements (no
 * iteration, so it cannot chain): records are resolved in stages by source system (EHR, then ADT,
 * then LAB). In its stage, a record joins the single patient it links to best — a scored pair at or
 * above the auto-link probability with no hard identifier conflict, or deterministic evidence — among
 * the patients that exist already or were formed in an earlier stage. A patient that already holds a
 * record of the same source system accepts another only on deterministic evidence, and at most one
 * record per system joins a patient in one stage. A record that links to no patient becomes the anchor
 * of a new one. A record never joins a patient one of whose members a reviewer rejected it with, nor
 * one whose anchor it has a hard identifier conflict with (a conflict with another member is no veto:
 * two drifted copies of one person may conflict while both agree with the anchor). Two existing
 * patients merge only on a reviewer's acceptance.
 *
 * Tables read: the pair records `records` (identity records of every record in a candidate pair:
 * rid, source_system, sys_rank, patient_id before this run), `idr_members` (pid, rid, sys_rank,
 * source_system: the existing members of those records' patients), `idr_work` (rid, kind
 * 'new'|'changed', current_patient_id, sys_rank, source_system, source_patient_id, extracted_at), `idr_edges` (x, y, prob, weight, sc, conflict: both directions
 * of each scored pair with x a work record; `conflict` a hard identifier conflict, `rejected` a reviewer's
 * rejection), `idr_assign` (rid, patient_id, …: the stages so far; another name can be given, so a
 * declarative pipeline can hold each stage's assignments in a relation of its own).
 */

/** `allNew`: every record is a work record and none had a patient before (a resolution from scratch). */
export interface ResolutionScope {
  readonly allNew?: boolean;
}

/**
 * The directed edges of the scored pairs `scored` whose source x is a work record (with `allNew`
 * every record is one, so the work is not joined).
 */
export function edgesSql(scored: string, options: ResolutionScope = {}): string {
  return `WITH e AS (
      SELECT rid_l AS x, rid_r AS y, match_probability AS prob, match_weight AS weight, short_circuit AS sc,
        hard_conflict AS conflict FROM ${scored}
      UNION ALL
      SELECT rid_r, rid_l, match_probability, match_weight, short_circuit, hard_conflict FROM ${scored})
    SELECT e.x, e.y, e.prob, e.weight, CASE WHEN e.sc THEN 1 ELSE 0 END AS sc,
      CASE WHEN e.conflict THEN 1 ELSE 0 END AS conflict, CASE WHEN rj.rid_a IS NULL THEN 0 ELSE 1 END AS rejected
    FROM e${options.allNew ? '' : ' JOIN idr_work w ON w.rid = e.x'}
    LEFT JOIN idr_rejected rj ON rj.rid_a = e.x AND rj.rid_b = e.y`;
}

/**
 * Per work record of stage `stage` and candidate patient: the best edge into it and any conflict.
 * With `allNew` a candidate's patient is the one an earlier stage assigned and there is no earlier
 * member, so the edges need no lookup of the pair records or the work (two joins of every edge with
 * millions of rows: a third of the clustering of a first load).
 */
function candidatesSql(
  stage: number,
  records: string,
  assign = 'idr_assign',
  options: ResolutionScope = {},
): string {
  const known = options.allNew
    ? `SELECT e.x, e.y, e.prob, e.weight, e.sc, e.conflict, e.rejected, x.source_system AS x_system,
        ay.patient_id AS pid
      FROM idr_edges e JOIN x ON x.rid = e.x
      JOIN ${assign} ay ON ay.rid = e.y`
    : `SELECT e.x, e.y, e.prob, e.weight, e.sc, e.conflict, e.rejected, x.source_system AS x_system,
        CASE WHEN wy.rid IS NULL THEN ry.patient_id ELSE ay.patient_id END AS pid
      FROM idr_edges e JOIN x ON x.rid = e.x
      JOIN ${records} ry ON ry.rid = e.y
      LEFT JOIN idr_work wy ON wy.rid = e.y
      LEFT JOIN ${assign} ay ON ay.rid = e.y`;
  const earlierMembers = options.allNew
    ? ''
    : `SELECT m.pid, m.rid, m.sys_rank, m.source_system FROM idr_members m WHERE m.pid IN (SELECT pid FROM known)
      UNION ALL
      `;
  // Without earlier members the assigned ones come first, and the first branch names the columns.
  const pid = options.allNew ? ' AS pid' : '';
  return `WITH x AS (
      SELECT w.rid, w.kind, w.current_patient_id, w.source_system FROM idr_work w WHERE w.sys_rank = ${stage}),
    known AS (
      ${known}),
    member_rows AS (
      ${earlierMembers}SELECT a.patient_id${pid}, w.rid, w.sys_rank, w.source_system FROM ${assign} a JOIN idr_work w ON w.rid = a.rid
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
    WHERE c.rk = 1`;
}

/**
 * The records of stage `stage` that join an existing patient: one row (rid, patient_id, via_rid,
 * probability, weight, deterministic) per joining record. Reads the candidates table `candidates`
 * (from stageCandidatesSql).
 */
export function stageJoinSql(candidates: string): string {
  return `WITH eligible AS (
      SELECT * FROM ${candidates}
      WHERE any_conflict = 0 AND (sc = 1 OR (conflict = 0 AND prob >= ${THRESHOLDS.autoLink}))
        AND (same_system = 0 OR sc = 1)),
    best AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY x ORDER BY sc DESC, prob DESC, pid) AS choice FROM eligible),
    chosen AS (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY pid, x_system ORDER BY sc DESC, prob DESC, x) AS per_system
      FROM best WHERE choice = 1)
    SELECT x AS rid, pid AS patient_id, y AS via_rid, prob AS probability, weight, sc AS deterministic
    FROM chosen WHERE per_system = 1 OR sc = 1`;
}

export const stageCandidatesSql = candidatesSql;

/**
 * Changed records of the stage that join no patient: they stay with their current patient unless a
 * member of it conflicts (a hard conflict or a rejection), which splits them off (new evidence).
 */
export function stageStaySql(candidates: string, stage: number): string {
  return `SELECT w.rid, w.current_patient_id AS patient_id, c.y AS via_rid, c.prob AS probability, c.weight,
      0 AS deterministic
    FROM idr_work w
    LEFT JOIN ${candidates} c ON c.x = w.rid AND c.pid = w.current_patient_id
    WHERE w.sys_rank = ${stage} AND w.kind = 'changed' AND w.current_patient_id IS NOT NULL
      AND w.rid NOT IN (SELECT rid FROM idr_assign)
      AND COALESCE(c.any_conflict, 0) = 0`;
}

/**
 * Records of the stage still without a patient become anchors of new patients, numbered from `base`
 * (a number or an SQL expression) in a deterministic order (first extracted, then source system and
 * id). `assign` holds the assignments so far, this stage's links included.
 */
export function stageNewPatientsSql(
  d: Dialect,
  stage: number,
  base: number | string,
  assign = 'idr_assign',
): string {
  return `SELECT w.rid, 'P' || LPAD(${d.castText(`${base} + ROW_NUMBER() OVER (ORDER BY w.extracted_at, w.source_system, w.source_patient_id)`)}, 9, '0') AS patient_id,
      CAST(NULL AS BIGINT) AS via_rid, CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight,
      0 AS deterministic
    FROM idr_work w WHERE w.sys_rank = ${stage} AND w.rid NOT IN (SELECT rid FROM ${assign})`;
}

/**
 * Pairs for the review queue: a work record and a record of another patient, with a match probability
 * in the review band, or above it but kept apart (a hard conflict, a second record of one system).
 * With `allNew` every record was assigned in this run, and the pair records are not joined (the
 * other record's patient is its assignment).
 */
export function reviewCandidatesSql(records: string, options: ResolutionScope = {}): string {
  const other = options.allNew
    ? `LEFT JOIN idr_assign ay ON ay.rid = e.y`
    : `JOIN ${records} ry ON ry.rid = e.y
    LEFT JOIN idr_assign ay ON ay.rid = e.y`;
  // Kept a LEFT JOIN with a NULL-safe test from scratch (every record has an assignment): with `<>` the
  // optimizer made it an inner join and joined the two assignments to each other on the inequality
  // first (360,000 similar records spilled 29 GB).
  const otherPatient = options.allNew
    ? 'IS DISTINCT FROM ay.patient_id'
    : '<> COALESCE(ay.patient_id, ry.patient_id)';
  return `SELECT LEAST(e.x, e.y) AS rid_l, GREATEST(e.x, e.y) AS rid_r, MAX(e.prob) AS prob, MAX(e.weight) AS weight
    FROM idr_edges e
    JOIN idr_assign ax ON ax.rid = e.x
    ${other}
    LEFT JOIN idr_rejected rj ON rj.rid_a = e.x AND rj.rid_b = e.y
    WHERE e.prob >= ${THRESHOLDS.review} AND rj.rid_a IS NULL
      AND ax.patient_id ${otherPatient}
    GROUP BY LEAST(e.x, e.y), GREATEST(e.x, e.y)`;
}

/**
 * The outcome of each work record once every stage ran (`assign`): its patient, the decision
 * (kept: a changed record that stays with its patient, with or without a candidate link to it;
 * new_patient: the anchor of a patient issued in this run; moved, deterministic, probabilistic), the confidence, the record it linked
 * through and the level evidence of that link (NULL when it linked through none, as a new patient's
 * anchor). A new patient's anchor has confidence 1 − its best link probability to another patient (no
 * conflict, no rejection). Reads idr_work, idr_edges, the pair records `records` and the scored pairs
 * `scored`.
 */
export function finalAssignmentsSql(
  d: Dialect,
  opts: {
    readonly assign: string;
    readonly records: string;
    readonly scored: string;
    /** Columns of the work (`idr_work`) passed through as they are (the DuckDB runner's row position). */
    readonly carry?: readonly string[];
  } & ResolutionScope,
): string {
  const { assign, records, scored } = opts;
  // The patient of an edge's other record: assigned in this run, else the one it had. With `allNew`
  // every record was assigned in this run, and the pair records are not joined (the LEFT JOIN is kept
  // as written: an inner join let the optimizer join the assignments to each other first).
  const otherPatient = opts.allNew
    ? `LEFT JOIN ${assign} ay ON ay.rid = e.y
      WHERE e.conflict = 0 AND e.rejected = 0 AND ax.patient_id IS DISTINCT FROM ay.patient_id`
    : `JOIN ${records} ry ON ry.rid = e.y
      LEFT JOIN ${assign} ay ON ay.rid = e.y
      WHERE e.conflict = 0 AND e.rejected = 0 AND ax.patient_id <> COALESCE(ay.patient_id, ry.patient_id)`;
  // The best link to another patient is read only where it is used: records with no link of their
  // own (new patients' anchors, changed records kept without a candidate), not for every record with
  // an edge (a first load of 1M people has 9.5 M directed edges).
  return `WITH other AS (
      SELECT e.x, MAX(e.prob) AS prob FROM idr_edges e
      JOIN (SELECT rid, patient_id FROM ${assign} WHERE via_rid IS NULL AND probability IS NULL) ax ON ax.rid = e.x
      ${otherPatient}
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
      CASE WHEN s.rid_l IS NOT NULL THEN ${evidenceLevelsSql(d, 's', { nested: true })} END AS levels${passThrough('w', opts.carry)}
    FROM ${assign} a JOIN idr_work w ON w.rid = a.rid
    LEFT JOIN ${records} vr ON vr.rid = a.via_rid
    LEFT JOIN ${scored} s ON s.rid_l = LEAST(a.rid, a.via_rid) AND s.rid_r = GREATEST(a.rid, a.via_rid)
    LEFT JOIN other o ON o.x = a.rid`;
}

/** The stored link confidence (`confidence_score`) of final assignment `alias` (6 decimals). */
export function resolvedConfidenceSql(alias: string): string {
  return `ROUND(${alias}.confidence, 6)`;
}

/**
 * The rows of `silver_resolved_identity_resolution` for the final assignments `final`: source record,
 * patient, confidence (6 decimals), evidence JSON, rule `fs-v1:<decision>`, resolution time, match
 * weight and model version (`modelVersion` an SQL expression).
 */
export function resolvedIdentityRowsSql(
  d: Dialect,
  final: string,
  resolvedAtSql: string,
  modelVersionSql: string,
): string {
  return `SELECT f.source_system, f.source_patient_id, f.patient_id, ${resolvedConfidenceSql('f')} AS confidence_score,
      ${d.jsonObject([
        ['decision', 'decision'],
        ['matched_record', 'via_record'],
        ['match_weight', 'ROUND(weight, 3)'],
        ['levels', 'levels'],
      ])} AS match_evidence,
      ${d.string(`${IDENTITY_MODEL_NAME}:`)} || decision AS match_rule, ${resolvedAtSql} AS resolved_at,
      weight AS match_weight, ${modelVersionSql} AS model_version
    FROM ${final} f`;
}
