import { DEFECT_KINDS, type DefectCode } from '../definitions/defect-catalog.ts';
import { LANDING_COLUMNS, type Entity } from '../definitions/entities.ts';
import type { BatchContext } from './context.ts';
import { alternativeDate, isoDate, ymd } from './dates.ts';
import { orphanId } from './ids.ts';
import type { Rng } from './prng.ts';
import { referenceData } from './reference-data.ts';

/**
 * Defect injection. A row is defective with probability `defectRate`; its kind is drawn uniformly
 * among the catalogue's kinds valid for the entity and for that row. Each row carries at most one
 * defect. Identity-breaking patient defects (test_patient, invalid_birth_date, malformed_line) only
 * go to ADT/LAB registration-only records (records no event will ever reference), so a defect never
 * leaves another row orphaned. `duplicate_row` keeps the row clean and adds a copy (the copy carries
 * the defect).
 */

const KINDS_BY_ENTITY: Record<Entity, readonly DefectCode[]> = {
  patients: kindsFor('patients'),
  claims: kindsFor('claims'),
  medical_events: kindsFor('medical_events'),
};

function kindsFor(entity: Entity): DefectCode[] {
  return DEFECT_KINDS.filter((k) => (k.entities as readonly Entity[]).includes(entity)).map((k) => k.code);
}

const IDENTITY_BREAKING: ReadonlySet<DefectCode> = new Set([
  'test_patient',
  'invalid_birth_date',
  'malformed_line',
]);
const PATIENT_SAFE = KINDS_BY_ENTITY.patients.filter((k) => !IDENTITY_BREAKING.has(k));

export function defectKindsFor(entity: Entity, identitySafe = true): readonly DefectCode[] {
  return entity === 'patients' && !identitySafe ? PATIENT_SAFE : KINDS_BY_ENTITY[entity];
}

/** Draws whether a row is defective and which kind; undefined for a clean row. */
export function drawDefect(
  ctx: BatchContext,
  rng: Rng,
  entity: Entity,
  identitySafe: boolean,
): DefectCode | undefined {
  if (ctx.defectRate <= 0 || rng.next() >= ctx.defectRate) return undefined;
  return rng.pick(defectKindsFor(entity, identitySafe));
}

const COL = {
  patients: indexer(LANDING_COLUMNS.patients),
  claims: indexer(LANDING_COLUMNS.claims),
  medical_events: indexer(LANDING_COLUMNS.medical_events),
};
function indexer<T extends string>(cols: readonly T[]): Record<T, number> {
  return Object.fromEntries(cols.map((c, i) => [c, i])) as Record<T, number>;
}

function futureDay(ctx: BatchContext, rng: Rng): number {
  return ctx.asOfDay + rng.int(1, 400);
}

function wellFormedUnknownIcd(rng: Rng): string {
  const set = referenceData().icdSet;
  const L = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  for (;;) {
    const code = `${L.charAt(rng.int(0, 25))}${rng.int(0, 9)}${rng.int(0, 9)}.${rng.int(0, 9)}${rng.int(0, 9)}${rng.int(0, 9)}`;
    if (!set.has(code)) return code;
  }
}

function moneyText(amount: string): string {
  const [whole, cents] = amount.split('.') as [string, string];
  return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}

/** Rewrites `fields` in place so that it carries defect `code` (duplicate_row is handled by the caller). */
export function applyDefect(
  ctx: BatchContext,
  rng: Rng,
  entity: Entity,
  fields: string[],
  code: DefectCode,
): void {
  switch (code) {
    case 'date_format': {
      const column =
        entity === 'patients'
          ? fields[COL.patients.coverage_start_date] !== '' && rng.chance(0.3)
            ? COL.patients.coverage_start_date
            : COL.patients.date_of_birth
          : entity === 'claims'
            ? COL.claims.claim_date
            : COL.medical_events.event_date;
      const day = Math.floor(Date.parse(fields[column] as string) / 86_400_000);
      fields[column] = alternativeDate(day, rng.int(0, 4095));
      return;
    }
    case 'gender_encoding': {
      const male = fields[COL.patients.gender] === 'M';
      fields[COL.patients.gender] = rng.pick(
        male ? ['male', 'MALE', 'Male', '1'] : ['female', 'FEMALE', 'Female', '2'],
      );
      return;
    }
    case 'name_casing': {
      const column = rng.chance(0.5) ? COL.patients.first_name : COL.patients.last_name;
      const name = fields[column] as string;
      const v = rng.int(0, 3);
      fields[column] =
        v === 0 ? name.toUpperCase() : v === 1 ? name.toLowerCase() : v === 2 ? `  ${name}` : `${name}  `;
      return;
    }
    case 'test_patient': {
      const v = rng.int(0, 3);
      if (v === 0) fields[COL.patients.last_name] = 'TEST';
      else if (v === 1) fields[COL.patients.first_name] = 'ZZTEST';
      else if (v === 2) {
        fields[COL.patients.first_name] = 'TEST';
        fields[COL.patients.last_name] = 'PATIENT';
      } else fields[COL.patients.last_name] = 'Testpatient';
      return;
    }
    case 'invalid_birth_date': {
      const { year } = ymd(Math.floor(Date.parse(fields[COL.patients.date_of_birth] as string) / 86_400_000));
      const v = rng.int(0, 3);
      fields[COL.patients.date_of_birth] =
        v === 0
          ? `${year}-13-45`
          : v === 1
            ? `${year}-02-30`
            : v === 2
              ? rng.pick(['unknown', '00/00/0000', 'N/A'])
              : isoDate(futureDay(ctx, rng));
      return;
    }
    case 'icd_unnormalised': {
      const code = fields[COL.claims.diagnosis_code] as string;
      const variants = [code.toLowerCase(), ` ${code} `, `${code} `];
      if (code.includes('.')) variants.push(code.replace('.', ''), code.replace('.', '').toLowerCase());
      fields[COL.claims.diagnosis_code] = rng.pick(variants);
      return;
    }
    case 'status_vocab': {
      const s = fields[COL.claims.claim_status] as string;
      fields[COL.claims.claim_status] = rng.pick([
        s.toUpperCase(),
        s.charAt(0).toUpperCase() + s.slice(1),
        ` ${s} `,
      ]);
      return;
    }
    case 'amount_format':
      fields[COL.claims.claim_amount] = moneyText(fields[COL.claims.claim_amount] as string);
      return;
    case 'invalid_diagnosis_code':
      fields[COL.claims.diagnosis_code] = rng.chance(0.6)
        ? wellFormedUnknownIcd(rng)
        : rng.pick(['12345', 'E11..9', 'XYZ', 'I1O', 'DX-UNKNOWN']);
      return;
    case 'invalid_procedure_code':
      fields[COL.claims.procedure_code] = rng.pick([
        'ABC12',
        '1234',
        'X9999Z',
        'PROC01',
        '99-213',
        '0000000',
      ]);
      return;
    case 'bad_amount':
      fields[COL.claims.claim_amount] = rng.pick(['abc', '0.00', '1500000.00', 'N/A', '2750000.00']);
      return;
    case 'negative_amount':
      fields[COL.claims.claim_amount] = '-' + (fields[COL.claims.claim_amount] as string);
      return;
    case 'future_date': {
      const column = entity === 'claims' ? COL.claims.claim_date : COL.medical_events.event_date;
      fields[column] = isoDate(futureDay(ctx, rng));
      return;
    }
    case 'orphan_reference': {
      const system =
        entity === 'claims'
          ? 'EHR'
          : fields[COL.medical_events.source_system] === 'ADT_SYSTEM'
            ? 'ADT'
            : 'LAB';
      fields[1] = orphanId(system, rng.nextU32());
      return;
    }
    case 'malformed_line': {
      if (rng.chance(0.5)) fields.splice(fields.length - rng.int(1, Math.min(3, fields.length - 1)));
      else fields.push(rng.pick(['EXTRA', '', 'n/a']));
      return;
    }
    case 'duplicate_row':
      return;
  }
}
