import type { Dialect } from '../../dialect/dialect.ts';

/**
 * Blocking rules of identity resolution: two records become a candidate pair when they share the key
 * of at least one rule. A key is one 64-bit hash of the rule's values, so candidate pairs come from one equi-join on
 * (rule, key): near-linear in the record count. Blocks larger than `MAX_BLOCK_SIZE` (placeholder
 * values, a shared household phone…) are skipped rather than compared all-to-all.
 */
export interface BlockingRule {
  readonly id: number;
  readonly name: string;
  /** Columns that must be present. */
  readonly columns: readonly string[];
  /** The values the key is made of, over the records alias `t`, hashed together as they are typed. */
  readonly parts: readonly string[];
}

/**
 * The birth date with day and month in a fixed order (the smaller first), so a day/month swap keeps
 * the same key.
 */
const UNORDERED_BIRTH_DATE = [
  'year(t.dob)',
  'LEAST(month(t.dob), day(t.dob))',
  'GREATEST(month(t.dob), day(t.dob))',
];

/**
 * The rules, chosen by what each adds on generated data of 465,000 people (1M records): e-mail and
 * last name + first name + birth year were dropped (together 1.7M extra pairs for 0.04% of the true
 * pairs); the birth-date keys ignore day/month order instead. Last name + birth date also takes the
 * sex (unknown sex is a value of its own): on 1M people (2.15 M records) it made 3.5 M candidate pairs
 * alone, 2.1 M of them found by no other rule and of those 0.4% true; with the sex the candidate pairs
 * of all rules fell from 4.79 M to 3.73 M and the true pairs among them rose from 1,479,906 to 1,479,910
 * (blocks that were over the size cap before are not). A person's records that differ in first name
 * and in sex and share no other key are no longer compared.
 */
export const BLOCKING_RULES: readonly BlockingRule[] = [
  { id: 1, name: 'ssn', columns: ['ssn'], parts: ['t.ssn'] },
  {
    id: 2,
    name: 'last_name+birth_date+sex',
    columns: ['ln', 'dob'],
    parts: ['t.ln', ...UNORDERED_BIRTH_DATE, 't.sex'],
  },
  { id: 3, name: 'first_name+birth_date', columns: ['fn', 'dob'], parts: ['t.fn', ...UNORDERED_BIRTH_DATE] },
  { id: 4, name: 'mrn', columns: ['mrn'], parts: ['t.mrn'] },
  { id: 5, name: 'member_id', columns: ['mid'], parts: ['t.mid'] },
  { id: 7, name: 'phone+first_name', columns: ['phone', 'fn'], parts: ['t.phone', 't.fn'] },
  {
    id: 9,
    name: 'last_name+zip+birth_year',
    columns: ['ln', 'zip', 'dob'],
    parts: ['t.ln', 't.zip', 'year(t.dob)'],
  },
  { id: 10, name: 'birth_date+zip', columns: ['dob', 'zip'], parts: ['t.dob', 't.zip'] },
  { id: 11, name: 'phone+birth_date', columns: ['phone', 'dob'], parts: ['t.phone', 't.dob'] },
];

/** Blocks with more records than this are not compared (a rule key shared that widely is no evidence). */
export const MAX_BLOCK_SIZE = 40;

/**
 * The blocking keys (rid, rule, k) of the records in `records` (optionally only rows matching
 * `where`), the key as the engine's 64-bit hash of the rule's values: a small fixed-width join key (a
 * collision only adds a candidate pair, which scoring rejects). The values are hashed as they are
 * typed, not joined into text first: building the text cost 2.5-2.9 CPU-s of the 1.4-1.6 s that
 * computing the keys of 2.15 M records took, against 1.1-1.3 CPU-s and 0.6-0.7 s hashed as values.
 */
export function blockingKeysSql(d: Dialect, records: string, where = 'TRUE'): string {
  return BLOCKING_RULES.map(
    (b) =>
      `SELECT t.rid, ${b.id} AS rule, ${d.stableHash(...b.parts)} AS k FROM ${records} t WHERE (${where}) AND ${b.columns
        .map((c) => `t.${c} IS NOT NULL`)
        .join(' AND ')}`,
  ).join('\nUNION ALL\n');
}

/** The column of a rule's key in the stored (one row per record) form of the keys: `k1`, `k2`… */
export const blockingKeyColumn = (b: BlockingRule): string => `k${b.id}`;

/**
 * The blocking keys of `records` in one row per record (rid, k1, k2…; NULL where a rule's columns are
 * missing): the form the engine stores. Replacing the keys of a changed record is then a delete of
 * one row in a table of records, instead of a row per rule spread over a table eight times larger
 * (on 2.15 M records, 0.2 s to delete and 0.2 s more at the checkpoint).
 */
export function blockingKeysByRecordSql(d: Dialect, records: string, where = 'TRUE'): string {
  return `SELECT t.rid, ${BLOCKING_RULES.map(
    (b) =>
      `CASE WHEN ${b.columns.map((c) => `t.${c} IS NOT NULL`).join(' AND ')} THEN ${d.stableHash(...b.parts)} END AS ${blockingKeyColumn(b)}`,
  ).join(', ')}
  FROM ${records} t WHERE ${where}`;
}

/**
 * The long form (rid, rule, k) of keys stored one row per record in `table`, optionally only keys
 * matching `filter(rule, keyColumn)`.
 */
export function blockingKeysFromRecordsSql(
  table: string,
  filter: (rule: number, k: string) => string = () => 'TRUE',
): string {
  return BLOCKING_RULES.map((b) => {
    const k = `a.${blockingKeyColumn(b)}`;
    return `SELECT a.rid, ${b.id} AS rule, ${k} AS k FROM ${table} a WHERE ${k} IS NOT NULL AND ${filter(b.id, k)}`;
  }).join('\nUNION ALL\n');
}

/**
 * Candidate pairs (rid_l < rid_r, the first rule that found them) between the records whose keys are
 * in `workKeys` and every record whose key is in `allKeys`, skipping blocks over the size cap. With
 * `selfJoin` (the work keys are all the keys: a resolution from scratch) one self-join of the blocks.
 */
export function candidatePairsSql(
  workKeys: string,
  allKeys: string,
  options: { selfJoin?: boolean; byRecord?: boolean } = {},
): string {
  // Most blocks hold two or three records (1M people: 4.0 M of two, 1.5 M of three, 0.2 M larger):
  // their pairs come from the block's smallest, largest and middle record id (the sum less the other
  // two), and only the larger blocks are joined with themselves (2.2-2.6 s against 2.8-3.1 s).
  if (options.selfJoin)
    return `WITH sized AS (
    SELECT rule, k, COUNT(*) AS n, MIN(rid) AS lo, MAX(rid) AS hi, SUM(rid) AS total FROM ${workKeys}
    GROUP BY rule, k HAVING COUNT(*) BETWEEN 2 AND ${MAX_BLOCK_SIZE}),
  members AS (
    SELECT b.rule, b.k, b.rid FROM ${workKeys} b JOIN (SELECT rule, k FROM sized WHERE n > 3) s
      ON s.rule = b.rule AND s.k = b.k),
  pairs AS (
    SELECT rule, lo AS rid_l, hi AS rid_r FROM sized WHERE n <= 3
    UNION ALL
    SELECT rule, lo, CAST(total - lo - hi AS BIGINT) FROM sized WHERE n = 3
    UNION ALL
    SELECT rule, CAST(total - lo - hi AS BIGINT), hi FROM sized WHERE n = 3
    UNION ALL
    SELECT a.rule, a.rid, m.rid FROM members a JOIN members m ON m.rule = a.rule AND m.k = a.k AND a.rid < m.rid)
  SELECT rid_l, rid_r, MIN(rule) AS rule FROM pairs GROUP BY rid_l, rid_r`;
  // Keys stored one row per record (`byRecord`) are probed one rule (one column) at a time.
  const block = options.byRecord
    ? blockingKeysFromRecordsSql(allKeys, (rule, k) => `${k} IN (SELECT k FROM probe WHERE rule = ${rule})`)
    : `SELECT a.rule, a.k, a.rid FROM ${allKeys} a JOIN probe p ON p.rule = a.rule AND p.k = a.k`;
  return `WITH probe AS (SELECT DISTINCT rule, k FROM ${workKeys}),
  block AS (${block}),
  sized AS (SELECT rule, k FROM block GROUP BY rule, k HAVING COUNT(*) BETWEEN 2 AND ${MAX_BLOCK_SIZE}),
  members AS (SELECT b.rule, b.k, b.rid FROM block b JOIN sized s ON s.rule = b.rule AND s.k = b.k)
  SELECT LEAST(w.rid, m.rid) AS rid_l, GREATEST(w.rid, m.rid) AS rid_r, MIN(w.rule) AS rule
  FROM ${workKeys} w JOIN members m ON m.rule = w.rule AND m.k = w.k AND m.rid <> w.rid
  GROUP BY LEAST(w.rid, m.rid), GREATEST(w.rid, m.rid)`;
}
