import { ENTITIES, type Entity } from './entities.ts';

/**
 * Landing file names (DECISIONS.md D2): `{entity}_{yymmdd}_{hhmm}.csv`, the timestamp being the
 * extract time in UTC. A second extract of the same entity in the same minute gets a sequence
 * suffix, `{entity}_{yymmdd}_{hhmm}_{n}.csv` with n = 2, 3, …, which still parses and sorts after
 * the first. The extract time is the records' effective time downstream.
 */
export interface LandingFileName {
  readonly entity: Entity;
  readonly extractedAt: Date;
  readonly sequence: number;
  readonly fileName: string;
}

const PATTERN = new RegExp(
  `^(${ENTITIES.join('|')})_(\\d{2})(\\d{2})(\\d{2})_(\\d{2})(\\d{2})(?:_(\\d+))?\\.csv$`,
);

export function parseLandingFileName(fileName: string): LandingFileName | undefined {
  const m = PATTERN.exec(fileName);
  if (!m) return undefined;
  const [, entity, yy, mo, dd, hh, mi, seq] = m;
  const year = 2000 + Number(yy);
  const extractedAt = new Date(Date.UTC(year, Number(mo) - 1, Number(dd), Number(hh), Number(mi)));
  if (
    extractedAt.getUTCMonth() !== Number(mo) - 1 ||
    extractedAt.getUTCDate() !== Number(dd) ||
    Number(hh) > 23 ||
    Number(mi) > 59
  ) {
    return undefined;
  }
  const sequence = seq === undefined ? 1 : Number(seq);
  if (sequence < 2 && seq !== undefined) return undefined;
  return { entity: entity as Entity, extractedAt, sequence, fileName };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The file name for an extract at `at` (UTC) with the given sequence number (1 = no suffix). */
export function formatLandingFileName(entity: Entity, at: Date, sequence = 1): string {
  const stamp =
    pad2(at.getUTCFullYear() % 100) +
    pad2(at.getUTCMonth() + 1) +
    pad2(at.getUTCDate()) +
    '_' +
    pad2(at.getUTCHours()) +
    pad2(at.getUTCMinutes());
  return sequence <= 1 ? `${entity}_${stamp}.csv` : `${entity}_${stamp}_${sequence}.csv`;
}
