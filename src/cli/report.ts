import type { LakehouseSummary } from '../monitoring/summary.ts';
import type { RunResult } from '../runner/run.ts';
import { formatRows, printable, printableLines } from './format.ts';

/** The human summary of one run: files, flows, expectation pass rates, quarantine by rule, DQ score. */
export function renderRunReport(result: RunResult, summary: LakehouseSummary): string {
  const out: string[] = [];
  const ingested = result.files.filter((f) => f.action === 'ingested').length;
  const deferred = result.files.filter((f) => f.action === 'deferred').length;
  // A failed update rolled back: its planned files were not ingested and are tried again next time.
  const files =
    (result.status === 'COMPLETED'
      ? `${ingested} file(s) ingested`
      : `nothing ingested (rolled back; ${ingested} file(s) will be tried again)`) +
    (deferred ? `, ${deferred} still being written left for a later run` : '');
  out.push(
    `Update ${result.runId} ${result.status} in ${result.seconds.toFixed(1)} s${result.fullRefresh ? ' (full refresh)' : ''}: ${files}.`,
  );
  if (result.error) out.push(`Error: ${printableLines(result.error)}`);
  if (result.keySwitch)
    out.push(
      `SSN key switched from ${result.keySwitch.from} to ${result.keySwitch.to}: every SSN re-hashed.`,
    );
  if (result.landing) {
    const l = result.landing;
    out.push(
      `Landing: ${l.rawFiles} raw file(s) remain in the landing folder, ${l.rawFilesWithSsn} of them with SSNs (patients files); ${l.archived} archived (${l.archivedWithSsn} with SSNs)${l.retentionActions ? `; ${l.retentionActions} file(s) archived or deleted by --retain-landing` : ''}.`,
    );
  }
  for (const w of result.warnings) out.push(`warning: ${printable(w)}`);
  if (result.flows.length) {
    out.push('', 'Flows (this run):');
    out.push(
      formatRows(
        result.flows.map((f) => ({
          dataset: f.dataset,
          in: f.rowsIn,
          out: f.rowsOut,
          quarantined: f.rowsQuarantined,
          parked: f.rowsParked,
          seconds: f.seconds.toFixed(2),
        })),
        'table',
      ).trimEnd(),
    );
  }
  if (result.identity) {
    out.push(
      '',
      `Identity: ${result.identity.newRecords} new source record(s), ${result.identity.linkedToExisting} linked to existing patients, ${result.identity.newPatients} new patient(s); ${result.identity.reviewQueued} pair(s) queued for review (model ${result.identity.modelVersion}; \`carelake identity report\`).`,
    );
  }
  out.push('', 'Rows per table:', formatRows(summary.tables, 'table').trimEnd());
  const rates = summary.expectations.filter((e) => e.failed > 0);
  out.push('', 'Expectations with failures (all runs):');
  out.push(rates.length ? formatRows(rates, 'table').trimEnd() : '(every expectation passed)');
  out.push('', 'Quarantine by rule:');
  out.push(summary.quarantine.length ? formatRows(summary.quarantine, 'table').trimEnd() : '(empty)');
  out.push(
    '',
    `Rows waiting for their patient (parked): ${summary.parked}`,
    `Average data quality score (silver_patients): ${summary.averageDataQualityScore ?? 'n/a'}`,
  );
  return out.join('\n') + '\n';
}
