import type { Database } from '../engine/database.ts';
import type { ExpectationResult } from './expectations.ts';

/** Per-file and per-dataset row accounting: rows in = out + quarantined + parked. */
export interface AccountingRow {
  readonly dataset: string;
  readonly file_name: string;
  readonly rows_in: number;
  readonly rows_out: number;
  readonly rows_quarantined: number;
  readonly rows_parked: number;
}

export interface FlowResult {
  readonly dataset: string;
  rowsIn: number;
  rowsOut: number;
  rowsQuarantined: number;
  rowsParked: number;
  expectations: ExpectationResult[];
  seconds: number;
  /** When the flow's last work of this update ended (its flow_progress event's time). */
  completedAt?: Date;
}

/** Everything one pipeline update shares. */
export interface RunContext {
  readonly db: Database;
  readonly runId: string;
  readonly startedAt: Date;
  /** The run start as an SQL TIMESTAMP literal (expectations are evaluated against it: D6). */
  readonly startedAtSql: string;
  readonly ssnKeyId: string;
  readonly ssnPads: { readonly ipadHex: string; readonly opadHex: string };
  readonly orphanGraceHours: number;
  /** A full refresh: silver and gold are rebuilt from bronze (their old rows end as deletes in the feed). */
  readonly fullRefresh: boolean;
  /** The change-feed version this update writes, per table (allocated on a table's first change). */
  readonly versions: Map<string, number>;
  readonly flows: Map<string, FlowResult>;
  readonly accounting: AccountingRow[];
  readonly warnings: string[];
  readonly progress: (label: string, done: number, total: number) => void;
}

export function flow(ctx: RunContext, dataset: string): FlowResult {
  let f = ctx.flows.get(dataset);
  if (!f) {
    f = { dataset, rowsIn: 0, rowsOut: 0, rowsQuarantined: 0, rowsParked: 0, expectations: [], seconds: 0 };
    ctx.flows.set(dataset, f);
  }
  return f;
}

/** Adds expectation counts of one batch to the dataset's totals. */
export function addExpectations(f: FlowResult, results: readonly ExpectationResult[]): void {
  for (const r of results) {
    const i = f.expectations.findIndex((e) => e.name === r.name);
    const prev = f.expectations[i];
    if (prev === undefined) f.expectations.push({ ...r });
    else
      f.expectations[i] = {
        ...prev,
        passed_records: prev.passed_records + r.passed_records,
        failed_records: prev.failed_records + r.failed_records,
      };
  }
}

/** Records an accounting row and fails loudly when it does not add up. */
export function account(ctx: RunContext, row: AccountingRow): void {
  if (row.rows_in !== row.rows_out + row.rows_quarantined + row.rows_parked) {
    throw new AccountingError(row);
  }
  ctx.accounting.push(row);
}

export class AccountingError extends Error {
  constructor(readonly row: AccountingRow) {
    super(
      `rows do not add up for ${row.dataset} (${row.file_name}): in ${row.rows_in} ≠ out ${row.rows_out} + quarantined ${row.rows_quarantined} + parked ${row.rows_parked}`,
    );
    this.name = 'AccountingError';
  }
}
