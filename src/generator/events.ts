import { isoDate } from './dates.ts';
import { rowNumber } from './ids.ts';
import { FEMALE_NAMES, MALE_NAMES, SURNAME_TABLE } from './people.ts';
import type { Rng } from './prng.ts';
import { HOSPITAL_PREFIXES, HOSPITAL_SUFFIXES, LAB_NAMES } from './tables/providers.ts';

/** Share of lab results without a provider (allowed by the spec's provider_information rule). */
export const LAB_WITHOUT_PROVIDER_SHARE = 0.3;

export function doctorName(rng: Rng): string {
  const first = (rng.next() < 0.5 ? FEMALE_NAMES : MALE_NAMES).sample(rng);
  return `Dr. ${first} ${SURNAME_TABLE.sample(rng)}`;
}

export function facilityName(rng: Rng): string {
  return `${rng.pick(HOSPITAL_PREFIXES)} ${rng.pick(HOSPITAL_SUFFIXES)}`;
}

/** Length of stay in days: 0–30, skewed short (median 2–3 days). */
export function lengthOfStay(rng: Rng): number {
  return Math.min(30, Math.floor(-Math.log(1 - rng.next()) * 3.5));
}

/** A planned event: its type, day and provider. */
export interface PlannedEvent {
  readonly type: 'admission' | 'discharge' | 'vital_signs' | 'clinical_note' | 'lab_result';
  readonly day: number;
  readonly provider: string;
}

/**
 * The ADT events of one person in [lo, hi]: admission/discharge pairs (discharge 0–30 days after
 * admission, never after hi) and vital signs / clinical notes, mostly by the person's own doctor.
 */
export function planAdtEvents(
  rng: Rng,
  lo: number,
  hi: number,
  stays: number,
  others: number,
): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  const doctor = doctorName(rng);
  const span = hi - lo;
  for (let s = 0; s < stays; s++) {
    const los = Math.min(lengthOfStay(rng), span);
    const admit = lo + Math.floor(rng.next() * (span - los + 1));
    const facility = facilityName(rng);
    out.push({ type: 'admission', day: admit, provider: facility });
    out.push({ type: 'discharge', day: admit + los, provider: facility });
  }
  for (let i = 0; i < others; i++) {
    const day = lo + Math.floor(rng.next() * (span + 1));
    const type = rng.next() < 0.55 ? 'vital_signs' : 'clinical_note';
    const provider =
      rng.next() < 0.7
        ? doctor
        : type === 'vital_signs' && rng.next() < 0.5
          ? facilityName(rng)
          : doctorName(rng);
    out.push({ type, day, provider });
  }
  return out;
}

export function planLabEvents(rng: Rng, lo: number, hi: number, count: number): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  const lab = rng.pick(LAB_NAMES);
  for (let i = 0; i < count; i++) {
    const day = lo + Math.floor(rng.next() * (hi - lo + 1));
    const provider =
      rng.next() < LAB_WITHOUT_PROVIDER_SHARE ? '' : rng.next() < 0.8 ? lab : rng.pick(LAB_NAMES);
    out.push({ type: 'lab_result', day, provider });
  }
  return out;
}

/** Stays per active ADT record: 0:50 %, 1:30 %, 2:15 %, 3:5 % (mean 0.75, i.e. 1.5 events). */
export function stayCount(rng: Rng): number {
  const u = rng.next();
  return u < 0.5 ? 0 : u < 0.8 ? 1 : u < 0.95 ? 2 : 3;
}

export function eventRow(
  idPrefix: string,
  patientId: string,
  k: number,
  system: 'ADT' | 'LAB',
  e: PlannedEvent,
): string[] {
  return [
    idPrefix + rowNumber(k),
    patientId,
    isoDate(e.day),
    e.type,
    e.provider,
    system === 'ADT' ? 'ADT_SYSTEM' : 'LAB_SYSTEM',
  ];
}
