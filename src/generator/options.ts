import type { Progress } from '../cli/progress.ts';
import { floorToMinute } from './dates.ts';
import { MAX_PEOPLE } from './ids.ts';

/** Options of one generator run (one batch). Only `patients` is required. */
export interface GenerateOptions {
  /** People created in this batch (in an incremental batch: new people, on top of the existing ones). */
  readonly patients: number;
  /** Seed (a whole number 0 … 2^53−1); default 1. An incremental batch continues the manifest's seed. */
  readonly seed?: number;
  /** The landing folder; default `./landing`. */
  readonly outDir?: string;
  /** The ground-truth folder; default `./truth`. Must not be inside the landing folder. */
  readonly truthDir?: string;
  /** The extract time: names the files and bounds every date; default now, rounded down to the minute (UTC). */
  readonly asOf?: Date;
  /** Share of rows carrying an injected defect; default 0.005. */
  readonly defectRate?: number;
  /**
   * Share of people with an ADT_SYSTEM record; default 0.6. Fixed by the first batch: an incremental
   * batch given another value is refused.
   */
  readonly adtShare?: number;
  /** Share of people with a LAB_SYSTEM record; default 0.55. Fixed by the first batch, like adtShare. */
  readonly labShare?: number;
  /**
   * Share of existing people with changed attributes per incremental batch; default 0.03. The first
   * batch records it as the data set's; an incremental batch given another uses it for itself only.
   */
  readonly changeShare?: number;
  /** Share of existing people with new claims/events per incremental batch; default 0.08 (as changeShare). */
  readonly activityShare?: number;
  /** Continue the data set in `truthDir` (its manifest) with a new batch. */
  readonly incremental?: boolean;
  /** People per chunk (memory/throughput trade-off; does not change the output); default 10,000. */
  readonly chunkSize?: number;
  /** Worker threads (0 = generate on the calling thread; does not change the output); default 0. */
  readonly workers?: number;
  /** After writing, keep only the newest N landing files per entity. */
  readonly keepLast?: number;
  /** After writing, delete landing files whose extract time is older than this (ms before as-of). */
  readonly maxAgeMs?: number;
  readonly progress?: Progress;
}

export interface ResolvedOptions {
  readonly patients: number;
  readonly seed: number | undefined;
  readonly outDir: string;
  readonly truthDir: string;
  readonly asOf: Date;
  readonly defectRate: number;
  readonly adtShare: number;
  readonly labShare: number;
  readonly changeShare: number;
  readonly activityShare: number;
  readonly incremental: boolean;
  readonly chunkSize: number;
  readonly workers: number;
  readonly keepLast: number | undefined;
  readonly maxAgeMs: number | undefined;
}

/** A bad option value (the CLI reports it as a usage error). */
export class GenerateOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerateOptionError';
  }
}

function rate(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || v > 1)
    throw new GenerateOptionError(`${name} must be a number from 0 to 1, got ${v}`);
  return v;
}

function whole(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw new GenerateOptionError(`${name} must be a whole number from ${min} to ${max}, got ${v}`);
  return v;
}

export function resolveOptions(o: GenerateOptions, now: () => Date = () => new Date()): ResolvedOptions {
  const asOf = o.asOf ?? floorToMinute(now());
  if (!(asOf instanceof Date) || Number.isNaN(asOf.getTime()))
    throw new GenerateOptionError('asOf must be a valid date');
  if (asOf.getUTCFullYear() < 2001 || asOf.getUTCFullYear() > 2099)
    throw new GenerateOptionError(
      `asOf must be in the years 2001–2099 (file names carry a 2-digit year), got ${asOf.toISOString()}`,
    );
  const outDir = o.outDir ?? 'landing';
  const truthDir = o.truthDir ?? 'truth';
  return {
    patients: whole('patients', o.patients, 0, o.incremental ? 0 : 1, MAX_PEOPLE),
    seed: o.seed === undefined ? undefined : whole('seed', o.seed, 1, 0, Number.MAX_SAFE_INTEGER),
    outDir,
    truthDir,
    asOf,
    defectRate: rate('defectRate', o.defectRate, 0.005),
    adtShare: rate('adtShare', o.adtShare, 0.6),
    labShare: rate('labShare', o.labShare, 0.55),
    changeShare: rate('changeShare', o.changeShare, 0.03),
    activityShare: rate('activityShare', o.activityShare, 0.08),
    incremental: o.incremental ?? false,
    chunkSize: whole('chunkSize', o.chunkSize, 10_000, 1, 1_000_000),
    workers: whole('workers', o.workers, 0, 0, 16),
    keepLast: o.keepLast === undefined ? undefined : whole('keepLast', o.keepLast, 1, 1, 1_000_000),
    maxAgeMs:
      o.maxAgeMs === undefined
        ? undefined
        : whole('maxAgeMs', o.maxAgeMs, 0, 60_000, Number.MAX_SAFE_INTEGER),
  };
}

export const DEFAULT_SEED = 1;
