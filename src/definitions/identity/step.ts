import type { IdentityRelation, IdentityStep } from '../identity-step.ts';
import { IDENTITY_RELATION } from '../identity-step.ts';
import { blockingKeysSql, candidatePairsSql } from './blocking.ts';
import {
  edgesSql,
  finalAssignmentsSql,
  resolvedIdentityRowsSql,
  stageCandidatesSql,
  stageJoinSql,
  stageNewPatientsSql,
} from './clustering.ts';
import { comparisonVectorsSql, IDENTITY_MODEL_NAME } from './comparisons.ts';
import {
  DEFAULT_MODEL_VERSION_SUFFIX,
  defaultModelParametersSql,
  parameterRowsSql,
  termFrequencyRowsSql,
  type ModelParameterRow,
  type TermFrequencyRow,
} from './default-model.ts';
import { goldenRecordSql, IDENTITY_FIELDS, identityRecordsSql } from './records.ts';
import { scoreSql } from './scoring.ts';

/** A trained model as plain data (read from a lakehouse by the CLI; the renderer never reads one). */
export interface IdentityModelData {
  readonly version: string;
  readonly parameters: readonly ModelParameterRow[];
  readonly termFrequencies: readonly TermFrequencyRow[];
}

/** The three clustering stages (sys_rank of EHR, ADT, LAB). */
const STAGES = [0, 1, 2] as const;

/** The golden record relation (one row per resolved patient). */
export const GOLDEN_RELATION = 'silver_enriched_identity_resolution';

/**
 * `fs-v1` as an `IdentityStep`: a resolution from scratch over every accepted source record, as a
 * sequence of relations built from the same definitions the DuckDB engine interprets
 * (src/identity/resolve.ts): records → blocking keys → candidate pairs → comparison vectors → scoring
 * (joins on the model parameter and term-frequency tables) → star clustering in three stages
 * (EHR, ADT, LAB) → resolved mapping with confidence and evidence → golden record. Reads
 * `silver_patient_sources` and the reference table `identity_nickname_pairs`.
 *
 * Without `model` the parameters are the default model `fs-v1.0` (its prior from the record count,
 * as the engine writes it below 5,000 records); with one, its rows (a model trained by the engine).
 * Patient ids are numbered as the engine numbers them on a first run. Unlike the engine, nothing is
 * incremental: each refresh resolves every record again, so there are no review decisions, moves or
 * splits (see the README's Databricks section).
 *
 * Each stage's assignments are persisted: a stage reads the previous one several times, so as views
 * the plan would grow geometrically with the stages (Spark ran out of memory planning it).
 */
export function fsIdentityStep(model?: IdentityModelData): IdentityStep {
  const version = model?.version ?? `${IDENTITY_MODEL_NAME}.${DEFAULT_MODEL_VERSION_SUFFIX}`;
  return {
    version: IDENTITY_MODEL_NAME,
    description: `Probabilistic Fellegi–Sunter matching (model ${version}) with best-anchor clustering by source system, recomputed from all records.`,
    relations: (d, { resolvedAt }) => {
      const view = (name: string, sql: string): IdentityRelation => ({ name, sql, persisted: false });
      const table = (name: string, sql: string): IdentityRelation => ({ name, sql, persisted: true });
      const noRows = (columns: string): string => `SELECT ${columns} WHERE FALSE`;
      const stages: IdentityRelation[] = [];
      let prev = 'idr_assign_none';
      for (const s of STAGES) {
        const candidates = `idr_candidates_${s}`;
        const linked = `idr_linked_${s}`;
        const assign = `idr_assign_${s}`;
        // New patients are numbered after those of the earlier stages (their rows have no via_rid).
        const base = `(SELECT COUNT(*) FROM ${prev} WHERE via_rid IS NULL)`;
        stages.push(
          view(candidates, stageCandidatesSql(s, 'identity_records', prev)),
          view(linked, `SELECT * FROM ${prev}\nUNION ALL\nSELECT * FROM (${stageJoinSql(candidates)}) j`),
          table(
            assign,
            `SELECT * FROM ${linked}\nUNION ALL\nSELECT * FROM (${stageNewPatientsSql(d, s, base, linked)}) n`,
          ),
        );
        prev = assign;
      }
      const records = 'identity_records';
      return [
        table(
          records,
          `SELECT ROW_NUMBER() OVER (ORDER BY n.sys_rank, n.extracted_at, n.source_system, n.source_patient_id) AS rid,
  n.source_system, n.source_patient_id, n.sys_rank, ${IDENTITY_FIELDS.map((f) => `n.${f}`).join(', ')},
  n.extracted_at, CAST(NULL AS STRING) AS patient_id
FROM (${identityRecordsSql(d, 'silver_patient_sources', 'TRUE')}) n`,
        ),
        table(
          'identity_model_parameters',
          model
            ? parameterRowsSql(d, version, model.parameters)
            : defaultModelParametersSql(d, version, '(SELECT COUNT(*) FROM identity_records)'),
        ),
        table('identity_term_frequencies', termFrequencyRowsSql(d, version, model?.termFrequencies ?? [])),
        view(
          'idr_work',
          `SELECT rid, 'new' AS kind, CAST(NULL AS STRING) AS current_patient_id, sys_rank, source_system,
  source_patient_id, extracted_at
FROM ${records}`,
        ),
        view(
          'idr_members',
          noRows(
            'CAST(NULL AS STRING) AS pid, CAST(NULL AS BIGINT) AS rid, CAST(NULL AS INT) AS sys_rank, CAST(NULL AS STRING) AS source_system',
          ),
        ),
        view('idr_rejected', noRows('CAST(NULL AS BIGINT) AS rid_a, CAST(NULL AS BIGINT) AS rid_b')),
        view('idr_blocking_keys', blockingKeysSql(d, records)),
        view('idr_pairs', candidatePairsSql('idr_blocking_keys', 'idr_blocking_keys', { selfJoin: true })),
        view('idr_vectors', comparisonVectorsSql(d, 'idr_pairs', records, ['rule'])),
        table('identity_scored_pairs', scoreSql(d, 'idr_vectors', version)),
        view('idr_edges', edgesSql('identity_scored_pairs')),
        view(
          'idr_assign_none',
          noRows(
            'CAST(NULL AS BIGINT) AS rid, CAST(NULL AS STRING) AS patient_id, CAST(NULL AS BIGINT) AS via_rid, CAST(NULL AS DOUBLE) AS probability, CAST(NULL AS DOUBLE) AS weight, CAST(NULL AS INT) AS deterministic',
          ),
        ),
        ...stages,
        view('idr_final', finalAssignmentsSql(d, { assign: prev, records, scored: 'identity_scored_pairs' })),
        table(IDENTITY_RELATION, resolvedIdentityRowsSql(d, 'idr_final', resolvedAt, d.string(version))),
        view(
          'idr_resolved_records',
          `SELECT r.rid, r.source_system, r.source_patient_id, r.sys_rank, ${IDENTITY_FIELDS.map((f) => `r.${f}`).join(', ')},
  r.extracted_at, f.patient_id
FROM ${records} r JOIN idr_final f ON f.rid = r.rid`,
        ),
        view('idr_resolved_patients', `SELECT DISTINCT patient_id FROM ${IDENTITY_RELATION}`),
        table(
          GOLDEN_RELATION,
          `SELECT g.*, ${d.string(version)} AS model_version
FROM (${goldenRecordSql(d, { records: 'idr_resolved_records', links: IDENTITY_RELATION, patients: 'idr_resolved_patients' }, resolvedAt)}) g`,
        ),
      ];
    },
  };
}
