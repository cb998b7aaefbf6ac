import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Entity } from '../definitions/entities.ts';

/** `truth/manifest.json`: the data set's generator version, seed and options, and every batch written. */
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'carelake-ground-truth/1';

export interface ManifestFile {
  readonly entity: Entity;
  /** The landing file name (also the name of its truth file in the truth folder). */
  readonly fileName: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface ManifestBatch {
  readonly batch: number;
  /** The extract time, ISO 8601 UTC. */
  readonly asOf: string;
  readonly incremental: boolean;
  readonly defectRate: number;
  /**
   * Shares of existing people changed / active in this batch (the data set's, or this batch's own).
   * Absent in manifests written before they were recorded: the data set's shares apply.
   */
  readonly changeShare?: number;
  readonly activityShare?: number;
  /** People created in this batch: indexes [peopleStart, peopleEnd), person ids P(peopleStart+1)… */
  readonly peopleStart: number;
  readonly peopleEnd: number;
  readonly peopleChanged: number;
  readonly peopleActive: number;
  readonly files: readonly ManifestFile[];
  readonly rows: Readonly<Record<Entity, number>>;
  readonly defects: Readonly<Record<string, number>>;
  readonly seconds: number;
}

export interface Manifest {
  readonly format: string;
  readonly generatorVersion: string;
  readonly seed: number;
  /**
   * Data-set options fixed at the first batch. ADT/LAB shares hold for every batch; the change and
   * activity shares are the defaults of incremental batches (a batch may use others, see its entry).
   */
  readonly options: {
    readonly adtShare: number;
    readonly labShare: number;
    readonly changeShare: number;
    readonly activityShare: number;
  };
  readonly people: number;
  readonly batches: readonly ManifestBatch[];
  /** Defect counts per code over all batches. */
  readonly defects: Readonly<Record<string, number>>;
}

export function manifestPath(truthDir: string): string {
  return path.join(truthDir, MANIFEST_FILE);
}

export function readManifest(truthDir: string): Manifest | undefined {
  const file = manifestPath(truthDir);
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  if (parsed.format !== MANIFEST_FORMAT || !Array.isArray(parsed.batches)) {
    throw new Error(`${file} is not a carelake ground-truth manifest`);
  }
  return parsed;
}

/** Writes the manifest atomically (temp file + rename), so a reader never sees half a manifest. */
export function writeManifest(truthDir: string, manifest: Manifest): void {
  const file = manifestPath(truthDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(tmp, file);
}

export function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}
