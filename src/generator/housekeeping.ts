import { readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { ENTITIES } from '../definitions/entities.ts';
import { parseLandingFileName, type LandingFileName } from '../definitions/landing-files.ts';

export interface HousekeepingOptions {
  /** Keep only the newest N files per entity. */
  readonly keepLast?: number | undefined;
  /** Delete files whose extract time is more than this many ms before `now`. */
  readonly maxAgeMs?: number | undefined;
  readonly now: Date;
}

function newestFirst(a: LandingFileName, b: LandingFileName): number {
  return b.extractedAt.getTime() - a.extractedAt.getTime() || b.sequence - a.sequence;
}

/**
 * Deletes old landing files. Only names that parse as landing files are considered (anything else
 * in the folder is left alone); the extract time in the name, not the file's mtime, is its age.
 * Returns the deleted file names, oldest first per entity.
 */
export function deleteOldLandingFiles(landingDir: string, o: HousekeepingOptions): string[] {
  if (o.keepLast === undefined && o.maxAgeMs === undefined) return [];
  const files = readdirSync(landingDir)
    .map(parseLandingFileName)
    .filter((f): f is LandingFileName => f !== undefined);
  const deleted: string[] = [];
  for (const entity of ENTITIES) {
    const mine = files.filter((f) => f.entity === entity).sort(newestFirst);
    const doomed = mine.filter(
      (f, i) =>
        (o.keepLast !== undefined && i >= o.keepLast) ||
        (o.maxAgeMs !== undefined && f.extractedAt.getTime() < o.now.getTime() - o.maxAgeMs),
    );
    for (const f of doomed.reverse()) {
      unlinkSync(path.join(landingDir, f.fileName));
      deleted.push(f.fileName);
    }
  }
  return deleted;
}

/** Parses a duration like `90s`, `15m`, `12h`, `7d`, `2w` into milliseconds (undefined if malformed). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[
    m[2] as 's' | 'm' | 'h' | 'd' | 'w'
  ];
  const ms = Number(m[1]) * unit;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
