/**
 * The three business entities and their landing-file (bronze source) column contracts.
 * DECISIONS.md D3: bronze = the seed's columns plus the raw EHR health/coverage columns.
 * Pipeline-added columns (ssn_hash, _ingested_at, _file_name, _file_path, _rescued_data) are not here.
 */
export const ENTITIES = ['patients', 'claims', 'medical_events'] as const;
export type Entity = (typeof ENTITIES)[number];

export const SOURCE_SYSTEMS = ['EHR_SYSTEM', 'ADT_SYSTEM', 'LAB_SYSTEM'] as const;
export type SourceSystem = (typeof SOURCE_SYSTEMS)[number];

/** The systems that send medical events (admissions and discharges; lab results). */
export const EVENT_SOURCE_SYSTEMS: readonly SourceSystem[] = ['ADT_SYSTEM', 'LAB_SYSTEM'];

/** The claims feed's source system (the payer's claims platform). */
export const CLAIMS_SOURCE_SYSTEM = 'CLAIMS_SYSTEM';

export const LANDING_COLUMNS = {
  patients: [
    'patient_id',
    'mrn',
    'first_name',
    'last_name',
    'date_of_birth',
    'gender',
    'address_line1',
    'city',
    'state',
    'zip_code',
    'phone',
    'email',
    'ssn',
    'insurance_id',
    'source_system',
    'bmi',
    'smoker',
    'children',
    'charges',
    'insurance_plan',
    'coverage_start_date',
  ],
  claims: [
    'claim_id',
    'patient_id',
    'claim_amount',
    'claim_date',
    'diagnosis_code',
    'procedure_code',
    'claim_status',
    'source_system',
  ],
  medical_events: ['event_id', 'patient_id', 'event_date', 'event_type', 'medical_provider', 'source_system'],
} as const satisfies Record<Entity, readonly string[]>;

/** The business key of a landing row, per entity. Patients are keyed by (source_system, patient_id). */
export const BUSINESS_KEY = {
  patients: ['source_system', 'patient_id'],
  claims: ['claim_id'],
  medical_events: ['event_id'],
} as const satisfies Record<Entity, readonly string[]>;

/** The spec's five medical event types. */
export const EVENT_TYPES = ['admission', 'discharge', 'lab_result', 'vital_signs', 'clinical_note'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The spec's four claim statuses. */
export const CLAIM_STATUSES = ['submitted', 'approved', 'denied', 'paid'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];
