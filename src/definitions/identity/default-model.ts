import type { Dialect } from '../../dialect/dialect.ts';
import { COMPARISONS } from './comparisons.ts';
import { PRIOR } from './scoring.ts';

/**
 * The default parameters of model `fs-v1` (version `fs-v1.0`), used while a lakehouse holds too few
 * records to train its own (EM needs a few thousand candidate pairs). They are the parameters trained
 * on generated data of 20,000 people (seed 1), rounded: per comparison, [m, u] for levels 1…n in the
 * order of COMPARISONS. The prior follows the record count (about 1.2 true pairs per record).
 */
export const DEFAULT_MODEL_VERSION_SUFFIX = '0';

export const DEFAULT_PARAMETERS: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  first_name: [
    [0.737, 0.0066],
    [0.179, 0.00486],
    [0.0515, 0.00169],
    [0.0162, 0.00642],
    [0.016, 0.98],
  ],
  last_name: [
    [0.928, 0.0131],
    [0.0575, 0.00117],
    [0.013, 0.00201],
    [0.00137, 0.984],
  ],
  birth_date: [
    [0.982, 0.0000696],
    [0.0173, 0.0000116],
    [0.001, 0.00146],
    [0.001, 0.0368],
    [0.001, 0.962],
  ],
  ssn: [
    [0.999, 0.0000377],
    [0.001, 1],
  ],
  mrn: [
    [0.999, 0.0000263],
    [0.001, 1],
  ],
  member_id: [
    [0.999, 0.0000189],
    [0.001, 1],
  ],
  address: [
    [0.86, 0.0000116],
    [0.001, 0.0000116],
    [0.00129, 0.00687],
    [0.138, 0.993],
  ],
  phone: [
    [0.935, 0.0000253],
    [0.0647, 1],
  ],
  email: [
    [0.999, 0.000024],
    [0.001, 1],
  ],
  sex: [
    [0.999, 0.502],
    [0.001, 0.498],
  ],
};

/** True record pairs per record assumed by the default prior. */
export const DEFAULT_MATCHES_PER_RECORD = 1.2;

/** Fewer records than this: the default parameters instead of training. */
export const MIN_TRAINING_RECORDS = 5000;

/** The smallest m of any level after EM (no single disagreement may act as a veto). */
export const M_FLOOR = 0.001;

/** One row of `identity_model_parameters` as data (level 0 of `_prior` holds the prior λ, 1 − λ). */
export type ModelParameterRow = {
  readonly comparison: string;
  readonly level: number;
  readonly level_name: string;
  readonly m: number;
  readonly u: number;
  readonly weight: number;
};

/** One row of `identity_term_frequencies` as data. */
export type TermFrequencyRow = {
  readonly column_name: string;
  readonly value: string;
  readonly tf: number;
};

/**
 * A DOUBLE literal both DuckDB and Spark read as DOUBLE (an exponent; a plain 0.5 is DECIMAL in
 * Spark), with every digit needed to read back the same double (a trained model renders exactly).
 */
export const doubleLiteral = (x: number): string => x.toExponential();

/** The default parameter rows of every comparison level (missing levels weigh 0), without the prior. */
export function defaultParameterRows(): ModelParameterRow[] {
  const rows: ModelParameterRow[] = [];
  for (const c of COMPARISONS) {
    rows.push({ comparison: c.name, level: 0, level_name: 'missing', m: 1, u: 1, weight: 0 });
    const params = DEFAULT_PARAMETERS[c.name] ?? [];
    c.levels.forEach((lv, i) => {
      const [m, u] = params[i] ?? [M_FLOOR, 1];
      rows.push({ comparison: c.name, level: i + 1, level_name: lv.name, m, u, weight: Math.log2(m / u) });
    });
  }
  return rows;
}

/**
 * Parameter rows as an SQL relation (model_version, comparison, level, level_name, m, u, weight), for
 * a table the pipeline reads (the engine writes the same rows; the bundle renders them).
 */
export function parameterRowsSql(d: Dialect, version: string, rows: readonly ModelParameterRow[]): string {
  const values = rows.map(
    (r) =>
      `(${d.string(r.comparison)}, ${r.level}, ${d.string(r.level_name)}, ${doubleLiteral(r.m)}, ${doubleLiteral(r.u)}, ${doubleLiteral(r.weight)})`,
  );
  return `SELECT ${d.string(version)} AS model_version, comparison, level, level_name, m, u, weight
  FROM (VALUES ${values.join(',\n    ')}) v(comparison, level, level_name, m, u, weight)`;
}

/**
 * The default model `fs-v1.0` as an SQL relation: the default parameters, and the prior from the
 * record count `recordsSql` (an SQL expression): λ = min(0.5, 2 × matches per record / (records − 1)).
 */
export function defaultModelParametersSql(d: Dialect, version: string, recordsSql: string): string {
  return `${parameterRowsSql(d, version, defaultParameterRows())}
  UNION ALL
  SELECT ${d.string(version)}, ${d.string(PRIOR)}, 0, 'prior', prior_share, 1 - prior_share, log2(prior_share / (1 - prior_share))
  FROM (SELECT LEAST(${doubleLiteral(0.5)}, ${doubleLiteral(2 * DEFAULT_MATCHES_PER_RECORD)} / GREATEST(2, n - 1)) AS prior_share
        FROM (SELECT ${recordsSql} AS n) c) p`;
}

/** Term-frequency rows as an SQL relation (model_version, column_name, value, tf); empty if none. */
export function termFrequencyRowsSql(d: Dialect, version: string, rows: readonly TermFrequencyRow[]): string {
  if (rows.length === 0)
    return `SELECT CAST(NULL AS STRING) AS model_version, CAST(NULL AS STRING) AS column_name,
    CAST(NULL AS STRING) AS value, CAST(NULL AS DOUBLE) AS tf WHERE FALSE`;
  return `SELECT ${d.string(version)} AS model_version, column_name, value, tf
  FROM (VALUES ${rows.map((r) => `(${d.string(r.column_name)}, ${d.string(r.value)}, ${doubleLiteral(r.tf)})`).join(',\n    ')}) v(column_name, value, tf)`;
}
