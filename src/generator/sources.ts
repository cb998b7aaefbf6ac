import { CLAIMS_SOURCE_SYSTEM } from '../definitions/entities.ts';
import type { BatchContext } from './context.ts';
import { isoDate } from './dates.ts';
import { driftedIdentity, formatPhone, formatSsn, type DriftedIdentity } from './drift.ts';
import { adtId, ehrId, labId } from './ids.ts';
import type { Person } from './people.ts';
import { hashUnit, type Rng, STREAM } from './prng.ts';

export { CLAIMS_SOURCE_SYSTEM };

/** Share of ADT/LAB records that have events (the rest are registrations only). */
export const ACTIVE_RECORD_SHARE = 0.8;

/** Which source systems hold a record of person `index` (a pure function of seed and index). */
export interface SourceFlags {
  readonly adt: boolean;
  readonly lab: boolean;
  /** The ADT record has events (in any batch). Registration-only records never get any. */
  readonly adtActive: boolean;
  readonly labActive: boolean;
}

export function hasRecord(ctx: BatchContext, index: number, system: 'ADT' | 'LAB'): boolean {
  return system === 'ADT'
    ? hashUnit(ctx.seedLo, STREAM.sources, index, 1) < ctx.adtShare
    : hashUnit(ctx.seedLo, STREAM.sources, index, 2) < ctx.labShare;
}

export function hasActiveRecord(ctx: BatchContext, index: number, system: 'ADT' | 'LAB'): boolean {
  return (
    hasRecord(ctx, index, system) &&
    hashUnit(ctx.seedLo, STREAM.sources, index, system === 'ADT' ? 3 : 4) < ACTIVE_RECORD_SHARE
  );
}

export function sourceFlags(ctx: BatchContext, index: number): SourceFlags {
  const adt = hasRecord(ctx, index, 'ADT');
  const lab = hasRecord(ctx, index, 'LAB');
  return {
    adt,
    lab,
    adtActive: adt && hashUnit(ctx.seedLo, STREAM.sources, index, 3) < ACTIVE_RECORD_SHARE,
    labActive: lab && hashUnit(ctx.seedLo, STREAM.sources, index, 4) < ACTIVE_RECORD_SHARE,
  };
}

/** Share of EHR rows whose SSN is written without dashes (drift, not a defect). */
export const UNDASHED_SSN_SHARE = 0.03;

/** The EHR_SYSTEM patient row (the system of record: full demographics, health metrics, coverage). */
export function ehrPatientRow(p: Person, rng: Rng): string[] {
  return ehrPatientFields(p, !rng.chance(UNDASHED_SSN_SHARE));
}

/** The EHR row's fields, given the one draw it takes (whether the SSN is written with dashes). */
export function ehrPatientFields(p: Person, dashedSsn: boolean): string[] {
  return [
    ehrId(p.index),
    p.mrn,
    p.firstName,
    p.lastName,
    isoDate(p.birthDay),
    p.sex,
    p.address.line1,
    p.address.city,
    p.address.state,
    p.address.zip,
    formatPhone(p.phone, 'dashed'),
    p.email,
    formatSsn(p.ssn, dashedSsn),
    p.insuranceId,
    'EHR_SYSTEM',
    p.bmi.toFixed(1),
    p.smoker ? 'true' : 'false',
    String(p.children),
    p.charges.toFixed(2),
    p.plan,
    isoDate(p.coverageStartDay),
  ];
}

/** An ADT or LAB copy: its own local id, drifted demographics, no health metrics or coverage. */
export function copyPatientRow(
  p: Person,
  rng: Rng,
  system: 'ADT' | 'LAB',
): { fields: string[]; drift: DriftedIdentity } {
  const c = drawCopy(p, rng, system);
  return { drift: c.drift, fields: copyPatientFields(c) };
}

/** The values of an ADT or LAB copy, drawn in the order copyPatientRow draws them. */
export interface CopyDraw {
  readonly system: 'ADT' | 'LAB';
  readonly id: string;
  readonly drift: DriftedIdentity;
  readonly sex: 'F' | 'M';
  readonly mrn: string;
  readonly insurance: string;
}

export function drawCopy(p: Person, rng: Rng, system: 'ADT' | 'LAB'): CopyDraw {
  const drift = driftedIdentity(rng, p, system);
  const id = system === 'ADT' ? adtId(p.index) : labId(p.index);
  const mrnValue = system === 'ADT' && rng.chance(0.7) ? p.mrn : '';
  const insurance = rng.chance(0.6) ? p.insuranceId : '';
  return { system, id, drift, sex: p.sex, mrn: mrnValue, insurance };
}

export function copyPatientFields(c: CopyDraw): string[] {
  const d = c.drift;
  const system = c.system;
  return [
    c.id,
    c.mrn,
    d.firstName,
    d.lastName,
    isoDate(d.birthDay),
    c.sex,
    d.address.line1,
    d.address.city,
    d.address.state,
    d.address.zip,
    d.phone,
    d.email,
    d.ssn,
    c.insurance,
    system === 'ADT' ? 'ADT_SYSTEM' : 'LAB_SYSTEM',
    '',
    '',
    '',
    '',
    '',
    '',
  ];
}
