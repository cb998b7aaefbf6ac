import { seedWords } from './prng.ts';

/** One earlier or current batch of a data set, as the generator needs it. */
export interface BatchInfo {
  readonly batch: number;
  /** The batch's extract time as a day number (days since 1970-01-01, UTC). */
  readonly asOfDay: number;
  /** People created in this batch: person indexes [peopleStart, peopleEnd). */
  readonly peopleStart: number;
  readonly peopleEnd: number;
  /** Share of existing people changed in this batch (replayed exactly in later batches). */
  readonly changeShare: number;
  /** Share of existing people with new claims and events in this batch. */
  readonly activityShare: number;
}

/** Everything a chunk of generation needs; plain data, so it can be sent to a worker thread. */
export interface BatchContext {
  readonly seed: number;
  readonly seedLo: number;
  readonly seedHi: number;
  readonly batch: number;
  readonly asOfMs: number;
  readonly asOfDay: number;
  /** The previous batch's extract day (undefined in the first batch). */
  readonly previousAsOfDay: number | undefined;
  readonly defectRate: number;
  readonly adtShare: number;
  readonly labShare: number;
  /** Share of existing people with changed attributes (a new EHR row) in this batch. */
  readonly changeShare: number;
  /** Share of existing people with new claims and events in this batch. */
  readonly activityShare: number;
  /** All batches so far, this one last. */
  readonly batches: readonly BatchInfo[];
}

export function makeContext(args: Omit<BatchContext, 'seedLo' | 'seedHi'>): BatchContext {
  const [seedLo, seedHi] = seedWords(args.seed);
  return { ...args, seedLo, seedHi };
}

/** The batch that created person `index`. */
export function creatingBatch(ctx: BatchContext, index: number): BatchInfo {
  for (const b of ctx.batches) if (index >= b.peopleStart && index < b.peopleEnd) return b;
  throw new Error(`person index ${index} belongs to no batch`);
}

export function peopleTotal(ctx: BatchContext): number {
  const last = ctx.batches[ctx.batches.length - 1];
  return last ? last.peopleEnd : 0;
}
