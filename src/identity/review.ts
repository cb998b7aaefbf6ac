import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { IDENTITY_MODEL_NAME } from '../definitions/identity/comparisons.ts';
import { sqlString, type Database } from '../engine/database.ts';

/**
 * The identity review queue: pairs of source records in the review band (or kept apart by a hard
 * conflict) wait for a reviewer. A decision is recorded now and honoured by every later run:
 * an accepted pair merges its two patients (the older id survives, the retired id stays resolvable
 * through `identity_patient_id_map`); a rejected pair is never linked, and if its records share a
 * patient the later one (in anchor order) is split off into a new patient.
 */

export interface ReviewItem {
  readonly review_id: string;
  readonly status: string;
  readonly left_record: string;
  readonly right_record: string;
  readonly left_patient_id: string | null;
  readonly right_patient_id: string | null;
  readonly match_probability: number;
  readonly match_weight: number;
  readonly evidence: unknown;
  readonly queued_at: unknown;
  readonly decided_at: unknown;
}

export class ReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReviewError';
  }
}

/** Review items (pending by default), best first, with the records' current patients. */
export async function listReviewQueue(
  db: Database,
  options: { status?: string; limit?: number } = {},
): Promise<ReviewItem[]> {
  const status = options.status ?? 'pending';
  return db.all<ReviewItem & Record<string, unknown>>(`SELECT q.review_id, q.status,
      q.left_system || ':' || q.left_id AS left_record, q.right_system || ':' || q.right_id AS right_record,
      a.patient_id AS left_patient_id, b.patient_id AS right_patient_id,
      ROUND(q.match_probability, 6) AS match_probability, ROUND(q.match_weight, 3) AS match_weight,
      q.evidence, q.queued_at, q.decided_at
    FROM identity_review_queue q
    LEFT JOIN identity_records a ON a.source_system = q.left_system AND a.source_patient_id = q.left_id
    LEFT JOIN identity_records b ON b.source_system = q.right_system AND b.source_patient_id = q.right_id
    ${status === 'all' ? '' : `WHERE q.status = ${sqlString(status)}`}
    ORDER BY q.match_probability DESC, q.review_id
    ${options.limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(options.limit))}`}`);
}

/** Records a reviewer's decision on a pending item (applied by the next run). */
export async function decideReview(
  db: Database,
  reviewId: string,
  decision: 'accept' | 'reject',
  atSql: string,
): Promise<void> {
  const item = await db.one<{
    status: string;
    lp: string | null;
    rp: string | null;
    ls: string;
    lid: string;
  }>(
    `SELECT q.status, a.patient_id AS lp, b.patient_id AS rp, q.left_system AS ls, q.left_id AS lid
     FROM identity_review_queue q
     LEFT JOIN identity_records a ON a.source_system = q.left_system AND a.source_patient_id = q.left_id
     LEFT JOIN identity_records b ON b.source_system = q.right_system AND b.source_patient_id = q.right_id
     WHERE q.review_id = ?`,
    [reviewId],
  );
  if (!item) throw new ReviewError(`no review item ${reviewId}`);
  if (item.status !== 'pending')
    throw new ReviewError(`review item ${reviewId} was already decided (${item.status})`);
  const status = decision === 'accept' ? 'accepted' : 'rejected';
  await db.run(`UPDATE identity_review_queue SET status = ?, decided_at = ${atSql} WHERE review_id = ?`, [
    status,
    reviewId,
  ]);
  await db.run(`INSERT INTO identity_audit VALUES (${atSql}, NULL, ?, ?, ?, ?, ?, ?, ?::JSON)`, [
    `review_${decision}`,
    item.lp,
    item.rp,
    item.ls,
    item.lid,
    reviewId,
    JSON.stringify({ decision: status }),
  ]);
}

// Gold facts are views over these (a lakehouse that stored them as tables is migrated when opened).
const FACT_TABLES = ['silver_claims', 'silver_medical_events'];

/**
 * How a merge rewrites silver and gold rows. The runner passes one that records every change in the
 * change data feed; the default writes in place (identity state only, or a lakehouse without a feed).
 */
export interface RowRewriter {
  /** Sets `set` (column → SQL expression) on the rows of `table` that `where` selects. */
  update(table: string, where: string, set: Readonly<Record<string, string>>): Promise<void>;
  /** Deletes the rows of `table` that `where` selects. */
  remove(table: string, where: string): Promise<void>;
}

export function inPlaceRewriter(db: Database): RowRewriter {
  return {
    update: (table, where, set) => db.updateRows(table, 't', set, where),
    remove: (table, where) => db.run(`DELETE FROM ${table} AS t WHERE ${where}`),
  };
}

async function tableExists(db: Database, name: string, orView = false): Promise<boolean> {
  const r = await db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM information_schema.tables
     WHERE table_name = ${sqlString(name)} AND table_type IN ('BASE TABLE'${orView ? ", 'VIEW'" : ''})`,
  );
  return (r?.n ?? 0) > 0;
}

/**
 * Applies every decided review item whose effect is not in place yet (idempotent, so a rebuilt
 * lakehouse gets the same decisions). Fills the temp table `idr_decided_patients` with the patients
 * whose membership changed.
 */
export async function applyReviewDecisions(
  db: Database,
  runId: string,
  atSql: string,
  rewriter: RowRewriter = inPlaceRewriter(db),
): Promise<{ merged: number; split: number }> {
  const run = sqlString(runId);
  await db.run(`CREATE TEMP TABLE IF NOT EXISTS idr_decided_patients (patient_id VARCHAR)`);
  const pending = `SELECT q.review_id, q.status, a.rid AS a_rid, b.rid AS b_rid, a.patient_id AS pa, b.patient_id AS pb,
      a.sys_rank AS ra, b.sys_rank AS rb
    FROM identity_review_queue q
    JOIN identity_records a ON a.source_system = q.left_system AND a.source_patient_id = q.left_id
    JOIN identity_records b ON b.source_system = q.right_system AND b.source_patient_id = q.right_id
    WHERE a.patient_id IS NOT NULL AND b.patient_id IS NOT NULL AND (
      (q.status = 'accepted' AND a.patient_id <> b.patient_id) OR (q.status = 'rejected' AND a.patient_id = b.patient_id))
    ORDER BY q.decided_at, q.review_id`;
  let merged = 0;
  let split = 0;
  // Nothing decided, nothing to apply (the pending query reads identity_records twice).
  const decided = await db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM identity_review_queue WHERE status IN ('accepted', 'rejected')`,
  );
  if ((decided?.n ?? 0) === 0) return { merged, split };
  const facts = await existingFactTables(db);
  // Few human decisions: one at a time, re-reading the state after each.
  for (let guard = 0; guard < 10_000; guard++) {
    const item = await db.one<{
      review_id: string;
      status: string;
      a_rid: number;
      b_rid: number;
      pa: string;
      pb: string;
      ra: number;
      rb: number;
    }>(`${pending} LIMIT 1`);
    if (!item) break;
    const review = sqlString(item.review_id);
    if (item.status === 'accepted') {
      const keep = item.pa < item.pb ? item.pa : item.pb;
      const retire = keep === item.pa ? item.pb : item.pa;
      await mergePatients(db, keep, retire, atSql, runId, 'review_accepted', item.review_id, facts, rewriter);
      merged++;
    } else {
      // The later record in anchor order leaves (the anchor keeps the patient and its id).
      const leaving =
        item.ra > item.rb || (item.ra === item.rb && item.a_rid > item.b_rid) ? item.a_rid : item.b_rid;
      const next =
        ((
          await db.one<{ n: number }>(
            `SELECT COALESCE(MAX(CAST(SUBSTR(issued_id, 2) AS BIGINT)), 0) AS n FROM identity_patient_id_map`,
          )
        )?.n ?? 0) + 1;
      const id = sqlString(`P${String(next).padStart(9, '0')}`);
      const from = sqlString(item.pa);
      const rec = await db.one<{ s: string; p: string }>(
        `SELECT source_system AS s, source_patient_id AS p FROM identity_records WHERE rid = ${leaving}`,
      );
      const s = sqlString(rec?.s ?? '');
      const p = sqlString(rec?.p ?? '');
      await db.updateRows('identity_records', 't', { patient_id: id }, `t.rid = ${leaving}`);
      const source = `t.source_system = ${s} AND t.source_patient_id = ${p}`;
      await db.updateRows(
        'silver_resolved_identity_resolution',
        't',
        {
          patient_id: id,
          confidence_score: '1.0',
          match_rule: `'${IDENTITY_MODEL_NAME}:review_split'`,
          resolved_at: atSql,
          run_id: run,
        },
        source,
      );
      await db.updateRows('silver_patient_sources', 't', { patient_id: id }, source);
      await db.run(`INSERT INTO identity_patient_id_map VALUES (${id}, ${id}, ${atSql}, NULL, ${run})`);
      await db.run(`INSERT INTO identity_audit VALUES (${atSql}, ${run}, 'split', ${from}, ${id}, ${s}, ${p}, ${review},
        ${d.jsonObject([['reason', "'review_rejected'"]])})`);
      await db.run(`INSERT INTO idr_decided_patients VALUES (${from}), (${id})`);
      await db.materialize(
        'idr_moves',
        `SELECT ${s} AS source_system, ${p} AS source_patient_id, ${from} AS from_pid, ${id} AS to_pid`,
      );
      await repointMovedFacts(db, 'idr_moves', facts, rewriter);
      split++;
    }
    await db.run(`UPDATE identity_review_queue SET applied_run_id = ${run} WHERE review_id = ${review}`);
  }
  return { merged, split };
}

/**
 * Merges patient `retire` into `keep` everywhere (identity state, silver and gold): the retired id
 * stays resolvable through `identity_patient_id_map`, its current gold_patients version is closed,
 * and the merge is in the audit history.
 */
export async function mergePatients(
  db: Database,
  keep: string,
  retire: string,
  atSql: string,
  runId: string,
  reason: string,
  reviewId: string | null,
  factTables?: readonly string[],
  rewriter: RowRewriter = inPlaceRewriter(db),
): Promise<void> {
  const k = sqlString(keep);
  const r = sqlString(retire);
  const facts = factTables ?? (await existingFactTables(db));
  for (const t of ['identity_records', 'silver_resolved_identity_resolution', 'silver_patient_sources'])
    await db.updateRows(t, 't', { patient_id: k }, `t.patient_id = ${r}`);
  await db.run(
    `UPDATE identity_patient_id_map SET patient_id = ${k}, retired_at = COALESCE(retired_at, ${atSql}) WHERE patient_id = ${r}`,
  );
  for (const t of facts) await rewriter.update(t, `patient_id = ${r}`, { patient_id: k });
  await rewriter.remove('silver_patients', `patient_id = ${r}`);
  await rewriter.update('gold_patients', `patient_id = ${r} AND is_current`, {
    is_current: 'false',
    effective_to: atSql,
  });
  await db.run(`DELETE FROM silver_enriched_identity_resolution WHERE patient_id = ${r}`);
  await db.run(`INSERT INTO identity_audit VALUES (${atSql}, ${sqlString(runId)}, 'merge', ${k}, ${r}, NULL, NULL,
    ${reviewId === null ? 'NULL' : sqlString(reviewId)}, ${d.jsonObject([
      ['reason', sqlString(reason)],
      ['retired_id', r],
    ])})`);
  await db.run(`INSERT INTO idr_decided_patients VALUES (${k})`);
}

/** The silver and gold fact tables this lakehouse stores as tables (gold facts may be views). */
export async function existingFactTables(db: Database): Promise<string[]> {
  const facts: string[] = [];
  for (const t of FACT_TABLES) if (await tableExists(db, t)) facts.push(t);
  return facts;
}

/**
 * Re-points the facts of source records that moved to another patient (new evidence, or a reviewer's
 * split). Silver facts carry only the resolved id; bronze keeps the source record each fact named
 * (claims an EHR record, events their ADT or LAB record), so a moved record's facts are found through
 * bronze by key. `moves` has (source_system, source_patient_id, from_pid, to_pid).
 */
export async function repointMovedFacts(
  db: Database,
  moves: string,
  facts: readonly string[],
  rewriter: RowRewriter,
): Promise<void> {
  const specs = [
    { table: 'silver_claims', bronze: 'bronze_claims', key: 'claim_id', system: "'EHR_SYSTEM'" },
    {
      table: 'silver_medical_events',
      bronze: 'bronze_medical_events',
      key: 'event_id',
      system: 'b.source_system',
    },
  ];
  for (const s of specs) {
    // Bronze datasets are views over their segments in the DuckDB lakehouse.
    if (!facts.includes(s.table) || !(await tableExists(db, s.bronze, true))) continue;
    await db.materialize(
      'idr_fact_moves',
      `SELECT DISTINCT b.${s.key} AS k, m.from_pid, m.to_pid FROM ${moves} m
      JOIN ${s.bronze} b ON ${s.system} = m.source_system AND TRIM(b.patient_id) = m.source_patient_id`,
    );
    const n = (await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM idr_fact_moves'))?.n ?? 0;
    if (n === 0) continue;
    await rewriter.update(
      s.table,
      `EXISTS (SELECT 1 FROM idr_fact_moves m WHERE m.k = t.${s.key} AND m.from_pid = t.patient_id)`,
      {
        patient_id: `(SELECT MAX(m.to_pid) FROM idr_fact_moves m WHERE m.k = t.${s.key} AND m.from_pid = t.patient_id)`,
      },
    );
  }
}

/** The current patient id of any id ever issued (a retired id resolves to its survivor). */
export async function resolvePatientId(db: Database, anyId: string): Promise<string | undefined> {
  const row = await db.one<{ patient_id: string }>(
    `SELECT patient_id FROM identity_patient_id_map WHERE issued_id = ?`,
    [anyId],
  );
  return row?.patient_id;
}
