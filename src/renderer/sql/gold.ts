import type { Dialect } from '../../dialect/dialect.ts';
import { dataset } from '../../definitions/pipeline.ts';
import type { FactDataset, Scd2Dataset } from '../../definitions/model.ts';
import type { Relation } from './relation.ts';
import { typedColumns } from './types.ts';

/**
 * gold_patients in its portable form: every silver row in sequence per patient; a row whose tracked
 * columns equal the previous row's opens no version; a version ends where the next one starts. This
 * is what AUTO CDC … STORED AS SCD TYPE 2 TRACK HISTORY ON (tracked) keeps, with `__START_AT` /
 * `__END_AT` exposed as `effective_from` / `effective_to` / `is_current`.
 */
export function goldPatientRelation(d: Dialect): Relation {
  const ds = dataset('gold_patients') as Scd2Dataset;
  const tracked = ds.trackedColumns;
  const changed = tracked
    .map((c) => `NOT (${d.ident(c)} IS NOT DISTINCT FROM LAG(${d.ident(c)}) OVER w)`)
    .join(' OR ');
  const window = `PARTITION BY patient_id ORDER BY ${ds.sequenceBy}`;
  const values: Record<string, string> = {
    effective_from: ds.sequenceBy,
    effective_to: `LEAD(${ds.sequenceBy}) OVER w`,
    is_current: `LEAD(${ds.sequenceBy}) OVER w IS NULL`,
  };
  return {
    name: ds.name,
    role: 'scd2',
    dataset: ds,
    comment: ds.description,
    sql: `SELECT ${typedColumns(d, ds.columns, (c) => values[c.name] ?? d.ident(c.name))}
FROM (
  SELECT *, ROW_NUMBER() OVER w = 1 OR ${changed} AS _opens_version
  FROM silver_patients
  WINDOW w AS (${window})) s
WHERE _opens_version
WINDOW w AS (${window})`,
  };
}

/** A gold fact: the silver columns plus the month and year of its date. */
export function goldFactRelation(d: Dialect, name: 'gold_claims' | 'gold_medical_events'): Relation {
  const ds = dataset(name) as FactDataset;
  return {
    name,
    role: 'table',
    dataset: ds,
    comment: ds.description,
    sql: `SELECT ${typedColumns(d, ds.columns, (c) => (c.sql ? c.sql(d) : d.ident(c.name)))}
FROM ${ds.upstream[0] ?? ''}`,
  };
}
