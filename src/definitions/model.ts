import type { Dialect } from '../dialect/dialect.ts';
import type { Entity, SourceSystem } from './entities.ts';

/** An SQL fragment, spelled by a dialect. Definitions are data plus these pure spellers. */
export type Sql = (d: Dialect) => string;

export type Layer = 'bronze' | 'silver' | 'gold';

/** warn keeps the row and counts it; drop sends it to the quarantine; fail stops the update. */
export type ExpectationAction = 'warn' | 'drop' | 'fail';

export interface Expectation {
  readonly name: string;
  readonly action: ExpectationAction;
  readonly description: string;
  /** A boolean over the staged row; a row passes only when it is TRUE (NULL fails). */
  readonly sql: Sql;
}

export type ColumnType =
  'VARCHAR' | 'DOUBLE' | 'INTEGER' | 'BIGINT' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP' | 'JSON';

/** PII catalogue: HIPAA direct identifiers, quasi-identifiers, clinical, financial, operational data. */
export type Classification = 'phi_direct' | 'quasi_identifier' | 'clinical' | 'financial' | 'operational';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly classification: Classification;
  readonly description: string;
  /** How the column is computed from the staged row (silver/gold); absent for ingested columns. */
  readonly sql?: Sql;
  /**
   * Nearly every value differs (ids, hashes): a storage hint. An engine that analyses each column for a
   * dictionary before writing it may skip that for this one (see the DuckDB dialect's `storedType`).
   */
  readonly distinctValues?: boolean;
  /**
   * Every value the column can hold besides NULL, when its SQL and expectations let no other through (a
   * closed set): a storage hint. An engine may store such a column as an enumeration (the DuckDB dialect's
   * `storedType`: one small integer a value, writing 5.5 M values costs about a tenth of a CPU-second
   * instead of more than half); the definitions test holds each set to its SQL.
   */
  readonly values?: readonly string[];
}

/**
 * A named intermediate value of the staged row, available to columns and expectations. It may use
 * earlier derived values whose names are not landing columns (read as lateral column aliases would be;
 * `stageSql` computes it a layer after them); a name equal to a landing column still means the raw
 * column there.
 */
export interface Derived {
  readonly name: string;
  readonly sql: Sql;
}

/**
 * A reference lookup on a derived value `on` matched to `table`.`column`: `name` is the matched row's
 * `value` column, or, without `value`, TRUE when a match exists.
 */
export interface Lookup {
  readonly name: string;
  readonly table: string;
  readonly column: string;
  readonly on: string;
  readonly value?: string;
}

/**
 * A table-level check: `violations` counts offending rows; any violation fails the update. With
 * `scope` (a subquery of the keys an update touched) the check reads only those keys, so an
 * incremental update does not rescan the whole table; without it, the whole table.
 */
export interface TableCheck {
  readonly name: string;
  readonly description: string;
  readonly violations: (d: Dialect, scope?: string) => string;
}

export interface DatasetBase {
  readonly name: string;
  readonly layer: Layer;
  readonly entity: Entity;
  readonly description: string;
  readonly upstream: readonly string[];
  readonly columns: readonly Column[];
  readonly expectations: readonly Expectation[];
  readonly keys: readonly string[];
  readonly clusterBy: readonly string[];
  readonly partitionBy: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
}

/** Bronze: rows read from landing files, every value as text, SSN hashed on read. */
export interface IngestDataset extends DatasetBase {
  readonly kind: 'ingest';
  readonly landingColumns: readonly string[];
}

/** Silver: a row-wise transformation of its upstream with derived values, lookups and expectations. */
export interface TransformDataset extends DatasetBase {
  readonly kind: 'transform';
  readonly derived: readonly Derived[];
  readonly lookups: readonly Lookup[];
  /** Column that carries the source patient id to resolve to a resolved patient, if any. */
  readonly patientReference?: {
    /** The source system of the referenced patient record. */
    readonly sourceSystem: Sql;
    readonly sourceId: string;
    /**
     * Every system `sourceSystem` can name (rows naming another are dropped in bronze): the lookup reads
     * only those systems' resolved records.
     */
    readonly systems: readonly SourceSystem[];
  };
}

/** Gold dimension kept as SCD type 2 over tracked columns, keyed by `keys`, sequenced by `sequenceBy`. */
export interface Scd2Dataset extends DatasetBase {
  readonly kind: 'scd2';
  readonly trackedColumns: readonly string[];
  readonly sequenceBy: string;
  readonly checks: readonly TableCheck[];
}

/** Gold fact: upstream columns plus derived period columns, upserted by key. */
export interface FactDataset extends DatasetBase {
  readonly kind: 'fact';
  readonly checks: readonly TableCheck[];
}

export type Dataset = IngestDataset | TransformDataset | Scd2Dataset | FactDataset;

/** The HIPAA table properties every PHI table carries (locally and in Databricks TBLPROPERTIES). */
export function phiProperties(columns: readonly Column[]): Record<string, string> {
  return {
    'delta.enableChangeDataFeed': 'true',
    'pipelines.pii.fields': columns
      .filter((c) => c.classification === 'phi_direct' || c.classification === 'quasi_identifier')
      .map((c) => c.name)
      .join(','),
    'compliance.framework': 'HIPAA',
    'data.classification': 'PHI',
  };
}
