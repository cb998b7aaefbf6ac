import { GOLD_VIEWS } from '../definitions/datasets/gold.ts';
import { phiProperties, type Classification } from '../definitions/model.ts';
import { DATASETS } from '../definitions/pipeline.ts';
import { isPii, SUPPORTING_TABLES, type TableClassification } from '../definitions/supporting-tables.ts';
import type { Database, PlanNode } from '../engine/database.ts';

/** `carelake catalog`: every table and column with its type, classification, PII flag and row count. */
export interface CatalogColumnEntry {
  readonly name: string;
  readonly type: string;
  readonly classification: Classification | 'unclassified';
  readonly pii: boolean;
  readonly description: string;
}

export interface CatalogTable {
  readonly table: string;
  readonly kind: 'dataset' | 'supporting' | 'view' | 'change_feed';
  readonly layer?: string;
  readonly classification: TableClassification;
  readonly properties: Readonly<Record<string, string>>;
  /** Rows in the database; null without a database or when the table does not exist there yet. */
  readonly rows: number | null;
  readonly columns: readonly CatalogColumnEntry[];
}

export interface Catalog {
  readonly tables: CatalogTable[];
  /** Columns present in the database that no definition classifies. */
  readonly unclassified: { readonly table: string; readonly column: string }[];
}

/** Change-feed metadata columns (issue 5's change data feed), operational wherever they appear. */
const CHANGE_FEED_COLUMNS: Readonly<Record<string, string>> = {
  _change_type: 'insert, update_preimage, update_postimage or delete.',
  _commit_version: 'Table version of the change.',
  _commit_timestamp: 'When the change committed.',
  _end_version: 'Version at which a replaced or deleted row ended (change tables).',
  _end_type: 'How the row ended: update_preimage or delete (change tables).',
};

function supportingProperties(
  classification: TableClassification,
  columns: readonly { name: string; classification: Classification; pii?: boolean }[],
): Record<string, string> {
  return {
    'delta.enableChangeDataFeed': 'false',
    'pipelines.pii.fields': columns
      .filter((col) => isPii(col))
      .map((col) => col.name)
      .join(','),
    'compliance.framework': 'HIPAA',
    'data.classification': classification,
  };
}

/** The catalogue from the definitions alone (no database). */
export function definedCatalog(): CatalogTable[] {
  const tables: CatalogTable[] = [];
  for (const ds of DATASETS) {
    tables.push({
      table: ds.name,
      kind: 'dataset',
      layer: ds.layer,
      classification: 'PHI',
      properties: ds.properties,
      rows: null,
      columns: ds.columns.map((col) => ({
        name: col.name,
        type: col.type,
        classification: col.classification,
        pii: isPii(col),
        description: col.description,
      })),
    });
  }
  for (const t of SUPPORTING_TABLES) {
    tables.push({
      table: t.name,
      kind: 'supporting',
      classification: t.classification,
      properties: supportingProperties(t.classification, t.columns),
      rows: null,
      columns: t.columns.map((col) => ({
        name: col.name,
        type: col.type,
        classification: col.classification,
        pii: isPii(col),
        description: col.description,
      })),
    });
  }
  for (const v of GOLD_VIEWS) {
    const base = tables.find((t) => v.sql.endsWith(` ${t.table}`));
    if (base) tables.push({ ...base, table: v.name, kind: 'view', rows: null });
  }
  return tables;
}

/** Tables that hold PHI (datasets, their views and change feeds, PHI supporting tables). */
export function phiTableNames(): Set<string> {
  const names = new Set<string>();
  for (const t of definedCatalog()) {
    if (t.classification === 'PHI') {
      names.add(t.table);
      names.add(`${t.table}__changes`);
    }
  }
  return names;
}

/** Names of PHI tables a query mentions (word match, case-insensitive). */
export function phiTablesIn(query: string): string[] {
  return [...namedIn(query, phiTableNames())].sort();
}

/** The words of `query` (lower-cased) that are names in `names`. */
function namedIn(query: string, names: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  for (const m of query.toLowerCase().matchAll(/[a-z_][a-z0-9_]*/g)) if (names.has(m[0])) found.add(m[0]);
  return found;
}

/**
 * Table functions whose rows are the engine's own facts (its catalogue, settings, generated numbers),
 * never a file's contents. Any other table function in a plan may read a file (`read_parquet`,
 * `parquet_metadata` with each column's smallest and largest value, `read_text`…); a sandboxed connection
 * reads only the bronze segments' folder, every file of which holds PHI.
 */
const CATALOGUE_FUNCTIONS =
  /^(duckdb_\w+|pragma_\w+|range|generate_series|glob|unnest|json_each|json_tree)$/i;

/** The engine's table functions that read files, as a logical plan names their operator. */
const FILE_FUNCTIONS = /^(read_\w+|parquet_\w+|sniff_csv)$/i;

/** What one `carelake sql` query reads of PHI (`phiReadsOf`). */
export interface PhiReads {
  /**
   * PHI tables the query names or its plan scans (views and SQL built at run time by `query(...)`
   * expanded), and `<function>()` for each table function that may read a file; empty if none.
   */
  readonly tables: string[];
  /**
   * False when the engine could not plan the query before it ran (several statements, or a statement
   * `EXPLAIN` does not take): what it reads is then not known, and it is audited if it runs.
   */
  readonly planned: boolean;
}

/**
 * What a query reads of PHI, for the audit trail: the PHI tables its text names (so a query the engine
 * answers from statistics alone, `COUNT(*)`, is still a query of that table), and what its plans read,
 * which no spelling hides (a name built by concatenation inside `query(...)`, a segment file
 * read by a path built the same way). The plan is made, not run. Never fails: a query it cannot plan
 * is `planned: false`.
 */
export async function phiReadsOf(db: Database, query: string): Promise<PhiReads> {
  const phi = phiTableNames();
  const found = namedIn(query, phi);
  const plan =
    (await db.statementCount(query)) === 1 ? await db.plan(query).catch(() => undefined) : undefined;
  if (plan === undefined) return { tables: [...found].sort(), planned: false };
  const visit = (node: PlanNode): void => {
    const table = node.extra_info?.['Table'];
    if (typeof table === 'string') {
      const name = table.slice(table.lastIndexOf('.') + 1).toLowerCase();
      if (phi.has(name)) found.add(name);
    }
    // A table function is `Function` in the physical plan, the operator's own name in the logical ones.
    const fn = node.extra_info?.['Function'];
    if (typeof fn === 'string' && !CATALOGUE_FUNCTIONS.test(fn)) found.add(`${fn.toLowerCase()}()`);
    else if (FILE_FUNCTIONS.test(node.name)) found.add(`${node.name.toLowerCase()}()`);
    for (const child of node.children ?? []) visit(child);
  };
  plan.forEach(visit);
  return { tables: [...found].sort(), planned: true };
}

/** The catalogue, with row counts and the columns of the database itself when one is given. */
export async function buildCatalog(db?: Database): Promise<Catalog> {
  const defined = definedCatalog();
  if (!db) return { tables: defined, unclassified: [] };
  const actual = await db.all<{ t: string; c: string; ty: string; kind: string }>(
    `SELECT c.table_name AS t, c.column_name AS c, c.data_type AS ty, t.table_type AS kind
     FROM information_schema.columns c JOIN information_schema.tables t
       ON t.table_name = c.table_name AND t.table_schema = c.table_schema AND t.table_catalog = c.table_catalog
     WHERE c.table_schema = 'main' AND c.table_catalog = current_database()
     ORDER BY c.table_name, c.ordinal_position`,
  );
  const byTable = new Map<string, { c: string; ty: string; kind: string }[]>();
  for (const r of actual) byTable.set(r.t, [...(byTable.get(r.t) ?? []), r]);
  const unclassified: { table: string; column: string }[] = [];
  const tables: CatalogTable[] = [];
  const known = new Map(defined.map((t) => [t.table, t]));
  const names = [...new Set([...defined.map((t) => t.table), ...byTable.keys()])];
  for (const name of names) {
    const cols = byTable.get(name);
    const base = name.endsWith('__changes') ? known.get(name.slice(0, -'__changes'.length)) : undefined;
    const def =
      known.get(name) ?? (base ? { ...base, table: name, kind: 'change_feed' as const } : undefined);
    let rows: number | null = null;
    if (cols) {
      rows =
        (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name.replaceAll('"', '""')}"`))?.n ?? 0;
    }
    const columns: CatalogColumnEntry[] = cols
      ? cols.map((r) => {
          const d = def?.columns.find((col) => col.name === r.c);
          if (d) return { ...d, type: r.ty };
          const cf = CHANGE_FEED_COLUMNS[r.c];
          if (cf !== undefined)
            return { name: r.c, type: r.ty, classification: 'operational', pii: false, description: cf };
          unclassified.push({ table: name, column: r.c });
          return { name: r.c, type: r.ty, classification: 'unclassified', pii: true, description: '' };
        })
      : [...(def?.columns ?? [])];
    tables.push({
      table: name,
      kind: def?.kind ?? (cols?.[0]?.kind === 'VIEW' ? 'view' : 'supporting'),
      ...(def?.layer ? { layer: def.layer } : {}),
      classification: def?.classification ?? 'PHI',
      properties: def?.properties ?? phiProperties([]),
      rows,
      columns,
    });
  }
  return { tables, unclassified };
}
