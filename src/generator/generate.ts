import path from 'node:path';
import type { DefectCode } from '../definitions/defect-catalog.ts';
import { ENTITIES, type Entity } from '../definitions/entities.ts';
import type { ChunkSpec } from './chunk.ts';
import { produceChunks } from './chunk-source.ts';
import { makeContext, type BatchInfo } from './context.ts';
import { dayOf } from './dates.ts';
import { deleteOldLandingFiles } from './housekeeping.ts';
import { LandingFileWriter } from './landing-writer.ts';
import {
  addCounts,
  readManifest,
  writeManifest,
  MANIFEST_FORMAT,
  type Manifest,
  type ManifestBatch,
} from './manifest.ts';
import { DEFAULT_SEED, GenerateOptionError, resolveOptions, type GenerateOptions } from './options.ts';
import { numberTruthLines } from './truth.ts';
import { GENERATOR_VERSION } from './version.ts';
import { makeDirectory } from '../support/files.ts';

export interface GeneratedFile {
  readonly entity: Entity;
  readonly fileName: string;
  /** Path of the landing file. */
  readonly path: string;
  /** Path of its ground-truth file. */
  readonly truthPath: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface GenerateSummary {
  readonly generatorVersion: string;
  readonly seed: number;
  readonly batch: number;
  readonly incremental: boolean;
  /** The extract time, ISO 8601 UTC. */
  readonly asOf: string;
  readonly landingDir: string;
  readonly truthDir: string;
  readonly files: readonly GeneratedFile[];
  readonly rows: Readonly<Record<Entity, number>>;
  readonly totalRows: number;
  readonly bytes: number;
  readonly people: {
    readonly created: number;
    readonly changed: number;
    readonly active: number;
    readonly total: number;
  };
  /** Injected defects of this batch, per code. */
  readonly defects: Readonly<Partial<Record<DefectCode, number>>>;
  /** Landing files deleted by housekeeping (--keep-last / --max-age). */
  readonly deletedFiles: readonly string[];
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/** Chunks of existing people (incremental batches) are wider: most of those people are skipped. */
const EXISTING_CHUNK_FACTOR = 10;

function chunkSpecs(from: number, to: number, size: number, out: ChunkSpec[]): void {
  for (let s = from; s < to; s += size) out.push({ start: s, end: Math.min(to, s + size) });
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Generates one batch of synthetic landing files (patients, claims, medical_events) with their
 * ground truth, and updates `truth/manifest.json`. Deterministic: the same seed, options, as-of and
 * generator version give byte-identical files.
 */
export async function generate(options: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const o = resolveOptions(options);
  const landingDir = path.resolve(o.outDir);
  const truthDir = path.resolve(o.truthDir);
  if (isInside(truthDir, landingDir) || isInside(landingDir, truthDir)) {
    throw new GenerateOptionError(
      'the truth folder and the landing folder must be separate (neither inside the other)',
    );
  }
  makeDirectory(landingDir);
  makeDirectory(truthDir);

  const previous = readManifest(truthDir);
  if (o.incremental && !previous)
    throw new GenerateOptionError(
      `--incremental needs an existing data set: no manifest.json in ${truthDir}`,
    );
  if (!o.incremental && previous) {
    throw new GenerateOptionError(
      `${truthDir} already holds a data set; use --incremental to add a batch, or choose another --truth folder`,
    );
  }
  let seed = o.seed ?? DEFAULT_SEED;
  const history: BatchInfo[] = [];
  // The data set's shares: ADT/LAB shares are fixed by the first batch; change/activity shares are
  // the recorded defaults, which one incremental batch may override for itself only.
  let dataSetShares = {
    adtShare: o.adtShare,
    labShare: o.labShare,
    changeShare: o.changeShare,
    activityShare: o.activityShare,
  };
  let batchShares = { changeShare: o.changeShare, activityShare: o.activityShare };
  if (previous) {
    if (previous.generatorVersion !== GENERATOR_VERSION) {
      throw new GenerateOptionError(
        `the data set in ${truthDir} was written by generator ${previous.generatorVersion}; this is ${GENERATOR_VERSION}`,
      );
    }
    if (o.seed !== undefined && o.seed !== previous.seed)
      throw new GenerateOptionError(`the data set's seed is ${previous.seed}, not ${o.seed}`);
    seed = previous.seed;
    dataSetShares = { ...previous.options };
    for (const name of ['adtShare', 'labShare'] as const) {
      const given = options[name];
      if (given !== undefined && given !== dataSetShares[name])
        throw new GenerateOptionError(
          `${name} is fixed by the data set's first batch (${dataSetShares[name]}); an incremental batch cannot change it (got ${given})`,
        );
    }
    batchShares = {
      changeShare: options.changeShare === undefined ? dataSetShares.changeShare : o.changeShare,
      activityShare: options.activityShare === undefined ? dataSetShares.activityShare : o.activityShare,
    };
    const last = previous.batches[previous.batches.length - 1];
    if (last && o.asOf.getTime() <= Date.parse(last.asOf)) {
      throw new GenerateOptionError(
        `as-of ${o.asOf.toISOString()} must be later than the previous batch's ${last.asOf}`,
      );
    }
    for (const b of previous.batches)
      history.push({
        batch: b.batch,
        asOfDay: dayOf(new Date(b.asOf)),
        peopleStart: b.peopleStart,
        peopleEnd: b.peopleEnd,
        // Manifests written before batches recorded their shares: every batch used the data set's.
        changeShare: b.changeShare ?? dataSetShares.changeShare,
        activityShare: b.activityShare ?? dataSetShares.activityShare,
      });
  }
  const before = previous?.people ?? 0;
  const batch = history.length + 1;
  const asOfDay = dayOf(o.asOf);
  const current: BatchInfo = {
    batch,
    asOfDay,
    peopleStart: before,
    peopleEnd: before + o.patients,
    ...batchShares,
  };
  const ctx = makeContext({
    seed,
    batch,
    asOfMs: o.asOf.getTime(),
    asOfDay,
    previousAsOfDay: history.length > 0 ? (history[history.length - 1] as BatchInfo).asOfDay : undefined,
    defectRate: o.defectRate,
    adtShare: dataSetShares.adtShare,
    labShare: dataSetShares.labShare,
    ...batchShares,
    batches: [...history, current],
  });

  const specs: ChunkSpec[] = [];
  chunkSpecs(0, before, o.chunkSize * EXISTING_CHUNK_FACTOR, specs);
  chunkSpecs(before, current.peopleEnd, o.chunkSize, specs);

  const writers = ENTITIES.map((e) => new LandingFileWriter(e, landingDir, truthDir, o.asOf));
  const defects: Partial<Record<DefectCode, number>> = {};
  const people = { created: 0, changed: 0, active: 0 };
  const progress = options.progress;
  progress?.start('generate', current.peopleEnd);
  let truthScratch = Buffer.alloc(0);
  try {
    for await (const chunk of produceChunks(ctx, specs, o.workers)) {
      for (const w of writers) {
        const part = chunk.out[w.entity];
        if (part.rows === 0) continue;
        // The numbered truth goes into one reused scratch buffer (append writes synchronously).
        const need = part.truth.length + part.rows * (String(w.nextLine + part.rows).length + 1);
        if (truthScratch.length < need) truthScratch = Buffer.allocUnsafe(Math.ceil(need * 1.25));
        w.append(part.text, numberTruthLines(part.truth, w.nextLine, part.rows, truthScratch), part.rows);
      }
      addCounts(defects, chunk.defects);
      people.created += chunk.people.created;
      people.changed += chunk.people.changed;
      people.active += chunk.people.active;
      progress?.update(chunk.end);
    }
    for (const w of writers) w.publish();
  } catch (error: unknown) {
    for (const w of writers) w.discard();
    throw error;
  } finally {
    progress?.stop();
  }

  const rows = { patients: 0, claims: 0, medical_events: 0 } as Record<Entity, number>;
  for (const w of writers) rows[w.entity] = w.rows;
  const seconds = (performance.now() - started) / 1000;
  const batchEntry: ManifestBatch = {
    batch,
    asOf: o.asOf.toISOString(),
    incremental: o.incremental,
    defectRate: o.defectRate,
    ...batchShares,
    peopleStart: current.peopleStart,
    peopleEnd: current.peopleEnd,
    peopleChanged: people.changed,
    peopleActive: people.active,
    files: writers.map((w) => ({ entity: w.entity, fileName: w.fileName, rows: w.rows, bytes: w.bytes })),
    rows,
    defects: defects as Record<string, number>,
    seconds: Math.round(seconds * 1000) / 1000,
  };
  const totals: Record<string, number> = { ...(previous?.defects ?? {}) };
  addCounts(totals, defects as Record<string, number>);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    generatorVersion: GENERATOR_VERSION,
    seed,
    options: dataSetShares,
    people: current.peopleEnd,
    batches: [...(previous?.batches ?? []), batchEntry],
    defects: totals,
  };
  writeManifest(truthDir, manifest);

  const deletedFiles = deleteOldLandingFiles(landingDir, {
    keepLast: o.keepLast,
    maxAgeMs: o.maxAgeMs,
    now: o.asOf,
  });
  const totalRows = rows.patients + rows.claims + rows.medical_events;
  const finalSeconds = (performance.now() - started) / 1000;
  return {
    generatorVersion: GENERATOR_VERSION,
    seed,
    batch,
    incremental: o.incremental,
    asOf: o.asOf.toISOString(),
    landingDir,
    truthDir,
    files: writers.map((w) => ({
      entity: w.entity,
      fileName: w.fileName,
      path: w.landingPath,
      truthPath: path.join(truthDir, w.fileName),
      rows: w.rows,
      bytes: w.bytes,
    })),
    rows,
    totalRows,
    bytes: writers.reduce((n, w) => n + w.bytes, 0),
    people: { ...people, total: current.peopleEnd },
    defects,
    deletedFiles,
    seconds: finalSeconds,
    rowsPerSecond: finalSeconds > 0 ? totalRows / finalSeconds : 0,
  };
}
