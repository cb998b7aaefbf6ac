import { CLAIMS_SOURCE_SYSTEM } from '../definitions/entities.ts';
import { isoDate } from './dates.ts';
import { rowNumber } from './ids.ts';
import { round2 } from './people.ts';
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
  return [code, round2(Math.min(250_000, Math.max(5, amount)))];
}

/** One clean claim row: the k-th claim (id `idPrefix` + k) of the member with EHR id `patientId`, dated on `day`. */
export function claimRow(rng: Rng, idPrefix: string, patientId: string, k: number, day: number): string[] {
  const [procedure, amount] = procedureAndAmount(rng);
  return [
    idPrefix + rowNumber(k),
    patientId,
    amount.toFixed(2),
    isoDate(day),
    diagnosisCode(rng),
    procedure,
    STATUS_TABLE.sample(rng),
    CLAIMS_SOURCE_SYSTEM,
  ];
}
