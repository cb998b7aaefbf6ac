import type { Dialect } from '../../dialect/dialect.ts';
import type { Column, ColumnType } from '../../definitions/model.ts';

/** Spark SQL type of a definition column type (JSON is kept as text). */
export const SPARK_TYPE: Record<ColumnType, string> = {
  VARCHAR: 'STRING',
  DOUBLE: 'DOUBLE',
  INTEGER: 'INT',
  BIGINT: 'BIGINT',
  BOOLEAN: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMP',
  JSON: 'STRING',
};

/** `CAST(expr AS type) AS name` for a defined column. */
export const castAs = (d: Dialect, expr: string, name: string, type: ColumnType): string =>
  `CAST(${expr} AS ${SPARK_TYPE[type]}) AS ${d.ident(name)}`;

/** The SELECT list that gives exactly the defined columns with their types. */
export const typedColumns = (d: Dialect, columns: readonly Column[], exprOf: (c: Column) => string): string =>
  columns.map((c) => castAs(d, exprOf(c), c.name, c.type)).join(',\n  ');
