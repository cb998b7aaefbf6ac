import crypto from 'node:crypto';
import { duckdbDialect as d } from '../dialect/duckdb.ts';
import {
  BLOCKING_RULES,
  blockingKeysByRecordSql,
  blockingKeysFromRecordsSql,
  candidatePairsSql,
} from '../definitions/identity/blocking.ts';
import {
  edgesSql,
  finalAssignmentsSql,
  resolvedConfidenceSql,
  resolvedIdentityRowsSql,
  reviewCandidatesSql,
  stageCandidatesSql,
  stageJoinSql,
  stageNewPatientsSql,
  stageStaySql,
} from '../definitions/identity/clustering.ts';
import { comparisonVectorsSql, IDENTITY_MODEL_NAME } from '../definitions/identity/comparisons.ts';
import { passThrough } from '../definitions/sql-helpers.ts';
import {
  fingerprintSql,
  goldenRecordSql,
  IDENTITY_FIELDS,
  IDENTITY_RECORD_VALUES,
  identityRecordsSql,
  identityRecordValuesSql,
  type GoldenSources,
} from '../definitions/identity/records.ts';
import { evidenceLevelsSql, scoreSql, type ModelParameter } from '../definitions/identity/scoring.ts';
import { sqlString, type Database } from '../engine/database.ts';
import {
  applyReviewDecisions,
  existingFactTables,
  inPlaceRewriter,
  mergePatients,
  repointMovedFacts,
  type RowRewriter,
} from './review.ts';
import { currentModelVersion, trainModel, writeDefaultModel } from './model.ts';
import { BLOCKING_KEYS_DDL, IDENTITY_STATE_TABLES } from './schema.ts';
import { MIN_TRAINING_RECORDS } from '../definitions/identity/default-model.ts';
import { recordRunMetrics } from './monitoring.ts';

/**
 * Probabilistic patient identity resolution (model `fs-v1`, see CONTEXT.md). Every step is SQL
 * generated from the definitions in src/definitions/identity and run in bulk in DuckDB; only EM on
 * the pattern counts runs here. Incremental: a run resolves only its new and changed source records
 * against everything known; existing patients keep their ids.
 */
export const IDENTITY_RULE_VERSION = IDENTITY_MODEL_NAME;

export interface IdentityStats {
  readonly newRecords: number;
  readonly changedRecords: number;
  readonly linkedToExisting: number;
  readonly newPatients: number;
  readonly moved: number;
  readonly split: number;
  readonly merged: number;
  readonly candidatePairs: number;
  readonly reviewQueued: number;
  readonly modelVersion: string;
  readonly trained: boolean;
  readonly seconds: number;
  /** CPU seconds of the whole process (every engine thread) during the resolution. */
  readonly cpuSeconds: number;
  readonly phases: Record<string, number>;
  readonly alerts: string[];
}

export interface ResolveOptions {
  readonly runId: string;
  /** The resolution time as an SQL TIMESTAMP literal (the run start). */
  readonly resolvedAtSql: string;
  /** Which silver_patient_sources rows are new in this run (default: `_run_id = runId`). */
  readonly sourceFilter?: string;
  /**
   * The relation holding this run's new source rows (default `silver_patient_sources`, filtered by
   * `sourceFilter`): the runner in bulk mode passes its file-backed staging, which holds the same rows.
   */
  readonly sources?: string;
  /** How merges rewrite silver and gold rows (the runner's records the change feed). */
  readonly rewriter?: RowRewriter;
  /**
   * A column of `sources` numbering its rows (unique). With it the records are joined to their ids on
   * that one integer instead of the two source keys, and `identity_record_patients` has it too.
   */
  readonly sourcePosition?: string;
  /** Drop the SSN hash from every record (the measurement without SSN). */
  readonly withoutSsn?: boolean;
  /** Train a new model version even if one exists. */
  readonly retrain?: boolean;
}

/**
 * The view resolveIdentities leaves: (source_system, source_patient_id, patient_id) of every source
 * record, as resolved by the update, and with `ResolveOptions.sourcePosition` that column of each of
 * this run's source rows (a record delivered twice has a row per version).
 */
export const RECORD_PATIENTS = 'identity_record_patients';

/** Records at least this many times the count at the last training trigger a new model version. */
const RETRAIN_GROWTH = 2;

async function count(db: Database, sql: string): Promise<number> {
  return (await db.one<{ n: number }>(sql))?.n ?? 0;
}

async function nextPatientNumber(db: Database): Promise<number> {
  return (
    (await count(
      db,
      // Ids are 'P' and nine digits (LPAD), so the greatest id is the greatest number: one string MAX
      // instead of a cast of every issued id.
      `SELECT COALESCE(CAST(SUBSTR(MAX(issued_id), 2) AS BIGINT), 0) AS n FROM identity_patient_id_map`,
    )) + 1
  );
}

/**
 * The identity records `sql` selects (identity_records rows) with their values: those few rows first,
 * then their source rows (a view joining every record to its source row planned the join of the whole
 * tables: 0.45 s for 15,000 records of 2.15 M, 0.11 s this way).
 */
const recordValuesSql = (sql: string): string =>
  `WITH idr_stored AS MATERIALIZED (${sql}) ${identityRecordValuesSql('idr_stored', 'silver_patient_sources')}`;

// The probe names the stored form and the rules too: keys written in another form (one row per rule,
// or hashes of the values joined into text, before) or by other rules are rebuilt like keys of another
// hash.
const RULES_SIGNATURE = crypto
  .createHash('sha256')
  .update(JSON.stringify(BLOCKING_RULES))
  .digest('hex')
  .slice(0, 12);
const HASH_PROBE = `'keys by record, typed values, rules ${RULES_SIGNATURE}:' || CAST(hash('carelake identity hash probe') AS VARCHAR)`;

/**
 * Blocking keys and fingerprints are the engine's 64-bit hash of values. They are stored, so they are
 * rebuilt when the engine hashes differently from when they were written (another DuckDB version), or
 * were never written by this version of carelake: the probe's hash is kept in carelake_meta. One
 * small query when nothing changed.
 */
async function checkHashes(db: Database): Promise<void> {
  const probe = await db.one<{ stored: string | null; current: string }>(
    `SELECT (SELECT value FROM carelake_meta WHERE key = 'identity_hash_probe') AS stored, ${HASH_PROBE} AS current`,
  );
  if (probe && probe.stored === probe.current) return;
  await db.run(`DROP TABLE IF EXISTS identity_blocking_keys`);
  await db.run(BLOCKING_KEYS_DDL);
  await db.run(`INSERT INTO identity_blocking_keys ${blockingKeysByRecordSql(d, IDENTITY_RECORD_VALUES)}`);
  await db.run(`UPDATE identity_records r SET fp = v.fp FROM (
      SELECT rid, ${fingerprintSql('v')} AS fp FROM ${IDENTITY_RECORD_VALUES} v) v WHERE v.rid = r.rid`);
  await db.run(
    `INSERT INTO carelake_meta VALUES ('identity_hash_probe', ${HASH_PROBE}) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
  );
}

export async function resolveIdentities(db: Database, options: ResolveOptions): Promise<IdentityStats> {
  const started = Date.now();
  const cpuStart = process.cpuUsage();
  const phases: Record<string, number> = {};
  let mark = Date.now();
  const phase = async (name: string): Promise<void> => {
    phases[name] = (Date.now() - mark) / 1000;
    await db.traceMemory(`identity ${name}`);
    mark = Date.now();
  };
  const run = sqlString(options.runId);
  const at = options.resolvedAtSql;
  await db.run(`CREATE OR REPLACE TEMP TABLE idr_decided_patients (patient_id VARCHAR)`);
  await checkHashes(db);
  const filter = options.sourceFilter ?? `_run_id = ${run}`;

  // 1. This run's records (latest version per source record) → new or changed identity records. Only
  // the source records delivered more than once in this run need the latest-version window (none on
  // a first load of one file per source); the others are projected as they are.
  const sources = options.sources ?? 'silver_patient_sources';
  const withoutSsn = options.withoutSsn ?? false;
  const pos = options.sourcePosition;
  const carry = pos === undefined ? [] : [pos];
  const key = 'source_system, source_patient_id';
  await db.materialize(
    'idr_repeated',
    `SELECT ${key} FROM ${sources} WHERE ${filter} GROUP BY ${key} HAVING COUNT(*) > 1`,
  );
  const repeated = await count(db, 'SELECT COUNT(*) AS n FROM idr_repeated');
  const isRepeated = `EXISTS (SELECT 1 FROM idr_repeated r WHERE r.source_system IS NOT DISTINCT FROM s.source_system
      AND r.source_patient_id IS NOT DISTINCT FROM s.source_patient_id)`;
  const once = identityRecordsSql(d, sources, repeated ? `(${filter}) AND NOT ${isRepeated}` : filter, {
    withoutSsn,
    single: true,
    carry,
  });
  // Without repeats the latest versions are the source rows as they are: a view (from scratch read
  // twice below, narrow for the record ids and wide once) instead of a third copy of the records
  // (writing it took 2.5-2.8 s of a 1M-people first load).
  if (repeated)
    await db.materialize(
      'idr_latest',
      `${once} UNION ALL ${identityRecordsSql(d, sources, `(${filter}) AND ${isRepeated}`, { withoutSsn, carry })}`,
    );
  else await db.defineView('idr_latest', once);
  const baseRid = await count(db, 'SELECT COALESCE(MAX(rid), 0) AS n FROM identity_records');
  // From scratch (no identity record yet) every record is new: nothing to match.
  const fromScratch = baseRid === 0;
  // A known record changed when its fingerprint did: the match reads four narrow columns of the large
  // table instead of every compared field (0.33 s of an incremental update on 2.15 M records).
  if (!fromScratch)
    await db.materialize(
      'idr_match',
      `SELECT n.source_system, n.source_patient_id, r.rid, r.patient_id, r.fp IS DISTINCT FROM ${fingerprintSql('n')} AS changed
      FROM idr_latest n LEFT JOIN identity_records r
        ON r.source_system = n.source_system AND r.source_patient_id = n.source_patient_id`,
    );
  // Changed records are resolved again (new evidence may move them), except anchors of patients with
  // other members (the first record in anchor order keeps its patient).
  // Numbered over the keys alone, then joined back: a window sorts its whole input, and sorting the
  // wide records cost twice as much as the narrow sort plus the join. With a row position the join is
  // on that integer (2.15 M records: the join 0.19-0.21 s instead of 0.34-0.36 s on the two texts).
  const idColumns = pos === undefined ? ['source_system', 'source_patient_id'] : [pos];
  await db.materialize(
    'idr_new_ids',
    `SELECT ${idColumns.map((c) => `n.${c}`).join(', ')},
      ${baseRid} + ROW_NUMBER() OVER (ORDER BY n.sys_rank, n.extracted_at, n.source_system, n.source_patient_id) AS rid
    FROM idr_latest n ${fromScratch ? '' : 'JOIN idr_match m USING (source_system, source_patient_id) WHERE m.rid IS NULL'}`,
  );
  await db.materialize(
    'idr_new',
    `SELECT k.rid, n.* FROM idr_latest n JOIN idr_new_ids k USING (${idColumns.join(', ')})`,
  );
  // From scratch (no identity record before this run) the new records are written once their patients
  // are known, at step 6: an UPDATE of every row just written made the commit of a first load rewrite
  // the column (about 3.6 s for 2.15 M rows). Until then the steps read them from the working relation.
  // An identity_records row (in the table's column order) of working record `n`: its ids, patient,
  // fingerprint and source row (its values stay in silver_patient_sources).
  const storedRecord = (patientId: string): string =>
    `n.rid, n.source_system, n.source_patient_id, n.sys_rank, n.extracted_at, ${patientId} AS patient_id,
    ${run} AS updated_run_id, ${fingerprintSql('n')} AS fp, n._file_name, n._line_number`;
  // The working records with their values (in identity_record_values's column order).
  const allRecords = `(SELECT n.rid, n.source_system, n.source_patient_id, n.sys_rank,
    ${IDENTITY_FIELDS.map((f) => `n.${f}`).join(', ')}, n.extracted_at, CAST(NULL AS VARCHAR) AS patient_id FROM idr_new n)`;
  const knownRecords = fromScratch ? allRecords : 'identity_records';
  if (!fromScratch)
    await db.run(`INSERT INTO identity_records SELECT ${storedRecord('NULL')} FROM idr_new n`);
  // The work: from scratch the new records and nothing else, a view of idr_new (the clustering reads it
  // narrow); incremental runs append the changed records to it below.
  // From scratch it carries the row position to the final assignments (identity_record_patients).
  const workCarry = fromScratch ? carry : [];
  const newWork = `SELECT rid, 'new' AS kind, CAST(NULL AS VARCHAR) AS current_patient_id, sys_rank, source_system,
      source_patient_id, extracted_at${passThrough('idr_new', workCarry)}
    FROM idr_new`;
  if (fromScratch) await db.defineView('idr_work', newWork);
  else await db.materialize('idr_work', newWork);
  // Known records whose fields changed (none from scratch).
  let changedCount = 0;
  if (!fromScratch) {
    await db.materialize(
      'idr_changed',
      `SELECT m.rid, m.patient_id FROM idr_match m WHERE m.rid IS NOT NULL AND m.changed`,
    );
    changedCount = await count(db, 'SELECT COUNT(*) AS n FROM idr_changed');
  }
  if (changedCount > 0) {
    // A changed record's incoming values with its current patient: what its identity record now holds
    // and what its blocking keys come from (the large table is not read again for them).
    await db.materialize(
      'idr_changed_records',
      `SELECT c.rid, c.patient_id AS current_patient_id, n.* FROM idr_changed c JOIN idr_match m ON m.rid = c.rid
      JOIN idr_latest n ON n.source_system = m.source_system AND n.source_patient_id = m.source_patient_id`,
    );
    await db.updateRows(
      'identity_records',
      'r',
      {
        extracted_at: 'n.extracted_at',
        updated_run_id: run,
        fp: fingerprintSql('n'),
        _file_name: 'n._file_name',
        _line_number: 'n._line_number',
      },
      'n.rid = r.rid',
      'idr_changed_records n',
    );
    // Their patients' other records come from one narrow pass over identity_records.
    await db.append(
      'idr_work',
      `WITH c AS MATERIALIZED (
        SELECT rid, current_patient_id AS patient_id, sys_rank, source_system, source_patient_id, extracted_at
        FROM idr_changed_records WHERE current_patient_id IS NOT NULL),
      mates AS MATERIALIZED (
        SELECT o.patient_id, o.rid, o.sys_rank FROM identity_records o
        WHERE o.patient_id IN (SELECT patient_id FROM c))
      SELECT c.rid, 'changed', c.patient_id, c.sys_rank, c.source_system, c.source_patient_id, c.extracted_at
      FROM c
      WHERE EXISTS (SELECT 1 FROM mates o WHERE o.patient_id = c.patient_id AND o.rid <> c.rid
          AND (o.sys_rank < c.sys_rank OR (o.sys_rank = c.sys_rank AND o.rid < c.rid)))
        OR NOT EXISTS (SELECT 1 FROM mates o WHERE o.patient_id = c.patient_id AND o.rid <> c.rid)`,
    );
  }
  await phase('records');

  // 2. Blocking keys of new and changed records; candidate pairs against every known record.
  // The keys are computed once, one row per record (the stored form), and the long form (rid, rule, k)
  // is read from it (1M-people first load: 4.7-5.9 s when both forms hashed every key, 3.6-4.2 s).
  await db.materialize(
    'idr_keys_by_record',
    `${blockingKeysByRecordSql(d, 'idr_new')}
    ${changedCount > 0 ? `UNION ALL ${blockingKeysByRecordSql(d, 'idr_changed_records')}` : ''}`,
  );
  // A view: the pairs read it twice, and unpivoting the stored form again costs less than writing and
  // reading the long form (1M-people first load: 0.9 s to write it, pairs 4.2-4.4 s either way).
  await db.defineView('idr_rekey_keys', blockingKeysFromRecordsSql('idr_keys_by_record'));
  // Stored one row per record: a changed record's row is replaced.
  if (changedCount > 0)
    await db.run(`DELETE FROM identity_blocking_keys WHERE rid IN (SELECT rid FROM idr_changed)`);
  await db.run(`INSERT INTO identity_blocking_keys SELECT * FROM idr_keys_by_record`);
  const workCount = await count(db, 'SELECT COUNT(*) AS n FROM idr_work');
  const newCount = workCount - (await count(db, `SELECT COUNT(*) AS n FROM idr_work WHERE kind = 'changed'`));
  let workKeys = 'idr_rekey_keys';
  if (workCount !== newCount + changedCount) {
    workKeys = 'idr_wkeys';
    await db.materialize(
      'idr_wkeys',
      `SELECT k.* FROM idr_rekey_keys k WHERE k.rid IN (SELECT rid FROM idr_work)`,
    );
  }
  // From scratch (no record known before this run) the pairs come from one self-join of the keys.
  await db.materialize(
    'idr_pairs',
    `${fromScratch ? candidatePairsSql(workKeys, workKeys, { selfJoin: true }) : candidatePairsSql(workKeys, 'identity_blocking_keys', { byRecord: true })}`,
  );
  // The records of the candidate pairs and the existing members of their patients (incremental runs
  // read these small tables instead of every record; from scratch every record is in play).
  const pairRecords = fromScratch ? allRecords : 'idr_pair_records';
  // Incremental: one pass over the wide identity records gathers every record this update reads:
  // the pairs' records, this update's own, and every record of their patients (the members below,
  // and the golden records of step 9). A scan of all 2.15 M wide records costs 0.2-0.4 s however
  // few rows it keeps, so the steps share one (the patients come first from a narrow pass).
  const scope = 'identity_scope';
  if (!fromScratch) {
    await db.materialize(
      'idr_pair_rids',
      `SELECT rid_l AS rid FROM idr_pairs UNION SELECT rid_r FROM idr_pairs`,
    );
    await db.materialize(
      'idr_scope_patients',
      `SELECT r.patient_id FROM identity_records r
      WHERE r.patient_id IS NOT NULL AND r.rid IN (SELECT rid FROM idr_pair_rids)
      UNION SELECT current_patient_id FROM idr_work WHERE current_patient_id IS NOT NULL`,
    );
    await db.materialize(
      scope,
      recordValuesSql(`SELECT r.* FROM identity_records r
      WHERE r.rid IN (SELECT rid FROM idr_pair_rids) OR r.rid IN (SELECT rid FROM idr_work)
        OR r.patient_id IN (SELECT patient_id FROM idr_scope_patients)`),
    );
    await db.materialize(
      'idr_pair_records',
      `SELECT s.* FROM ${scope} s WHERE s.rid IN (SELECT rid FROM idr_pair_rids)`,
    );
  }
  await db.materialize(
    'idr_members',
    `SELECT r.patient_id AS pid, r.rid, r.sys_rank, r.source_system FROM ${fromScratch ? 'identity_records' : scope} r
    WHERE r.patient_id IN (SELECT patient_id FROM ${pairRecords} WHERE patient_id IS NOT NULL)
      AND r.rid NOT IN (SELECT rid FROM idr_work)`,
  );
  await db.materialize('idr_vectors', `${comparisonVectorsSql(d, 'idr_pairs', pairRecords, ['rule'])}`);
  const candidatePairs = await count(db, 'SELECT COUNT(*) AS n FROM idr_vectors');
  await phase('blocking');

  // 3. The model: trained without labels when there is none yet (or the records have grown a lot).
  let modelVersion = await currentModelVersion(db, IDENTITY_MODEL_NAME);
  let trained = false;
  const records = await count(db, `SELECT COUNT(*) AS n FROM ${knownRecords}`);
  const trainedOn =
    modelVersion === undefined
      ? 0
      : await count(
          db,
          `SELECT MAX(records) AS n FROM identity_model_parameters WHERE model_version = ${sqlString(modelVersion)}`,
        );
  const enough = records >= MIN_TRAINING_RECORDS && candidatePairs >= MIN_TRAINING_RECORDS / 10;
  if (
    enough &&
    (modelVersion === undefined ||
      options.retrain === true ||
      records >= RETRAIN_GROWTH * Math.max(1, trainedOn))
  ) {
    const t = await trainModel(
      db,
      fromScratch ? allRecords : IDENTITY_RECORD_VALUES,
      'idr_vectors',
      options.runId,
      at,
      IDENTITY_MODEL_NAME,
    );
    modelVersion = t.modelVersion;
    trained = true;
  } else if (modelVersion === undefined) {
    modelVersion = await writeDefaultModel(db, records, options.runId, at, IDENTITY_MODEL_NAME);
  }
  await phase('model');

  // 4. Scoring in bulk.
  const mv = modelVersion;
  // The model's few parameter rows are written into the scoring statement (no join per comparison).
  const parameters: ModelParameter[] = await db.all<ModelParameter & Record<string, unknown>>(
    'SELECT comparison, level, m, u, weight FROM identity_model_parameters WHERE model_version = ?',
    [mv],
  );
  await db.materialize('idr_scored', `${scoreSql(d, 'idr_vectors', mv, { parameters })}`);
  await phase('scoring');

  // 5. Best-anchor clustering in three stages (EHR, ADT, LAB). Pairs a reviewer rejected, both ways
  // (the records are looked up only when there are any: a first load has none).
  const rejections = await count(
    db,
    `SELECT COUNT(*) AS n FROM identity_review_queue WHERE status = 'rejected'`,
  );
  await db.materialize(
    'idr_rejected',
    rejections === 0
      ? 'SELECT CAST(NULL AS BIGINT) AS rid_a, CAST(NULL AS BIGINT) AS rid_b WHERE FALSE'
      : `SELECT a.rid AS rid_a, b.rid AS rid_b FROM identity_review_queue q
    JOIN ${knownRecords} a ON a.source_system = q.left_system AND a.source_patient_id = q.left_id
    JOIN ${knownRecords} b ON b.source_system = q.right_system AND b.source_patient_id = q.right_id
    WHERE q.status = 'rejected'
    UNION ALL
    SELECT b.rid, a.rid FROM identity_review_queue q
    JOIN ${knownRecords} a ON a.source_system = q.left_system AND a.source_patient_id = q.left_id
    JOIN ${knownRecords} b ON b.source_system = q.right_system AND b.source_patient_id = q.right_id
    WHERE q.status = 'rejected'`,
  );
  await db.materialize('idr_edges', `${edgesSql('idr_scored', { allNew: fromScratch })}`);
  await db.materialize(
    'idr_assign',
    `SELECT CAST(NULL AS BIGINT) AS rid, CAST(NULL AS VARCHAR) AS patient_id, CAST(NULL AS BIGINT) AS via_rid,
      CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight, CAST(NULL AS INTEGER) AS deterministic
    WHERE FALSE`,
  );
  let newPatients = 0;
  // New ids are issued at the end of the step (identity_patient_id_map), so the base is read once.
  const base = await nextPatientNumber(db);
  for (const stage of [0, 1, 2]) {
    await db.materialize(
      'idr_candidates',
      `${stageCandidatesSql(stage, pairRecords, 'idr_assign', { allNew: fromScratch })}`,
    );
    await db.append('idr_assign', stageJoinSql('idr_candidates'));
    await db.append('idr_assign', stageStaySql('idr_candidates', stage));
    const before = await count(db, 'SELECT COUNT(*) AS n FROM idr_assign');
    await db.append('idr_assign', stageNewPatientsSql(d, stage, base - 1 + newPatients));
    const added = (await count(db, 'SELECT COUNT(*) AS n FROM idr_assign')) - before;
    newPatients += added;
  }
  await phase('clustering');

  // 6. Results: one row per source record, with evidence, weight, confidence and versions.
  await db.materialize(
    'idr_final',
    `${finalAssignmentsSql(d, { assign: 'idr_assign', records: pairRecords, scored: 'idr_scored', allNew: fromScratch, carry: workCarry })}`,
  );
  // From scratch there is no earlier link to replace (a full refresh emptied them).
  if (!(await db.isEmpty('silver_resolved_identity_resolution')))
    await db.run(`DELETE FROM silver_resolved_identity_resolution m USING idr_final f
      WHERE m.source_system = f.source_system AND m.source_patient_id = f.source_patient_id`);
  await db.run(`INSERT INTO silver_resolved_identity_resolution
    (source_system, source_patient_id, patient_id, confidence_score, match_evidence, match_rule, resolved_at,
     match_weight, model_version, run_id)
    SELECT r.*, ${run} FROM (${resolvedIdentityRowsSql(d, 'idr_final', at, d.string(mv))}) r`);
  // From scratch the new records are written now, with their patients. Otherwise records new in this
  // update (rid above baseRid) and this update's source rows were written in the open transaction:
  // updated in place. Known records whose patient changed are few and spread over the tables:
  // rewritten (Database.updateRows), and only looked for when there are any.
  if (fromScratch)
    await db.run(`INSERT INTO identity_records
      SELECT ${storedRecord('f.patient_id')} FROM idr_new n LEFT JOIN idr_final f ON f.rid = n.rid`);
  else
    await db.run(`UPDATE identity_records r SET patient_id = f.patient_id FROM idr_final f
      WHERE f.rid = r.rid AND r.rid > ${baseRid}`);
  // The pipeline writes its source rows after this step, with their patients; a first load has none
  // yet, and the two UPDATEs of them below would only build their joins (0.5 s at 1M people).
  const sourceRows = !(await db.isEmpty('silver_patient_sources'));
  if (sourceRows)
    await db.run(`UPDATE silver_patient_sources s SET patient_id = f.patient_id FROM idr_final f
    WHERE s._run_id = ${run} AND s.source_system = f.source_system AND s.source_patient_id = f.source_patient_id
      AND s.patient_id IS DISTINCT FROM f.patient_id`);
  const movedKnown = await count(
    db,
    `SELECT COUNT(*) AS n FROM idr_final WHERE rid <= ${baseRid} AND patient_id IS DISTINCT FROM current_patient_id`,
  );
  if (movedKnown > 0) {
    await db.updateRows(
      'identity_records',
      'r',
      { patient_id: 'f.patient_id' },
      `f.rid = r.rid AND r.rid <= ${baseRid} AND r.patient_id IS DISTINCT FROM f.patient_id`,
      'idr_final f',
    );
    await db.updateRows(
      'silver_patient_sources',
      's',
      { patient_id: 'f.patient_id' },
      `s._run_id <> ${run} AND s.source_system = f.source_system AND s.source_patient_id = f.source_patient_id
        AND s.patient_id IS DISTINCT FROM f.patient_id`,
      'idr_final f',
    );
  }
  // Versions of known records not resolved again (nothing identity compares changed, or the anchor of
  // a patient with other records) keep their patient (an incremental update's source rows are written
  // before this step, without one): the match of step 1 holds it, and this step moved no such record.
  if (sourceRows)
    await db.run(
      fromScratch
        ? `UPDATE silver_patient_sources s SET patient_id = r.patient_id FROM identity_records r
    WHERE s.patient_id IS NULL AND r.source_system = s.source_system AND r.source_patient_id = s.source_patient_id`
        : `UPDATE silver_patient_sources s SET patient_id = m.patient_id FROM idr_match m
    WHERE s._run_id = ${run} AND s.patient_id IS NULL AND m.rid IS NOT NULL
      AND m.source_system = s.source_system AND m.source_patient_id = s.source_patient_id`,
    );
  // Every new patient has one anchor, the one record whose decision is new_patient (a changed record
  // that stays is kept, even without a link): one row per issued id, without a DISTINCT over 1M ids.
  await db.run(`INSERT INTO identity_patient_id_map
    SELECT patient_id, patient_id, ${at}, CAST(NULL AS TIMESTAMP), ${run} FROM idr_final
    WHERE decision = 'new_patient'`);
  await db.run(`INSERT INTO identity_audit
    SELECT ${at}, ${run}, 'split', f.current_patient_id, f.patient_id, f.source_system, f.source_patient_id, NULL,
      ${d.jsonObject([
        ['reason', "'new_evidence'"],
        ['moved_to', "CASE WHEN f.decision = 'new_patient' THEN 'new patient' ELSE 'existing patient' END"],
      ])}
    FROM idr_final f WHERE f.kind = 'changed' AND f.patient_id <> f.current_patient_id
      AND EXISTS (SELECT 1 FROM identity_records r WHERE r.patient_id = f.current_patient_id)`);
  // The facts of a record that left a patient who keeps other records follow the record.
  await db.materialize(
    'idr_moves',
    `SELECT f.source_system, f.source_patient_id, f.current_patient_id AS from_pid, f.patient_id AS to_pid
    FROM idr_final f WHERE f.kind = 'changed' AND f.patient_id <> f.current_patient_id
      AND EXISTS (SELECT 1 FROM identity_records r WHERE r.patient_id = f.current_patient_id)`,
  );
  if ((await count(db, 'SELECT COUNT(*) AS n FROM idr_moves')) > 0)
    await repointMovedFacts(
      db,
      'idr_moves',
      await existingFactTables(db),
      options.rewriter ?? inPlaceRewriter(db),
    );
  const moved = await count(
    db,
    `SELECT COUNT(*) AS n FROM idr_final WHERE kind = 'changed' AND patient_id <> current_patient_id`,
  );
  // A patient whose only record moved into another patient merges into it (the older id survives).
  const emptied = await db.all<{
    old: string;
    now: string;
  }>(`SELECT f.current_patient_id AS old, f.patient_id AS now
    FROM idr_final f WHERE f.kind = 'changed' AND f.patient_id <> f.current_patient_id
      AND NOT EXISTS (SELECT 1 FROM identity_records r WHERE r.patient_id = f.current_patient_id)
    ORDER BY f.rid`);
  for (const e of emptied) {
    const [keep, retire] = e.old < e.now ? [e.old, e.now] : [e.now, e.old];
    await mergePatients(
      db,
      keep,
      retire,
      at,
      options.runId,
      'new_evidence',
      null,
      undefined,
      options.rewriter,
    );
  }

  // 7. The review queue: band pairs between different patients, once per pair of source records.
  const reviewBase = await count(db, 'SELECT COUNT(*) AS n FROM identity_review_queue');
  // The band pairs first, then the few records they name (one narrow pass over identity_records).
  await db.materialize('idr_review_pairs', reviewCandidatesSql(pairRecords, { allNew: fromScratch }));
  await db.materialize(
    'idr_review_records',
    `SELECT r.rid, r.source_system, r.source_patient_id, r.patient_id FROM identity_records r
    WHERE r.rid IN (SELECT rid_l FROM idr_review_pairs UNION ALL SELECT rid_r FROM idr_review_pairs)`,
  );
  await db.materialize(
    'idr_review',
    `SELECT c.*, a.source_system AS ls, a.source_patient_id AS lid, b.source_system AS rs, b.source_patient_id AS rpid,
      a.patient_id AS lp, b.patient_id AS rp
    FROM idr_review_pairs c
    JOIN idr_review_records a ON a.rid = c.rid_l JOIN idr_review_records b ON b.rid = c.rid_r
    WHERE NOT EXISTS (SELECT 1 FROM identity_review_queue q
      WHERE q.left_system = a.source_system AND q.left_id = a.source_patient_id
        AND q.right_system = b.source_system AND q.right_id = b.source_patient_id)`,
  );
  await db.run(`INSERT INTO identity_review_queue
    SELECT 'R' || LPAD(CAST(${reviewBase} + ROW_NUMBER() OVER (ORDER BY v.prob DESC, v.ls, v.lid, v.rs, v.rpid) AS VARCHAR), 7, '0'),
      ${at}, ${run}, v.ls, v.lid, v.rs, v.rpid, v.lp, v.rp, v.prob, v.weight, ${evidenceLevelsSql(d, 's')},
      'pending', NULL, NULL
    FROM idr_review v JOIN idr_scored s ON s.rid_l = v.rid_l AND s.rid_r = v.rid_r`);
  const reviewQueued = await count(db, 'SELECT COUNT(*) AS n FROM idr_review');
  await phase('write');
  // The intermediate tables of the steps above hold far more than the rest of the run needs: their
  // memory goes back to the engine before the golden records are built.
  // From scratch the golden records below read the working records (idr_new) again.
  await db.dropTempTables('idr_', ['idr_final', 'idr_decided_patients', ...(fromScratch ? ['idr_new'] : [])]);

  // 8. Reviewers' decisions (idempotent): accepted pairs merge their patients, rejected pairs split.
  const decisions = await applyReviewDecisions(db, options.runId, at, options.rewriter);
  await phase('decisions');

  // 9. Golden records of the patients this run touched. From scratch that is every patient, and the
  // relation is read only where a reviewer's decision moved records (or by a small first load): a view,
  // not a write of 1M ids (0.17-0.24 s of a 1M-people first load).
  const touched = `SELECT patient_id FROM idr_final
    UNION SELECT current_patient_id FROM idr_final WHERE current_patient_id IS NOT NULL
    UNION SELECT patient_id FROM idr_decided_patients`;
  if (fromScratch) await db.defineView('identity_touched_patients', touched);
  else await db.materialize('identity_touched_patients', touched);
  // Replaced golden records go first (none from scratch: the table was emptied).
  if (!(await db.isEmpty('silver_enriched_identity_resolution')))
    await db.run(`DELETE FROM silver_enriched_identity_resolution
    WHERE patient_id IN (SELECT patient_id FROM identity_touched_patients)
       OR patient_id IN (SELECT issued_id FROM identity_patient_id_map WHERE retired_at IS NOT NULL)`);
  // Incremental: the records of the touched patients are gathered first (one pass over
  // identity_records), so the golden-record joins and windows work on those rows only. From scratch
  // every patient is touched: unless a reviewer's decision moved records, they are ranked on the final
  // assignments (patient, confidence) and their values read from the working records, by record id
  // (the tables written in this transaction are scanned by one thread, and the links joined on the two
  // source keys: 4.4-4.7 s of a 1M-people first load).
  const links = 'silver_resolved_identity_resolution';
  const patients = 'identity_touched_patients';
  // From scratch the records' values are the working records' (their source rows are written after
  // this step).
  let golden: GoldenSources = {
    records: 'identity_records',
    links,
    patients,
    ...(fromScratch ? { fields: 'idr_new' } : {}),
  };
  // The final assignments are every record's patient: nothing moved a record after them.
  const finalIsComplete = fromScratch && decisions.merged === 0 && decisions.split === 0;
  if (finalIsComplete)
    golden = {
      records: `(SELECT f.rid, f.patient_id, f.source_system, f.extracted_at,
        ${resolvedConfidenceSql('f')} AS confidence_score FROM idr_final f)`,
      fields: 'idr_new',
    };
  if (!fromScratch) {
    const goldenRecords = 'idr_golden_records';
    golden = { records: goldenRecords, links, patients };
    // Which records the touched patients hold now (a narrow pass), their fields from the scope of step
    // 2: only patient ids changed since. A record outside the scope (a reviewer's decision on other
    // patients) sends the step back to a wide pass.
    await db.materialize(
      'idr_golden_rids',
      `SELECT r.rid, r.patient_id FROM identity_records r
      WHERE r.patient_id IN (SELECT patient_id FROM identity_touched_patients)`,
    );
    const outside = await count(
      db,
      `SELECT COUNT(*) AS n FROM idr_golden_rids WHERE rid NOT IN (SELECT rid FROM ${scope})`,
    );
    await db.materialize(
      goldenRecords,
      outside > 0
        ? recordValuesSql(
            `SELECT r.* FROM identity_records r WHERE r.patient_id IN (SELECT patient_id FROM identity_touched_patients)`,
          )
        : `SELECT s.* REPLACE (g.patient_id AS patient_id) FROM ${scope} s JOIN idr_golden_rids g ON g.rid = s.rid`,
    );
    await db.dropTempTables(scope);
  }
  await db.run(`INSERT INTO silver_enriched_identity_resolution BY NAME
    SELECT g.*, ${d.string(mv)} AS model_version, ${run} AS run_id
    FROM (${goldenRecordSql(d, golden, at)}) g`);
  // The patient of every source record, for the caller's writes of this run's source rows: from
  // scratch (and unless a reviewer's decision moved records) the final assignments, a working
  // relation every thread scans, hold them all; identity_records, written in this transaction, is
  // scanned by one thread.
  // With the source rows' position the view has it too: from scratch the final assignments carry it
  // when every source row is its record's latest version; otherwise (a record delivered twice has a
  // position per row) the run's source rows are joined to their records on the source keys.
  let recordPatients = `SELECT source_system, source_patient_id, patient_id FROM ${finalIsComplete ? 'idr_final' : 'identity_records'}`;
  if (pos !== undefined)
    recordPatients =
      finalIsComplete && repeated === 0
        ? `SELECT source_system, source_patient_id, patient_id, ${pos} FROM idr_final`
        : `SELECT r.*, s.${pos} FROM (${recordPatients}) r JOIN ${sources} s
          ON s.source_system = r.source_system AND s.source_patient_id = r.source_patient_id WHERE ${filter}`;
  await db.defineView(RECORD_PATIENTS, recordPatients);
  await phase('golden');

  const work = await db.one<{
    n: number;
    linked: number;
    changed: number;
  }>(`SELECT COUNT(*) FILTER (WHERE kind = 'new') AS n,
      COUNT(*) FILTER (WHERE kind = 'new' AND decision IN ('probabilistic', 'deterministic')) AS linked,
      COUNT(*) FILTER (WHERE kind = 'changed') AS changed FROM idr_final`);
  const statsBase = {
    newRecords: work?.n ?? 0,
    changedRecords: work?.changed ?? 0,
    linkedToExisting: work?.linked ?? 0,
    newPatients,
    moved,
    split: decisions.split + moved - emptied.length,
    merged: decisions.merged + emptied.length,
    candidatePairs,
    reviewQueued,
    modelVersion: mv,
    trained,
  };
  const alerts = await recordRunMetrics(db, options.runId, at, mv, { ...statsBase, phases });
  await phase('monitoring');
  const cpu = process.cpuUsage(cpuStart);
  return {
    ...statsBase,
    seconds: (Date.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    phases,
    alerts,
  };
}

/** Empties the identity state derived from the source records (a from-scratch resolution follows). */
export async function resetIdentityState(db: Database): Promise<void> {
  for (const t of [...IDENTITY_STATE_TABLES, 'silver_resolved_identity_resolution'])
    await db.run(`DELETE FROM ${t}`);
  await db.run(`UPDATE silver_patient_sources SET patient_id = NULL`);
}
