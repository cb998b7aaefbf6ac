import type { Entity } from './entities.ts';

/**
 * The catalogue of defects the generator injects and the outcome the pipeline owes each one.
 * It is the contract between the generator's ground truth and the pipeline's quality checks:
 * a `repaired` defect must reach silver with a clean value; a `quarantined` defect must land in
 * the quarantine of dataset `{layer}_{entity}` with `rule` among the rules it failed.
 */
export type DefectOutcome =
  | { readonly kind: 'repaired' }
  | {
      readonly kind: 'quarantined';
      readonly layer: 'bronze' | 'silver';
      /** The rule, or the rule per entity where the entities' rules are named differently. */
      readonly rule: string | Readonly<Partial<Record<Entity, string>>>;
    };

export interface DefectKind {
  readonly code: string;
  readonly entities: readonly Entity[];
  readonly description: string;
  readonly outcome: DefectOutcome;
}

const repaired = { kind: 'repaired' } as const;
const q = (layer: 'bronze' | 'silver', rule: string | Partial<Record<Entity, string>>): DefectOutcome => ({
  kind: 'quarantined',
  layer,
  rule,
});

export const DEFECT_KINDS = [
  {
    code: 'date_format',
    entities: ['patients', 'claims', 'medical_events'],
    description: 'A date in another supported format: MM/DD/YYYY, YYYYMMDD, DD-MON-YYYY or an ISO timestamp.',
    outcome: repaired,
  },
  {
    code: 'gender_encoding',
    entities: ['patients'],
    description: 'Gender as male/FEMALE/1/2/0/unknown instead of M/F/U.',
    outcome: repaired,
  },
  {
    code: 'name_casing',
    entities: ['patients'],
    description: 'First or last name in ALL CAPS or lower case, with leading, trailing or doubled spaces.',
    outcome: repaired,
  },
  {
    code: 'test_patient',
    entities: ['patients'],
    description: 'A test record (TEST / ZZTEST in a name) that must never reach silver.',
    outcome: q('bronze', 'no_test_patients'),
  },
  {
    code: 'invalid_birth_date',
    entities: ['patients'],
    description: 'An impossible or unparseable date of birth (e.g. 1980-13-45, "unknown", a future date).',
    outcome: q('silver', 'clinical_safety_age'),
  },
  {
    code: 'icd_unnormalised',
    entities: ['claims'],
    description: 'A valid ICD-10-CM code in lower case, without its dot, or padded with spaces.',
    outcome: repaired,
  },
  {
    code: 'status_vocab',
    entities: ['claims'],
    description: 'A claim status in another spelling: PAID, Denied, " approved ", Submitted.',
    outcome: repaired,
  },
  {
    code: 'amount_format',
    entities: ['claims'],
    description: 'An amount written as money text: "$1,234.50".',
    outcome: repaired,
  },
  {
    code: 'invalid_diagnosis_code',
    entities: ['claims'],
    description: 'A diagnosis code that is malformed or not in the ICD-10-CM code list.',
    outcome: q('silver', 'valid_diagnosis_code'),
  },
  {
    code: 'invalid_procedure_code',
    entities: ['claims'],
    description: 'A procedure code that is neither CPT nor HCPCS Level II in format.',
    outcome: q('silver', 'valid_procedure_code'),
  },
  {
    code: 'bad_amount',
    entities: ['claims'],
    description: 'A claim amount that is not a number, zero, or at least 1,000,000.',
    outcome: q('silver', 'valid_claim_amount'),
  },
  {
    code: 'negative_amount',
    entities: ['claims'],
    description: 'A negative claim amount (a reversal), reported as its own quarantine reason.',
    outcome: q('silver', 'claim_amount_reversal'),
  },
  {
    code: 'future_date',
    entities: ['claims', 'medical_events'],
    description: 'A claim or event date after the extract time.',
    outcome: q('silver', { claims: 'no_future_claims', medical_events: 'no_future_events' }),
  },
  {
    code: 'orphan_reference',
    entities: ['claims', 'medical_events'],
    description: 'A claim or event whose patient id exists in no source system.',
    outcome: q('silver', 'orphan_patient_reference'),
  },
  {
    code: 'duplicate_row',
    entities: ['patients', 'claims', 'medical_events'],
    description: 'An exact copy of an earlier row of the same extract (a resend).',
    outcome: q('silver', 'duplicate_record'),
  },
  {
    code: 'malformed_line',
    entities: ['patients', 'claims', 'medical_events'],
    description: 'A CSV line with too few or too many fields.',
    outcome: q('bronze', 'malformed_csv_row'),
  },
] as const satisfies readonly DefectKind[];

export type DefectCode = (typeof DEFECT_KINDS)[number]['code'];

export function defectKind(code: string): DefectKind | undefined {
  return DEFECT_KINDS.find((d) => d.code === code);
}

/** The quarantine dataset and rule a defect of `code` in an `entity` row must land under, if any. */
export function expectedQuarantine(
  code: string,
  entity: Entity,
): { dataset: string; rule: string } | undefined {
  const kind = defectKind(code);
  if (!kind || kind.outcome.kind !== 'quarantined') return undefined;
  const { layer, rule } = kind.outcome;
  const name = typeof rule === 'string' ? rule : rule[entity];
  return name === undefined ? undefined : { dataset: `${layer}_${entity}`, rule: name };
}
