import type { Dialect } from '../../dialect/dialect.ts';
import type { Dataset, Expectation } from '../../definitions/model.ts';
import { expectationSql } from './stage.ts';

/** `CONSTRAINT name EXPECT (expr) [ON VIOLATION DROP ROW | FAIL UPDATE]`: warn keeps the row. */
export function constraintSql(d: Dialect, e: Expectation): string {
  const action =
    e.action === 'drop' ? ' ON VIOLATION DROP ROW' : e.action === 'fail' ? ' ON VIOLATION FAIL UPDATE' : '';
  return `CONSTRAINT ${e.name} EXPECT (${expectationSql(d, e)})${action}`;
}

const comment = (d: Dialect, text: string): string => `COMMENT ${d.string(text)}`;

/** `TBLPROPERTIES (...)` with the change data feed, the PII fields and the HIPAA classification. */
export function tblProperties(d: Dialect, props: Readonly<Record<string, string>>): string {
  const entries = Object.entries(props);
  return entries.length
    ? `TBLPROPERTIES (\n${entries.map(([k, v]) => `  ${d.string(k)} = ${d.string(v)}`).join(',\n')}\n)`
    : '';
}

export interface DatasetDdl {
  readonly kind: 'STREAMING TABLE' | 'MATERIALIZED VIEW' | 'PRIVATE MATERIALIZED VIEW';
  readonly name: string;
  readonly comment: string;
  readonly expectations?: readonly Expectation[];
  readonly dataset?: Dataset;
  readonly extraProperties?: Readonly<Record<string, string>>;
  /** The query, or nothing for an AUTO CDC target. */
  readonly as?: string;
}

/** A Lakeflow dataset declaration: constraints, comment, clustering, properties, query. */
export function datasetDdl(d: Dialect, ddl: DatasetDdl): string {
  const parts = [`CREATE OR REFRESH ${ddl.kind} ${ddl.name}`];
  const constraints = (ddl.expectations ?? []).map((e) => `  ${constraintSql(d, e)}`);
  if (constraints.length) parts[0] += ` (\n${constraints.join(',\n')}\n)`;
  parts.push(comment(d, ddl.comment));
  if (ddl.dataset?.clusterBy.length) parts.push(`CLUSTER BY (${ddl.dataset.clusterBy.join(', ')})`);
  const props = tblProperties(d, { ...(ddl.dataset?.properties ?? {}), ...(ddl.extraProperties ?? {}) });
  if (props) parts.push(props);
  if (ddl.as) parts.push(`AS ${ddl.as}`);
  return `${parts.join('\n')};\n`;
}

export const temporaryView = (d: Dialect, name: string, text: string, sql: string): string =>
  `CREATE TEMPORARY VIEW ${name}\n${comment(d, text)}\nAS ${sql};\n`;

/** The header every rendered file starts with. */
export const fileHeader = (title: string, lines: readonly string[] = []): string =>
  [
    `-- ${title}`,
    ...lines.map((l) => `-- ${l}`),
    '-- Rendered by `carelake bundle` from src/definitions; do not edit by hand.',
    '',
  ].join('\n');
