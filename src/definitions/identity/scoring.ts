import type { Dialect } from '../../dialect/dialect.ts';
import { COMPARISONS, gammaColumn, levelIndex } from './comparisons.ts';

/**
 * Scoring of candidate pairs: the Fellegi–Sunter match weight log2(λ/(1−λ)) + Σ log2(m/u), read from
 * the parameter table `identity_model_parameters` (one row per model version, comparison and level;
 * the prior is comparison `_prior`), with term-frequency adjustment of exact name agreement from
 * `identity_term_frequencies`. Both tables are plain data, so the same SQL scores on another engine.
 */
export const PRIOR = '_prior';

/** Decision thresholds on the match probability. */
export const THRESHOLDS = {
  /** At or above: linked automatically (when no hard identifier conflicts). */
  autoLink: 0.95,
  /** From here up to the auto-link threshold (or a blocked strong pair): the review queue. */
  review: 0.6,
  /** The smallest u a term frequency may lower an exact name's u to, as a share of the level's u. */
  tfFloorShare: 1 / 16,
} as const;

const lv = levelIndex;

/**
 * Deterministic evidence that short-circuits scoring: the same SSN hash, a compatible birth date
 * (equal, day/month swapped or one digit apart) and a compatible name.
 */
export function shortCircuitSql(v = 'v'): string {
  return `(${v}.g_ssn = ${lv('ssn', 'exact')}
    AND ${v}.g_birth_date IN (${lv('birth_date', 'exact')}, ${lv('birth_date', 'day_month_swap')}, ${lv('birth_date', 'one_digit')})
    AND (${v}.g_first_name IN (${lv('first_name', 'exact')}, ${lv('first_name', 'nickname')}, ${lv('first_name', 'edit_1')})
         OR ${v}.g_last_name IN (${lv('last_name', 'exact')}, ${lv('last_name', 'edit_1')})))`;
}

/**
 * Hard identifier conflicts that forbid an automatic link whatever the weight (the pair may still be
 * reviewed): a different first name, or a birth date more than a year apart, unless a personal
 * identifier agrees exactly (SSN, MRN, member id or e-mail). This keeps twins (same surname, birth
 * date, address, phone; own SSN, MRN, member id and e-mail) and Jr./Sr. pairs apart.
 */
export function hardConflictSql(v = 'v'): string {
  return `((${v}.g_first_name = ${lv('first_name', 'else')} OR ${v}.g_birth_date = ${lv('birth_date', 'else')})
    AND ${v}.g_ssn <> ${lv('ssn', 'exact')} AND ${v}.g_mrn <> ${lv('mrn', 'exact')}
    AND ${v}.g_member_id <> ${lv('member_id', 'exact')} AND ${v}.g_email <> ${lv('email', 'exact')})`;
}

/** One row of `identity_model_parameters` (of one model version). */
export interface ModelParameter {
  readonly comparison: string;
  readonly level: number;
  readonly m: number | null;
  readonly u: number | null;
  readonly weight: number | null;
}

/** A parameter as an SQL literal that reads back as the very same double (NULL stays NULL). */
const double = (x: number | null): string =>
  x === null ? 'CAST(NULL AS DOUBLE)' : `CAST('${String(x)}' AS DOUBLE)`;

/**
 * The match weight of one comparison: from its parameter row `p_<name>` (and term frequency), or,
 * with `params`, from those values written into the statement.
 */
function comparisonWeightSql(c: (typeof COMPARISONS)[number], params?: readonly ModelParameter[]): string {
  const p = `p_${c.name}`;
  const rows = params?.filter((r) => r.comparison === c.name);
  const base = rows
    ? `CASE v.${gammaColumn(c)} ${rows.map((r) => `WHEN ${r.level} THEN ${double(r.weight ?? 0)}`).join(' ')} ELSE 0 END`
    : `COALESCE(${p}.weight, 0)`;
  const tfLevel = c.levels.findIndex((l) => l.termFrequency !== undefined);
  if (tfLevel < 0) return base;
  const tf = `tf_${c.name}`;
  // Without the level's row, m and u are NULL as a join that finds no row gives them.
  const tfRow = rows?.find((r) => r.level === tfLevel + 1);
  const missing = 'CAST(NULL AS DOUBLE)';
  const [m, u] = rows
    ? [tfRow ? double(tfRow.m) : missing, tfRow ? double(tfRow.u) : missing]
    : [`${p}.m`, `${p}.u`];
  return `CASE WHEN v.${gammaColumn(c)} = ${tfLevel + 1} AND ${tf}.tf IS NOT NULL
    THEN log2(${m} / GREATEST(${tf}.tf, ${u} * ${THRESHOLDS.tfFloorShare})) ELSE ${base} END`;
}

/**
 * Scores comparison vectors `vectors` (from comparisonVectorsSql) under model `modelVersion`: adds
 * match_weight, match_probability, short_circuit and hard_conflict. The parameters are read from
 * `identity_model_parameters`, or, given as `parameters` (that version's rows), written into the
 * statement: the same weights without a join per comparison (a third of the scoring of a first load).
 */
export function scoreSql(
  d: Dialect,
  vectors: string,
  modelVersion: string,
  options: { readonly parameters?: readonly ModelParameter[] } = {},
): string {
  const mv = d.string(modelVersion);
  const params = options.parameters;
  const joins = COMPARISONS.map((c) => {
    const tfLevel = c.levels.find((l) => l.termFrequency !== undefined);
    const tfJoin = tfLevel?.termFrequency
      ? `\n  LEFT JOIN identity_term_frequencies tf_${c.name} ON tf_${c.name}.model_version = ${mv}
       AND tf_${c.name}.column_name = ${d.string(tfLevel.termFrequency)} AND tf_${c.name}.value = v.tf_${tfLevel.termFrequency}`
      : '';
    if (params) return tfJoin.trimStart();
    return `LEFT JOIN identity_model_parameters p_${c.name} ON p_${c.name}.model_version = ${mv}
       AND p_${c.name}.comparison = ${d.string(c.name)} AND p_${c.name}.level = v.${gammaColumn(c)}${tfJoin}`;
  })
    .filter((j) => j !== '')
    .join('\n  ');
  const prior = params?.find((r) => r.comparison === PRIOR && r.level === 0);
  const weight = [
    prior ? double(prior.weight) : 'pr.weight',
    ...COMPARISONS.map((c) => comparisonWeightSql(c, params)),
  ].join('\n    + ');
  const priorJoin = prior
    ? ''
    : `JOIN identity_model_parameters pr ON pr.model_version = ${mv} AND pr.comparison = '${PRIOR}' AND pr.level = 0`;
  return `SELECT s.*, 1.0 / (1.0 + power(2.0, -s.match_weight)) AS match_probability,
    ${shortCircuitSql('s')} AS short_circuit, ${hardConflictSql('s')} AS hard_conflict
  FROM (
    SELECT v.*, ${weight} AS match_weight
    FROM ${vectors} v
    ${priorJoin}
    ${joins}) s`;
}

/**
 * The evidence of a scored pair as a JSON object: the level name of each comparison. With `nested`,
 * a value to nest inside another `jsonObject`.
 */
export function evidenceLevelsSql(d: Dialect, v = 's', options: { nested?: boolean } = {}): string {
  return (options.nested ? d.jsonObjectValue : d.jsonObject)(
    COMPARISONS.map((c) => [
      c.name,
      `CASE ${v}.${gammaColumn(c)} WHEN 0 THEN 'missing' ${c.levels
        .map((l, i) => `WHEN ${i + 1} THEN ${d.string(l.name)}`)
        .join(' ')} END`,
    ]),
  );
}

/** Per-comparison level counts of `vectors` (the u estimate from random pairs reads these). */
export function levelCountsSql(vectors: string): string {
  return COMPARISONS.map(
    (c) =>
      `SELECT '${c.name}' AS comparison, ${gammaColumn(c)} AS level, COUNT(*) AS n FROM ${vectors} GROUP BY ${gammaColumn(c)}`,
  ).join('\nUNION ALL\n');
}

/** Counts of each comparison pattern of `vectors` (the EM input: small, whatever the pair count). */
export function patternCountsSql(vectors: string): string {
  const g = COMPARISONS.map(gammaColumn).join(', ');
  return `SELECT ${g}, COUNT(*) AS n FROM ${vectors} GROUP BY ${g}`;
}

/** Term frequencies of the names over all records (share of records carrying each value). */
export function termFrequenciesSql(d: Dialect, records: string, modelVersion: string): string {
  return ['fn', 'ln']
    .map(
      (c) => `SELECT ${d.string(modelVersion)} AS model_version, '${c}' AS column_name, ${c} AS value,
      COUNT(*) * 1.0 / (SELECT COUNT(*) FROM ${records} WHERE ${c} IS NOT NULL) AS tf
    FROM ${records} WHERE ${c} IS NOT NULL GROUP BY ${c}`,
    )
    .join('\nUNION ALL\n');
}
