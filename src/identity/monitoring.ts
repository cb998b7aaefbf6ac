import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { sqlString, type Database } from '../engine/database.ts';

/**
 * Identity-resolution quality monitoring, one row of `identity_run_metrics` per run: coverage (share
 * of source records resolved), freshness (`identity_resolution_age_hours`, SLA 4 h), the confidence
 * distribution (average at least 0.90), golden-record completeness, and drift against the previous
 * run (match rate, cluster-size distribution). Violations come back as alerts; the runner logs them
 * to the event log as warnings. Measured over the whole state after each run, from its cheapest
 * exact source: the identity records (one per source patient record, the accepted rows of
 * silver_patient_sources by construction) and the golden records' `record_count` (rebuilt for every
 * patient a run touches), not by grouping millions of source rows again.
 */
export const IDENTITY_SLA = {
  freshnessHours: 4,
  minAverageConfidence: 0.9,
  minCoverage: 1.0,
  minGoldenCompleteness: 0.8,
  /** Largest change of the match rate or of a cluster-size share against the previous run. */
  maxDrift: 0.1,
} as const;

interface Snapshot {
  records_total: number;
  records_resolved: number;
  avg_confidence: number | null;
  min_confidence: number | null;
  patients: number;
  golden_completeness: number | null;
  max_age_hours: number | null;
  avg_age_hours: number | null;
  review_pending: number;
}

const BUCKETS = [0.5, 0.9, 0.99, 0.999];

export async function recordRunMetrics(
  db: Database,
  runId: string,
  atSql: string,
  modelVersion: string,
  stats: Record<string, unknown> & { newRecords: number; linkedToExisting: number },
): Promise<string[]> {
  // One pass over each large table: the links (count, confidence and its histogram) and the golden
  // records (count, completeness, cluster sizes). Buckets are counted as running counts below each
  // bound (plain comparisons); a score that is not below the last bound, or missing, is in the top one.
  const labels = [
    ...BUCKETS.map((b, i) => `${i === 0 ? '0' : BUCKETS[i - 1]}-${b}`),
    `${BUCKETS[BUCKETS.length - 1]}-1`,
  ];
  const clusterSizes = [
    { size: '1', when: 'record_count = 1' },
    { size: '2', when: 'record_count = 2' },
    { size: '3', when: 'record_count = 3' },
    { size: '4+', when: 'record_count >= 4' },
  ];
  const s = await db.one<Snapshot & Record<string, number | null>>(`SELECT
      (SELECT COUNT(*) FROM identity_records) AS records_total,
      l.records_resolved, l.avg_confidence, l.min_confidence, ${BUCKETS.map((_, i) => `l.below${i}`).join(', ')},
      g.patients, g.golden_completeness, ${clusterSizes.map((_, i) => `g.s${i}`).join(', ')},
      (SELECT MAX(identity_resolution_age_hours) FROM silver_enriched_identity_resolution WHERE run_id = ${sqlString(runId)}) AS max_age_hours,
      (SELECT AVG(identity_resolution_age_hours) FROM silver_enriched_identity_resolution WHERE run_id = ${sqlString(runId)}) AS avg_age_hours,
      (SELECT COUNT(*) FROM identity_review_queue WHERE status = 'pending') AS review_pending
    FROM (SELECT COUNT(*) AS records_resolved, AVG(confidence_score) AS avg_confidence,
        MIN(confidence_score) AS min_confidence,
        ${BUCKETS.map((b, i) => `COUNT(*) FILTER (WHERE confidence_score < ${b}) AS below${i}`).join(', ')}
      FROM silver_resolved_identity_resolution) l,
      (SELECT COUNT(*) AS patients, AVG(golden_completeness) AS golden_completeness,
        ${clusterSizes.map((x, i) => `COUNT(*) FILTER (WHERE ${x.when}) AS s${i}`).join(', ')}
      FROM silver_enriched_identity_resolution) g`);
  const below = BUCKETS.map((_, i) => Number(s?.[`below${i}`] ?? 0));
  const bucketCounts = labels.map((_, i) =>
    i < BUCKETS.length
      ? (below[i] ?? 0) - (below[i - 1] ?? 0)
      : Number(s?.records_resolved ?? 0) - (below[i - 1] ?? 0),
  );
  // Buckets and sizes no row falls in are left out (as a GROUP BY would).
  const histogram = labels.map((bucket, i) => ({ bucket, n: bucketCounts[i] ?? 0 })).filter((h) => h.n > 0);
  const sizes = clusterSizes
    .map((x, i) => ({ size: x.size, n: Number(s?.[`s${i}`] ?? 0) }))
    .filter((r) => r.n > 0);
  const totalPatients = sizes.reduce((a, r) => a + r.n, 0);
  const sizeShares = Object.fromEntries(sizes.map((r) => [r.size, totalPatients ? r.n / totalPatients : 0]));
  const matchRate = stats.newRecords > 0 ? stats.linkedToExisting / stats.newRecords : null;
  const coverage = s && s.records_total > 0 ? s.records_resolved / s.records_total : 1;

  const prev = await db.one<{ match_rate: number | null; cluster_sizes: unknown }>(
    `SELECT match_rate, cluster_sizes FROM identity_run_metrics ORDER BY measured_at DESC LIMIT 1`,
  );
  const prevShares = (
    typeof prev?.cluster_sizes === 'string' ? JSON.parse(prev.cluster_sizes) : {}
  ) as Record<string, number>;
  const drift = {
    match_rate: matchRate !== null && prev?.match_rate != null ? matchRate - prev.match_rate : null,
    cluster_sizes: prev
      ? Object.fromEntries(
          [...new Set([...Object.keys(sizeShares), ...Object.keys(prevShares)])].map((k) => [
            k,
            (sizeShares[k] ?? 0) - (prevShares[k] ?? 0),
          ]),
        )
      : null,
  };

  const alerts: string[] = [];
  if (coverage < IDENTITY_SLA.minCoverage)
    alerts.push(`identity coverage ${(coverage * 100).toFixed(2)}% is below 100% of source records`);
  if (s?.max_age_hours != null && s.max_age_hours > IDENTITY_SLA.freshnessHours)
    alerts.push(
      `identity freshness SLA: identity_resolution_age_hours up to ${s.max_age_hours.toFixed(1)} h (SLA ${IDENTITY_SLA.freshnessHours} h)`,
    );
  if (s?.avg_confidence != null && s.avg_confidence < IDENTITY_SLA.minAverageConfidence)
    alerts.push(
      `identity confidence: average ${s.avg_confidence.toFixed(4)} is below ${IDENTITY_SLA.minAverageConfidence}`,
    );
  if (s?.golden_completeness != null && s.golden_completeness < IDENTITY_SLA.minGoldenCompleteness)
    alerts.push(
      `identity golden-record completeness ${s.golden_completeness.toFixed(3)} is below ${IDENTITY_SLA.minGoldenCompleteness}`,
    );
  if (prev && drift.match_rate !== null && Math.abs(drift.match_rate) > IDENTITY_SLA.maxDrift)
    alerts.push(
      `identity drift: match rate changed by ${drift.match_rate.toFixed(3)} against the previous run`,
    );
  if (
    drift.cluster_sizes &&
    Object.values(drift.cluster_sizes).some((v) => Math.abs(v) > IDENTITY_SLA.maxDrift)
  )
    alerts.push(
      `identity drift: the cluster-size distribution changed by more than ${IDENTITY_SLA.maxDrift}`,
    );

  await db.run(
    `INSERT INTO identity_run_metrics VALUES (?, ${atSql}, ?, ?, ?, ?, ?, ?, ?, ?::JSON, ?, ?, ?, ?, ?, ?::JSON, ?, ?::JSON, ?::JSON, ?::JSON)`,
    [
      runId,
      modelVersion,
      s?.records_total ?? 0,
      s?.records_resolved ?? 0,
      stats.newRecords + Number(stats['changedRecords'] ?? 0),
      coverage,
      s?.avg_confidence ?? null,
      s?.min_confidence ?? null,
      JSON.stringify(Object.fromEntries(histogram.map((h) => [h.bucket, h.n]))),
      s?.patients ?? 0,
      s?.golden_completeness ?? null,
      s?.max_age_hours ?? null,
      s?.avg_age_hours ?? null,
      matchRate,
      JSON.stringify(sizeShares),
      s?.review_pending ?? 0,
      JSON.stringify(drift),
      JSON.stringify(alerts),
      JSON.stringify(stats),
    ],
  );
  return alerts;
}

export interface IdentityReport {
  readonly latest: Record<string, unknown> | undefined;
  readonly previous: Record<string, unknown> | undefined;
  readonly alerts: string[];
  /** Hours since the last resolution, at the time of the report. */
  readonly hoursSinceLastRun: number | null;
  readonly reviewPending: number;
  readonly auditCounts: Record<string, number>;
  readonly model: Record<string, unknown>[];
}

const parse = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

/** Everything `carelake identity report` prints. */
export async function identityReport(db: Database): Promise<IdentityReport> {
  const rows = await db.all(`SELECT * FROM identity_run_metrics ORDER BY measured_at DESC LIMIT 2`);
  const fix = (r: Record<string, unknown> | undefined): Record<string, unknown> | undefined =>
    r
      ? Object.fromEntries(
          Object.entries(r).map(([k, v]) => [
            k,
            ['confidence_histogram', 'cluster_sizes', 'drift', 'alerts', 'stats'].includes(k) ? parse(v) : v,
          ]),
        )
      : undefined;
  const latest = fix(rows[0]);
  const age = await db.one<{ h: number | null }>(
    `SELECT ${d.hoursBetween('MAX(measured_at)', 'now()::TIMESTAMP')} AS h FROM identity_run_metrics`,
  );
  const pending = await db.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM identity_review_queue WHERE status = 'pending'`,
  );
  const audit = await db.all<{ action: string; n: number }>(
    `SELECT action, COUNT(*) AS n FROM identity_audit GROUP BY action ORDER BY action`,
  );
  const mv = latest?.['model_version'];
  const model =
    typeof mv === 'string'
      ? await db.all(
          `SELECT comparison, level, level_name, ROUND(m, 6) AS m, ROUND(u, 8) AS u, ROUND(weight, 3) AS weight
           FROM identity_model_parameters WHERE model_version = ? ORDER BY comparison = '_prior' DESC, comparison, level`,
          [mv],
        )
      : [];
  const alerts = Array.isArray(latest?.['alerts']) ? (latest['alerts'] as string[]) : [];
  return {
    latest,
    previous: fix(rows[1]),
    alerts,
    hoursSinceLastRun: age?.h ?? null,
    reviewPending: pending?.n ?? 0,
    auditCounts: Object.fromEntries(audit.map((a) => [a.action, a.n])),
    model,
  };
}
