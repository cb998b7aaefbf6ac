import type { Dialect } from '../../dialect/dialect.ts';
import { passThrough } from '../sql-helpers.ts';

/**
 * The Fellegi–Sunter comparisons of patient identity resolution (model `fs-v1`), as data: each
 * comparison has ordered levels; a pair's level is the first whose condition holds (level 0 = a value
 * is missing, weight 0; the last level is "else"). Every condition is a function of a Dialect over the
 * two record aliases, using only functions both DuckDB and Spark SQL have (levenshtein, year, month…).
 * Nicknames come from a join on `identity_nickname_pairs` (alias `nk`): two first names match as
 * nicknames when one is a listed nickname of the other or both are nicknames of the same name.
 */
export const IDENTITY_MODEL_NAME = 'fs-v1';

export type Side = 'l' | 'r';

export interface ComparisonLevel {
  readonly name: string;
  /** The condition (given that neither value is missing), or undefined for the final "else" level. */
  readonly when?: (d: Dialect, l: Side, r: Side) => string;
  /** The term-frequency column of `identity_term_frequencies` adjusting this level's u (exact names). */
  readonly termFrequency?: string;
}

export interface Comparison {
  readonly name: string;
  /** The record columns it reads (the evidence names them). */
  readonly columns: readonly string[];
  /** True when a value is missing on either side (level 0, no evidence either way). */
  readonly missing: (l: Side, r: Side) => string;
  /** Levels 1…n in order; the last one is "else" (no condition). */
  readonly levels: readonly ComparisonLevel[];
}

const bothPresent =
  (...cols: string[]) =>
  (l: Side, r: Side): string =>
    cols.map((c) => `${l}.${c} IS NULL OR ${r}.${c} IS NULL`).join(' OR ');

/**
 * Texts longer than this many characters are compared exactly only: an edit distance costs the product
 * of the two lengths, and two names of 200,000 characters in a landing file kept a first load in the
 * comparison step for over ten minutes. No name is that long.
 */
const MAX_EDIT_DISTANCE_LENGTH = 100;

/**
 * `editDistance(a, b) <= k`, computed only where it can hold: both texts at most
 * MAX_EDIT_DISTANCE_LENGTH characters, and lengths (in the units the distance counts) no more than k
 * apart, since the distance is at least their difference. Both engines evaluate a condition's terms
 * left to right and skip the rest once one is false, so most pairs of different names never compute
 * the distance.
 */
const editDistanceAtMost = (d: Dialect, a: string, b: string, k: number): string =>
  `LENGTH(${a}) <= ${MAX_EDIT_DISTANCE_LENGTH} AND LENGTH(${b}) <= ${MAX_EDIT_DISTANCE_LENGTH} AND ABS(${d.editDistanceUnits(a)} - ${d.editDistanceUnits(b)}) <= ${k} AND ${d.editDistance(a, b)} <= ${k}`;

const exactOrElse = (name: string, col: string): Comparison => ({
  name,
  columns: [col],
  missing: bothPresent(col),
  levels: [{ name: 'exact', when: (_d, l, r) => `${l}.${col} = ${r}.${col}` }, { name: 'else' }],
});

export const COMPARISONS: readonly Comparison[] = [
  {
    name: 'first_name',
    columns: ['fn'],
    missing: bothPresent('fn'),
    levels: [
      { name: 'exact', when: (_d, l, r) => `${l}.fn = ${r}.fn`, termFrequency: 'fn' },
      { name: 'nickname', when: () => `nk.name_a IS NOT NULL` },
      { name: 'edit_1', when: (d, l, r) => editDistanceAtMost(d, `${l}.fn`, `${r}.fn`, 1) },
      { name: 'edit_2', when: (d, l, r) => editDistanceAtMost(d, `${l}.fn`, `${r}.fn`, 2) },
      { name: 'else' },
    ],
  },
  {
    name: 'last_name',
    columns: ['ln'],
    missing: bothPresent('ln'),
    levels: [
      { name: 'exact', when: (_d, l, r) => `${l}.ln = ${r}.ln`, termFrequency: 'ln' },
      { name: 'edit_1', when: (d, l, r) => editDistanceAtMost(d, `${l}.ln`, `${r}.ln`, 1) },
      {
        name: 'edit_2',
        when: (d, l, r) =>
          `LEAST(LENGTH(${l}.ln), LENGTH(${r}.ln)) >= 5 AND ${editDistanceAtMost(d, `${l}.ln`, `${r}.ln`, 2)}`,
      },
      { name: 'else' },
    ],
  },
  {
    name: 'birth_date',
    columns: ['dob'],
    missing: bothPresent('dob'),
    levels: [
      { name: 'exact', when: (_d, l, r) => `${l}.dob = ${r}.dob` },
      {
        name: 'day_month_swap',
        when: (_d, l, r) =>
          `year(${l}.dob) = year(${r}.dob) AND month(${l}.dob) = day(${r}.dob) AND day(${l}.dob) = month(${r}.dob)`,
      },
      {
        name: 'one_digit',
        when: (d, l, r) => `${d.editDistance(d.castText(`${l}.dob`), d.castText(`${r}.dob`))} = 1`,
      },
      { name: 'within_1_year', when: (d, l, r) => `ABS(${d.daysBetween(`${l}.dob`, `${r}.dob`)}) <= 366` },
      { name: 'else' },
    ],
  },
  exactOrElse('ssn', 'ssn'),
  exactOrElse('mrn', 'mrn'),
  exactOrElse('member_id', 'mid'),
  {
    name: 'address',
    columns: ['addr', 'city', 'zip'],
    missing: (l, r) => `(${l}.addr IS NULL AND ${l}.zip IS NULL) OR (${r}.addr IS NULL AND ${r}.zip IS NULL)`,
    levels: [
      { name: 'exact', when: (_d, l, r) => `${l}.addr = ${r}.addr AND ${l}.zip = ${r}.zip` },
      { name: 'same_street', when: (_d, l, r) => `${l}.addr = ${r}.addr` },
      { name: 'same_zip_or_city', when: (_d, l, r) => `(${l}.zip = ${r}.zip OR ${l}.city = ${r}.city)` },
      { name: 'else' },
    ],
  },
  exactOrElse('phone', 'phone'),
  exactOrElse('email', 'email'),
  {
    name: 'sex',
    columns: ['sex'],
    missing: (l, r) => `${l}.sex IS NULL OR ${r}.sex IS NULL OR ${l}.sex = 'U' OR ${r}.sex = 'U'`,
    levels: [{ name: 'exact', when: (_d, l, r) => `${l}.sex = ${r}.sex` }, { name: 'else' }],
  },
];

/** The comparison-vector column of a comparison (`g_first_name`…). */
export const gammaColumn = (c: Comparison): string => `g_${c.name}`;

/** The level index of a named level (1-based; 0 = missing). */
export function levelIndex(comparisonName: string, levelName: string): number {
  const c = COMPARISONS.find((x) => x.name === comparisonName);
  const i = c?.levels.findIndex((l) => l.name === levelName) ?? -1;
  if (!c || i < 0) throw new Error(`unknown comparison level ${comparisonName}.${levelName}`);
  return i + 1;
}

/** The CASE expression giving a pair's level of comparison `c` (0 missing … n else). */
export function gammaSql(d: Dialect, c: Comparison, l: Side = 'l', r: Side = 'r'): string {
  const whens = c.levels
    .map((lv, i) => (lv.when ? `WHEN ${lv.when(d, l, r)} THEN ${i + 1}` : ''))
    .filter((s) => s !== '')
    .join(' ');
  return `CASE WHEN ${c.missing(l, r)} THEN 0 ${whens} ELSE ${c.levels.length} END`;
}

/**
 * The comparison vectors of `pairs` (columns rid_l, rid_r): one row per pair with one `g_*` level per
 * comparison and the two name values the term-frequency adjustment reads.
 */
export function comparisonVectorsSql(
  d: Dialect,
  pairs: string,
  records: string,
  extraColumns: readonly string[] = [],
): string {
  return `SELECT p.rid_l, p.rid_r${passThrough('p', extraColumns)},
    ${COMPARISONS.map((c) => `${gammaSql(d, c)} AS ${gammaColumn(c)}`).join(',\n    ')},
    l.fn AS tf_fn, l.ln AS tf_ln
  FROM ${pairs} p JOIN ${records} l ON l.rid = p.rid_l JOIN ${records} r ON r.rid = p.rid_r
  LEFT JOIN identity_nickname_pairs nk ON nk.name_a = l.fn AND nk.name_b = r.fn`;
}

/**
 * The nickname relation (symmetric, distinct): from rows (name1, relationship, name2) of the shipped
 * table, a pair matches when one is a listed nickname of the other or both share a name they are
 * nicknames of. Never a function: "al" pairs with both "albert" and "alexander".
 */
export function nicknamePairsSql(source: string): string {
  return `WITH n AS (SELECT DISTINCT LOWER(TRIM(name1)) AS a, LOWER(TRIM(name2)) AS b FROM ${source}
                WHERE name1 IS NOT NULL AND name2 IS NOT NULL AND LOWER(TRIM(name1)) <> LOWER(TRIM(name2)))
  SELECT DISTINCT name_a, name_b FROM (
    SELECT a AS name_a, b AS name_b FROM n
    UNION ALL SELECT b, a FROM n
    UNION ALL SELECT x.b, y.b FROM n x JOIN n y ON x.a = y.a AND x.b <> y.b) t`;
}
