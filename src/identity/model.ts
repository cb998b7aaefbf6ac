import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { COMPARISONS, comparisonVectorsSql, gammaColumn } from '../definitions/identity/comparisons.ts';
import {
  levelCountsSql,
  patternCountsSql,
  PRIOR,
  termFrequenciesSql,
} from '../definitions/identity/scoring.ts';
import type { Database } from '../engine/database.ts';
import {
  DEFAULT_MODEL_VERSION_SUFFIX,
  defaultModelParametersSql,
  M_FLOOR,
  type ModelParameterRow,
  type TermFrequencyRow,
} from '../definitions/identity/default-model.ts';
import type { IdentityModelData } from '../definitions/identity/step.ts';

/**
 * Unsupervised training of the Fellegi–Sunter model: u from random record pairs, m and the prior λ
 * by expectation–maximisation over the comparison-pattern counts of the candidate pairs. The counts
 * are aggregated in SQL; EM runs here on the small count table. Parameters go to
 * `identity_model_parameters` under a new model version, term frequencies to `identity_term_frequencies`.
 */

export interface PatternCount {
  readonly levels: readonly number[];
  readonly n: number;
}

export interface EmResult {
  /** m[c][level] for level 1…K (index 0 unused, the missing level). */
  readonly m: number[][];
  /** The non-match distribution among the candidate pairs (not used for scoring: u comes from random pairs). */
  readonly uCandidates: number[][];
  /** The match share among the candidate pairs. */
  readonly lambda: number;
  readonly iterations: number;
}

const levelsOf = (c: number): number => (COMPARISONS[c]?.levels.length ?? 0) + 1;

/** Initial m: most mass on the first (agreeing) level, little on "else". */
function initialM(): number[][] {
  return COMPARISONS.map((c) => {
    const k = c.levels.length;
    const m = new Array<number>(k + 1).fill(0);
    if (k === 1) {
      m[1] = 1;
      return m;
    }
    m[1] = 0.7;
    for (let i = 2; i < k; i++) m[i] = 0.25 / Math.max(1, k - 2);
    m[k] = 0.05;
    return m;
  });
}

/**
 * EM over the candidate pairs' pattern counts: a two-class mixture (match m, non-match u) with
 * conditional independence; u starts from the random-pair estimate and is re-estimated too, since
 * non-matching candidate pairs agree on their blocking keys far more often than random pairs do.
 * Patterns with level 0 (missing) contribute nothing for that comparison.
 */
export function expectationMaximisation(
  patterns: readonly PatternCount[],
  uRandom: readonly (readonly number[])[],
  maxIterations = 100,
  tolerance = 1e-7,
): EmResult {
  let m = initialM();
  let u = uRandom.map((row) => [...row]);
  let lambda = 0.5;
  let iterations = 0;
  const normalise = (rows: number[][]): number[][] =>
    rows.map((row) => {
      const sum = row.reduce((a, b) => a + b, 0);
      return row.map((v, i) => (i === 0 ? 0 : Math.max(1e-6, sum > 0 ? v / sum : 1 / (row.length - 1))));
    });
  for (; iterations < maxIterations; iterations++) {
    const mNum = COMPARISONS.map((_, c) => new Array<number>(levelsOf(c)).fill(0));
    const uNum = COMPARISONS.map((_, c) => new Array<number>(levelsOf(c)).fill(0));
    let matchTotal = 0;
    let total = 0;
    for (const p of patterns) {
      let pm = lambda;
      let pu = 1 - lambda;
      p.levels.forEach((lv, c) => {
        if (lv === 0) return;
        pm *= m[c]?.[lv] ?? 1e-9;
        pu *= u[c]?.[lv] ?? 1e-9;
      });
      const w = pm / (pm + pu || 1);
      matchTotal += w * p.n;
      total += p.n;
      p.levels.forEach((lv, c) => {
        const row = mNum[c];
        const urow = uNum[c];
        if (lv !== 0 && row && urow) {
          row[lv] = (row[lv] ?? 0) + w * p.n;
          urow[lv] = (urow[lv] ?? 0) + (1 - w) * p.n;
        }
      });
    }
    const next = normalise(mNum);
    u = normalise(uNum);
    const nextLambda = total > 0 ? Math.min(0.9999, Math.max(1e-6, matchTotal / total)) : lambda;
    let change = Math.abs(nextLambda - lambda);
    next.forEach((row, c) =>
      row.forEach((v, i) => (change = Math.max(change, Math.abs(v - (m[c]?.[i] ?? 0))))),
    );
    m = next;
    lambda = nextLambda;
    if (change < tolerance) {
      iterations++;
      break;
    }
  }
  return { m, uCandidates: u, lambda, iterations };
}

/** u per comparison and level from level counts of random pairs (add-one smoothing). */
export function uFromCounts(counts: readonly { comparison: string; level: number; n: number }[]): number[][] {
  return COMPARISONS.map((c) => {
    const k = c.levels.length;
    const row = new Array<number>(k + 1).fill(0);
    let total = 0;
    for (const r of counts) {
      if (r.comparison === c.name && r.level > 0) {
        row[r.level] = r.n;
        total += r.n;
      }
    }
    return row.map((v, i) => (i === 0 ? 0 : (v + 1) / (total + k)));
  });
}

export interface TrainResult {
  readonly modelVersion: string;
  readonly lambda: number;
  readonly iterations: number;
  readonly randomPairs: number;
  readonly candidatePairs: number;
}

/** Records sampled for the u estimate (each pairs with the next two in a random order). */
const U_SAMPLE = 150_000;

/**
 * Trains a new model version from `records` (identity records) and the comparison vectors of the
 * candidate pairs `vectors`; writes its parameters and term frequencies; returns the version.
 */
export async function trainModel(
  db: Database,
  records: string,
  vectors: string,
  runId: string,
  trainedAtSql: string,
  modelName: string,
): Promise<TrainResult> {
  await db.materialize(
    'idr_sample',
    `SELECT rid, ROW_NUMBER() OVER (ORDER BY ${d.stableHash('rid * 7919 + 17')}, rid) AS rn
    FROM ${records} ORDER BY ${d.stableHash('rid * 7919 + 17')}, rid LIMIT ${U_SAMPLE}`,
  );
  await db.materialize(
    'idr_random_pairs',
    `SELECT a.rid AS rid_l, b.rid AS rid_r FROM idr_sample a JOIN idr_sample b ON b.rn = a.rn + 1
    UNION ALL
    SELECT a.rid, b.rid FROM idr_sample a JOIN idr_sample b ON b.rn = a.rn + 2`,
  );
  // The sampled records first (one pass over the records), so the comparisons join the random pairs
  // with 150,000 records instead of building both joins on every record (a first load's bulk mode keeps
  // the written join order: 1.7 s of a 1M-people first load).
  await db.materialize(
    'idr_sample_records',
    `SELECT r.* FROM ${records} r WHERE r.rid IN (SELECT rid FROM idr_sample)`,
  );
  await db.materialize(
    'idr_random_vectors',
    comparisonVectorsSql(d, 'idr_random_pairs', 'idr_sample_records'),
  );
  const u = uFromCounts(
    await db.all<{ comparison: string; level: number; n: number }>(levelCountsSql('idr_random_vectors')),
  );
  const randomPairs = (await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM idr_random_vectors'))?.n ?? 0;
  const rows = await db.all<Record<string, number>>(patternCountsSql(vectors));
  const patterns = rows.map((r) => ({
    levels: COMPARISONS.map((c) => Number(r[gammaColumn(c)] ?? 0)),
    n: Number(r['n'] ?? 0),
  }));
  const candidatePairs = patterns.reduce((s, p) => s + p.n, 0);
  const em = expectationMaximisation(patterns, u);

  // The prior over all record pairs: the expected matches among the candidates over all pairs.
  const n = (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${records}`))?.n ?? 0;
  const allPairs = Math.max(1, (n * (n - 1)) / 2);
  const lambdaAll = Math.min(0.5, Math.max(1e-12, (em.lambda * candidatePairs) / allPairs));
  const versions = await db.one<{ n: number }>(
    `SELECT COUNT(DISTINCT model_version) AS n FROM identity_model_parameters`,
  );
  const modelVersion = `${modelName}.${(versions?.n ?? 0) + 1}`;
  const values: string[] = [];
  const lit = (x: number): string => (Number.isFinite(x) ? x.toPrecision(12) : '0');
  values.push(
    `('${modelVersion}', '${PRIOR}', 0, 'prior', ${lit(lambdaAll)}, ${lit(1 - lambdaAll)}, ${lit(Math.log2(lambdaAll / (1 - lambdaAll)))})`,
  );
  COMPARISONS.forEach((c, ci) => {
    values.push(`('${modelVersion}', '${c.name}', 0, 'missing', 1, 1, 0)`);
    c.levels.forEach((lv, li) => {
      const m = Math.max(M_FLOOR, em.m[ci]?.[li + 1] ?? M_FLOOR);
      const uu = u[ci]?.[li + 1] ?? 1e-6;
      values.push(
        `('${modelVersion}', '${c.name}', ${li + 1}, '${lv.name}', ${lit(m)}, ${lit(uu)}, ${lit(Math.log2(m / uu))})`,
      );
    });
  });
  await db.run(`INSERT INTO identity_model_parameters
    SELECT v.*, ${trainedAtSql}, '${runId.replaceAll("'", "''")}', ${em.iterations}, ${candidatePairs}, ${randomPairs}, ${n}
    FROM (VALUES ${values.join(', ')}) v(model_version, comparison, level, level_name, m, u, weight)`);
  await db.run(`INSERT INTO identity_term_frequencies ${termFrequenciesSql(d, records, modelVersion)}`);
  return { modelVersion, lambda: lambdaAll, iterations: em.iterations, randomPairs, candidatePairs };
}

/** The latest trained model version (not the default), if any. */
export async function currentModelVersion(db: Database, modelName: string): Promise<string | undefined> {
  const row = await db.one<{ model_version: string }>(
    `SELECT model_version FROM identity_model_parameters WHERE model_version <> '${modelName}.${DEFAULT_MODEL_VERSION_SUFFIX}'
     ORDER BY trained_at DESC, LENGTH(model_version) DESC, model_version DESC LIMIT 1`,
  );
  return row?.model_version;
}

/**
 * Writes the default parameters (version `<model>.0`) with the prior for `records` records; returns
 * the version. Used until the lakehouse holds enough records to train.
 */
export async function writeDefaultModel(
  db: Database,
  records: number,
  runId: string,
  atSql: string,
  modelName: string,
): Promise<string> {
  const version = `${modelName}.${DEFAULT_MODEL_VERSION_SUFFIX}`;
  await db.run(`DELETE FROM identity_model_parameters WHERE model_version = '${version}'`);
  await db.run(`INSERT INTO identity_model_parameters
    SELECT v.*, ${atSql}, '${runId.replaceAll("'", "''")}', 0, 0, 0, ${records}
    FROM (${defaultModelParametersSql(d, version, String(records))}) v`);
  return version;
}

/**
 * The lakehouse's current trained model as plain data (parameters and term frequencies), for the
 * bundle renderer; undefined when only the default model exists (too few records were ever trained on).
 */
export async function readTrainedModel(
  db: Database,
  modelName: string,
): Promise<IdentityModelData | undefined> {
  const version = await currentModelVersion(db, modelName);
  if (version === undefined) return undefined;
  const v = `'${version.replaceAll("'", "''")}'`;
  const parameters = await db.all<ModelParameterRow>(
    `SELECT comparison, CAST(level AS INTEGER) AS level, level_name, m, u, weight FROM identity_model_parameters
     WHERE model_version = ${v} ORDER BY comparison, level`,
  );
  const termFrequencies = await db.all<TermFrequencyRow>(
    `SELECT column_name, value, tf FROM identity_term_frequencies WHERE model_version = ${v}
     ORDER BY column_name, value`,
  );
  return { version, parameters, termFrequencies };
}
