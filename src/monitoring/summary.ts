import type { Database } from '../engine/database.ts';
import { DATASETS } from '../definitions/pipeline.ts';

export type TableCount = {
  readonly table: string;
  readonly rows: number;
};

export type ExpectationRate = {
  readonly dataset: string;
  readonly expectation: string;
  readonly action: string;
  readonly passed: number;
  readonly failed: number;
  readonly pass_rate: number;
};

export type QuarantineCount = {
  readonly dataset: string;
  readonly rule: string;
  readonly rows: number;
};

export interface LakehouseSummary {
  readonly tables: TableCount[];
  readonly expectations: ExpectationRate[];
  readonly quarantine: QuarantineCount[];
  readonly parked: number;
  readonly averageDataQualityScore: number | null;
  readonly lastRuns: {
    run_id: string;
    started_at: string;
    status: string;
    seconds: number | null;
    files: number;
  }[];
}

const SUPPORTING = [
  'silver_resolved_identity_resolution',
  'quarantine',
  'parked_rows',
  'event_log',
  'ingest_files',
];

/** What the lakehouse holds now: rows per table, expectation pass rates (all runs), quarantine by rule. */
export async function summarise(db: Database, runId?: string): Promise<LakehouseSummary> {
  const tables: TableCount[] = [];
  for (const t of [...DATASETS.map((d) => d.name), ...SUPPORTING]) {
    const row = await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`);
    tables.push({ table: t, rows: row?.n ?? 0 });
  }
  const runFilter = runId ? `AND origin->>'update_id' = '${runId.replaceAll("'", "''")}'` : '';
  const expectations = await db.all<ExpectationRate>(`
    WITH e AS (
      SELECT UNNEST(CAST(details->'flow_progress'->'data_quality'->'expectations' AS JSON[])) AS x
      FROM event_log WHERE event_type = 'flow_progress' ${runFilter})
    SELECT x->>'dataset' AS dataset, x->>'name' AS expectation, x->>'action' AS action,
      SUM(CAST(x->>'passed_records' AS BIGINT)) AS passed, SUM(CAST(x->>'failed_records' AS BIGINT)) AS failed,
      ROUND(CASE WHEN SUM(CAST(x->>'passed_records' AS BIGINT)) + SUM(CAST(x->>'failed_records' AS BIGINT)) = 0 THEN 1
        ELSE SUM(CAST(x->>'passed_records' AS BIGINT)) / (SUM(CAST(x->>'passed_records' AS BIGINT)) + SUM(CAST(x->>'failed_records' AS BIGINT)))::DOUBLE END, 5) AS pass_rate
    FROM e GROUP BY ALL ORDER BY dataset, expectation`);
  const quarantine = await db.all<QuarantineCount>(`
    SELECT dataset, rule, COUNT(*) AS rows FROM (SELECT dataset, UNNEST(rules) AS rule FROM quarantine
    ${runId ? `WHERE run_id = '${runId.replaceAll("'", "''")}'` : ''}) GROUP BY ALL ORDER BY dataset, rows DESC, rule`);
  const parked = (await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM parked_rows'))?.n ?? 0;
  const dq = await db.one<{ avg: number | null }>(
    'SELECT ROUND(AVG(data_quality_score), 4) AS avg FROM silver_patients',
  );
  const lastRuns = await db.all<LakehouseSummary['lastRuns'][number]>(`
    SELECT run_id, strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') AS started_at, status,
      ROUND(EPOCH(finished_at) - EPOCH(started_at), 1) AS seconds, files_ingested AS files
    FROM pipeline_runs ORDER BY started_at DESC LIMIT 5`);
  return { tables, expectations, quarantine, parked, averageDataQualityScore: dq?.avg ?? null, lastRuns };
}
