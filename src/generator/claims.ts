import { CLAIMS_SOURCE_SYSTEM } from '../definitions/entities.ts';
import { isoDate } from './dates.ts';
import { rowNumber } from './ids.ts';
import { type Rng, Weighted } from './prng.ts';
import { referenceData } from './reference-data.ts';
import {
  BILLED_MULTIPLIER,
  COMMON_ICD10,
  COMMON_ICD10_SHARE,
  CONVERSION_FACTOR_2024,
  EM_CODES,
  EM_SHARE,
  STATUS_SHARES,
} from './tables/codes.ts';

const COMMON_ICD = new Weighted(
  COMMON_ICD10.map((c) => c[0]),
  COMMON_ICD10.map((c) => c[1]),
);
const EM_TABLE = new Weighted(
  EM_CODES,
  EM_CODES.map((c) => c[2]),
);
const STATUS_TABLE = new Weighted(
  STATUS_SHARES.map((s) => s[0]),
  STATUS_SHARES.map((s) => s[1]),
);

/** Mean claims per new person: 1 + Poisson(2.5) = 3.5. */
export const NEW_PERSON_EXTRA_CLAIMS = 2.5;
/** Claims per active existing person in an incremental batch: 1 + Poisson(0.5). */
export const ACTIVE_PERSON_EXTRA_CLAIMS = 0.5;

export function diagnosisCode(rng: Rng): string {
  if (rng.next() < COMMON_ICD10_SHARE) return COMMON_ICD.sample(rng);
  return rng.pick(referenceData().icdCodes);
}

/** A procedure code and its billed amount (E/M payment or HCPCS RVU × conversion factor, lognormal noise). */
export function procedureAndAmount(rng: Rng): [string, number] {
  const code = procedureDraw(rng);
  return [code, drawnCents / 100];
}

/** The hundredths of the last procedureDraw's amount (a module slot: no tuple per claim). */
let drawnCents = 0;

function procedureDraw(rng: Rng): string {
  let code: string;
  let base: number;
  if (rng.next() < EM_SHARE) {
    const em = EM_TABLE.sample(rng);
    code = em[0];
    base = em[1];
  } else {
    const h = rng.pick(referenceData().hcpcs);
    code = h.code;
    base = h.rvu > 0 ? h.rvu * CONVERSION_FACTOR_2024 : 60 * Math.exp(rng.normal(0, 1));
  }
  const amount = base * BILLED_MULTIPLIER * Math.exp(rng.normal(0, 0.35));
  // round2(x) is Math.round(x * 100) / 100, whose toFixed(2) writes exactly these hundredths.
  drawnCents = Math.round(Math.min(250_000, Math.max(5, amount)) * 100);
  return code;
}

/** The values of one claim, drawn in the order claimRow draws them (reused: valid until the next draw). */
export interface ClaimDraw {
  procedure: string;
  /** claim_amount in hundredths. */
  cents: number;
  diagnosis: string;
  status: string;
}

const draw: ClaimDraw = { procedure: '', cents: 0, diagnosis: '', status: '' };

export function drawClaim(rng: Rng): ClaimDraw {
  draw.procedure = procedureDraw(rng);
  draw.cents = drawnCents;
  draw.diagnosis = diagnosisCode(rng);
  draw.status = STATUS_TABLE.sample(rng);
  return draw;
}

/** The CSV fields of a drawn claim (for the defect path, which rewrites fields). */
export function claimFields(
  idPrefix: string,
  patientId: string,
  k: number,
  day: number,
  c: ClaimDraw,
): string[] {
  return [
    idPrefix + rowNumber(k),
    patientId,
    (c.cents / 100).toFixed(2),
    isoDate(day),
    c.diagnosis,
    c.procedure,
    c.status,
    CLAIMS_SOURCE_SYSTEM,
  ];
}

/** One clean claim row: the k-th claim (id `idPrefix` + k) of the member with EHR id `patientId`, dated on `day`. */
export function claimRow(rng: Rng, idPrefix: string, patientId: string, k: number, day: number): string[] {
  return claimFields(idPrefix, patientId, k, day, drawClaim(rng));
}
