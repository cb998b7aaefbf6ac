import crypto from 'node:crypto';
import type { Database } from '../engine/database.ts';
import { PIPELINE_NAME } from '../definitions/pipeline.ts';
import type { FlowResult } from './context.ts';

/**
 * The event log, in the shape of Lakeflow's (id, sequence, origin, timestamp, message, level, error,
 * details, event_type), so the same questions can be asked of both engines: e.g. expectations per
 * dataset are in `details.flow_progress.data_quality.expectations`.
 */
export interface EventOrigin {
  readonly pipelineId: string;
  readonly updateId: string;
}

export type EventLevel = 'INFO' | 'WARN' | 'ERROR' | 'METRICS';

let seq = 0;

export interface LoggedEvent {
  readonly eventType: string;
  readonly level: EventLevel;
  readonly message: string;
  readonly details: unknown;
  readonly datasetName?: string;
  readonly error?: unknown;
  /** When it happened; by default when it is logged. */
  readonly at?: Date;
}

/**
 * A time as the text of a TIMESTAMP (UTC). Events carry the time they happened, not the engine's
 * `now()`, which is the start of the open transaction: every event of an update, logged inside its
 * transaction, would have the update's start time.
 */
export const timestampText = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '');

export async function logEvent(db: Database, origin: EventOrigin, event: LoggedEvent): Promise<void> {
  await logEvents(db, origin, [event]);
}

/** Logs `events` in their order with one statement. */
export async function logEvents(
  db: Database,
  origin: EventOrigin,
  events: readonly LoggedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const now = new Date();
  const params = events.flatMap((event) => {
    seq += 1;
    return [
      crypto.randomUUID(),
      JSON.stringify({
        control_plane_seq_no: Date.now() * 1000 + (seq % 1000),
        data_plane_id: { seq_no: seq },
      }),
      JSON.stringify({
        pipeline_id: origin.pipelineId,
        pipeline_name: PIPELINE_NAME,
        update_id: origin.updateId,
        ...(event.datasetName ? { flow_name: event.datasetName, dataset_name: event.datasetName } : {}),
      }),
      timestampText(event.at ?? now),
      event.message,
      event.level,
      event.error === undefined ? null : JSON.stringify(event.error),
      JSON.stringify(event.details),
      event.eventType,
    ];
  });
  await db.run(
    `INSERT INTO event_log VALUES ${events
      .map(() => `(?, ?::JSON, ?::JSON, ?::TIMESTAMP, ?, ?, 'STABLE', ?::JSON, ?::JSON, ?)`)
      .join(', ')}`,
    params,
  );
}

export function flowProgressDetails(f: FlowResult): unknown {
  return {
    flow_progress: {
      status: 'COMPLETED',
      metrics: { num_output_rows: f.rowsOut, num_input_rows: f.rowsIn, num_parked_rows: f.rowsParked },
      data_quality: {
        dropped_records: f.rowsQuarantined,
        expectations: f.expectations.map((e) => ({
          name: e.name,
          dataset: e.dataset,
          action: e.action,
          passed_records: e.passed_records,
          failed_records: e.failed_records,
        })),
      },
    },
  };
}
