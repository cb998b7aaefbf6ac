import {
  CLAIM_STATUSES,
  CLAIMS_SOURCE_SYSTEM,
  EVENT_TYPES,
  LANDING_COLUMNS,
  type Entity,
} from '../definitions/entities.ts';
import { peopleTotal, type BatchContext } from './context.ts';
import { parseIsoDate } from './dates.ts';
import { isCleanName, type DriftedIdentity } from './drift.ts';
import type { Address, Person } from './people.ts';
import { personIndexOfLocalId } from './ids.ts';
import { referenceData } from './reference-data.ts';
import { hasActiveRecord, hasRecord } from './sources.ts';
import { COMMON_ICD10, EM_CODES, INSURANCE_PLANS, STATUS_SHARES } from './tables/codes.ts';
import { CITIES, EMAIL_DOMAINS, STREET_NAMES, STREET_SUFFIXES } from './tables/places.ts';
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES } from './tables/first-names.ts';
import { HOSPITAL_PREFIXES, HOSPITAL_SUFFIXES, LAB_NAMES } from './tables/providers.ts';
import { SURNAMES } from './tables/surnames.ts';

/**
 * The strict format of a clean landing row. A row without a recorded defect must pass these checks
 * (the generator validates every clean row before writing it; tests use the same checks on the files).
 * Returns a description of the first problem, or undefined.
 */
const CITY_ZIP3 = new Set(CITIES.map((c) => `${c.city}|${c.state}|${c.zip3}`));
const PLANS = new Set(INSURANCE_PLANS.map((p) => p[0]));
const STATUSES: ReadonlySet<string> = new Set(CLAIM_STATUSES);
const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const PHONE = /^(\d{3}-\d{3}-\d{4}|\(\d{3}\) \d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}|\d{10}|\+1\d{10})$/;
const EMAIL = /^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]{2,}$/;
const SSN = /^9\d{2}(-\d{2}-|\d{2})\d{4}$/;
let hcpcsSet: ReadonlySet<string> | undefined;

function hcpcs(): ReadonlySet<string> {
  hcpcsSet ??= new Set(referenceData().hcpcs.map((h) => h.code));
  return hcpcsSet;
}

export interface CleanCheckContext {
  readonly ctx: BatchContext;
}

/** `text` is `prefix` followed by exactly `digits` decimal digits (a cheap regex replacement for hot paths). */
function prefixedDigits(text: string, prefix: string, digits: number): boolean {
  if (text.length !== prefix.length + digits || !text.startsWith(prefix)) return false;
  for (let i = prefix.length; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Money with two decimals, 1–7 integer digits (e.g. 1234.50). */
function isMoney(text: string): boolean {
  const dot = text.length - 3;
  if (dot < 1 || dot > 7 || text.charCodeAt(dot) !== 46) return false;
  for (let i = 0; i < text.length; i++) {
    if (i === dot) continue;
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const providerOk = new Map<string, boolean>();
function isProviderName(text: string): boolean {
  let ok = providerOk.get(text);
  if (ok === undefined) {
    ok = /^[A-Z][A-Za-z.' ]+$/.test(text);
    if (providerOk.size < 200_000) providerOk.set(text, ok);
  }
  return ok;
}

/**
 * Referential integrity of a claim or event: the id is of a generated person (in this or an earlier
 * batch) and, for ADT/LAB, that person's record in that system has events. Rows of one person come
 * together, so the last confirmed reference is remembered.
 */
let lastReference = '';
let lastReferenceContext: BatchContext | undefined;
let lastReferenceTotal = -1;
function knownReference(
  ctx: BatchContext,
  id: string,
  system: 'EHR' | 'ADT' | 'LAB',
  total: number,
): boolean {
  if (id === lastReference && ctx === lastReferenceContext && total === lastReferenceTotal) return true;
  const index = personIndexOfLocalId(id, system);
  if (index === undefined || index >= total || (system !== 'EHR' && !hasActiveRecord(ctx, index, system)))
    return false;
  lastReference = id;
  lastReferenceContext = ctx;
  lastReferenceTotal = total;
  return true;
}

/** Two capital letters and nine digits (an insurance member id). */
function isMemberId(text: string): boolean {
  if (text.length !== 11) return false;
  for (let i = 0; i < 2; i++) {
    const c = text.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return prefixedDigits(text, text.slice(0, 2), 9);
}

/** A BMI written dd.d. */
function isBmiText(text: string): boolean {
  return (
    text.length === 4 && text.charCodeAt(2) === 46 && prefixedDigits(text.slice(0, 2) + text.slice(3), '', 3)
  );
}

function isoNotAfter(text: string, maxDay: number): number | undefined {
  const day = parseIsoDate(text);
  return day !== undefined && day <= maxDay ? day : undefined;
}

/**
 * `strict` checks every field's format (tests use it on the written files). `write` is the check the
 * generator runs on every clean row before writing it: referential integrity, dates, ranges, codes,
 * enumerations and names, but the formats of free text it builds from fixed patterns (address line,
 * phone, e-mail, SSN) only for the absence of commas and quotes, which keeps the row unquoted.
 */
export type CheckLevel = 'strict' | 'write';

function hasCsvSpecial(text: string): boolean {
  return text.indexOf(',') >= 0 || text.indexOf('"') >= 0 || text.indexOf('\n') >= 0;
}

export function cleanRowProblem(
  ctx: BatchContext,
  entity: Entity,
  f: readonly string[],
  level: CheckLevel = 'strict',
): string | undefined {
  if (f.length !== LANDING_COLUMNS[entity].length)
    return `has ${f.length} fields, expected ${LANDING_COLUMNS[entity].length}`;
  const total = peopleTotal(ctx);
  if (entity === 'patients') return patientProblem(ctx, f, total, level === 'strict');
  if (entity === 'claims') return claimProblem(ctx, f, total);
  return eventProblem(ctx, f, total);
}

function patientProblem(
  ctx: BatchContext,
  f: readonly string[],
  total: number,
  strict: boolean,
): string | undefined {
  // Indexed access, not destructuring: this runs for millions of rows.
  const id = f[0] as string;
  const mrnValue = f[1] as string;
  const first = f[2] as string;
  const last = f[3] as string;
  const dob = f[4] as string;
  const gender = f[5] as string;
  const line1 = f[6] as string;
  const city = f[7] as string;
  const state = f[8] as string;
  const zip = f[9] as string;
  const phone = f[10] as string;
  const email = f[11] as string;
  const ssn = f[12] as string;
  const insurance = f[13] as string;
  const source = f[14] as string;
  const system =
    source === 'EHR_SYSTEM'
      ? 'EHR'
      : source === 'ADT_SYSTEM'
        ? 'ADT'
        : source === 'LAB_SYSTEM'
          ? 'LAB'
          : undefined;
  if (!system) return `unknown source_system "${source}"`;
  const index = personIndexOfLocalId(id as string, system);
  if (index === undefined || index >= total) return `patient_id "${id}" is no generated ${source} id`;
  if (system !== 'EHR') {
    if (!hasRecord(ctx, index, system))
      return `patient_id "${id}" belongs to a person without a ${source} record`;
  }
  if (
    system === 'EHR'
      ? !prefixedDigits(mrnValue, 'MRN', 8)
      : mrnValue !== '' && !prefixedDigits(mrnValue, 'MRN', 8)
  )
    return `bad mrn "${mrnValue}"`;
  if (!isCleanName(first as string)) return `bad first_name "${first}"`;
  if (!isCleanName(last as string)) return `bad last_name "${last}"`;
  const birth = isoNotAfter(dob as string, ctx.asOfDay);
  if (birth === undefined || birth < ctx.asOfDay - 150 * 366) return `bad date_of_birth "${dob}"`;
  if (gender !== 'M' && gender !== 'F') return `bad gender "${gender}"`;
  if (!strict) {
    if (hasCsvSpecial(line1) || hasCsvSpecial(phone) || hasCsvSpecial(email) || hasCsvSpecial(ssn)) {
      return 'a free-text field holds a comma, quote or line break';
    }
  } else if (!/^\d{1,4} [A-Za-z]+ [A-Za-z]+( Apt \d{1,2}[A-C]?)?$/.test(line1 as string))
    return `bad address_line1 "${line1}"`;
  if (!/^\d{5}$/.test(zip as string) || !CITY_ZIP3.has(`${city}|${state}|${(zip as string).slice(0, 3)}`))
    return `city/state/zip disagree: "${city}", "${state}", "${zip}"`;
  if (!referenceData().stateRegion.has(state as string)) return `unknown state "${state}"`;
  if (strict && phone !== '' && !PHONE.test(phone as string)) return `bad phone "${phone}"`;
  if (strict && email !== '' && !EMAIL.test(email as string)) return `bad email "${email}"`;
  if (strict && ssn !== '' && !SSN.test(ssn as string)) return `bad ssn format`;
  if (system === 'EHR' ? !isMemberId(insurance) : insurance !== '' && !isMemberId(insurance))
    return `bad insurance_id "${insurance}"`;
  const bmi = f[15] as string;
  const smoker = f[16] as string;
  const children = f[17] as string;
  const charges = f[18] as string;
  const plan = f[19] as string;
  const coverage = f[20] as string;
  if (system !== 'EHR') {
    return bmi === '' && smoker === '' && children === '' && charges === '' && plan === '' && coverage === ''
      ? undefined
      : 'ADT/LAB copy with EHR-only columns';
  }
  const b = Number(bmi);
  if (!isBmiText(bmi) || b < 16 || b > 50) return `bad bmi "${bmi}"`;
  if (smoker !== 'true' && smoker !== 'false') return `bad smoker "${smoker}"`;
  if (!/^[0-5]$/.test(children as string)) return `bad children "${children}"`;
  if (!isMoney(charges) || Number(charges) < 1_100) return `bad charges "${charges}"`;
  if (!PLANS.has(plan as string)) return `bad insurance_plan "${plan}"`;
  const cov = isoNotAfter(coverage as string, ctx.asOfDay);
  if (cov === undefined || cov < birth) return `bad coverage_start_date "${coverage}"`;
  return undefined;
}

function claimProblem(ctx: BatchContext, f: readonly string[], total: number): string | undefined {
  const claimId = f[0] as string;
  const patientId = f[1] as string;
  const amount = f[2] as string;
  const date = f[3] as string;
  const diagnosis = f[4] as string;
  const procedure = f[5] as string;
  const status = f[6] as string;
  const source = f[7] as string;
  if (!prefixedDigits(claimId, 'CLM', 14)) return `bad claim_id "${claimId}"`;
  if (!knownReference(ctx, patientId, 'EHR', total))
    return `claim patient_id "${patientId}" is no generated EHR id`;
  const a = Number(amount);
  if (!isMoney(amount) || !(a > 0 && a < 1_000_000)) return `bad claim_amount "${amount}"`;
  if (isoNotAfter(date as string, ctx.asOfDay) === undefined) return `bad claim_date "${date}"`;
  if (!referenceData().icdSet.has(diagnosis as string)) return `bad diagnosis_code "${diagnosis}"`;
  if (!prefixedDigits(procedure, '99', 3) && !hcpcs().has(procedure))
    return `bad procedure_code "${procedure}"`;
  if (!STATUSES.has(status as string)) return `bad claim_status "${status}"`;
  if (source !== CLAIMS_SOURCE_SYSTEM) return `bad source_system "${source}"`;
  return undefined;
}

function eventProblem(ctx: BatchContext, f: readonly string[], total: number): string | undefined {
  const eventId = f[0] as string;
  const patientId = f[1] as string;
  const date = f[2] as string;
  const type = f[3] as string;
  const provider = f[4] as string;
  const source = f[5] as string;
  if (!prefixedDigits(eventId, 'EV', 14)) return `bad event_id "${eventId}"`;
  const system = source === 'ADT_SYSTEM' ? 'ADT' : source === 'LAB_SYSTEM' ? 'LAB' : undefined;
  if (!system) return `bad source_system "${source}"`;
  if (!knownReference(ctx, patientId, system, total))
    return `event patient_id "${patientId}" is no generated ${source} id with events`;
  if (isoNotAfter(date as string, ctx.asOfDay) === undefined) return `bad event_date "${date}"`;
  if (!EVENT_TYPE_SET.has(type as string) || (type === 'lab_result') !== (system === 'LAB'))
    return `bad event_type "${type}" for ${source}`;
  if (provider === '' ? type !== 'lab_result' : !isProviderName(provider))
    return `bad medical_provider "${provider}"`;
  return undefined;
}

/**
 * The `write` check of a clean claim on its values, before they are serialised: the same guarantees
 * as the row check without re-parsing text. The member is a generated person (the id is derived from
 * the index, so the index is what is checked), the claim number fits the id's 3 digits, the amount
 * is in (0, 1,000,000), the date is on or before the extract, and the codes and status are known.
 */
export function claimValuesProblem(
  ctx: BatchContext,
  personIndex: number,
  patientId: string,
  k: number,
  day: number,
  c: {
    readonly procedure: string;
    readonly cents: number;
    readonly diagnosis: string;
    readonly status: string;
  },
): string | undefined {
  if (!(personIndex >= 0 && personIndex < peopleTotal(ctx)))
    return `claim patient_id "${patientId}" is no generated EHR id`;
  if (!(k >= 1 && k <= 999)) return `claim number ${k} does not fit the claim_id`;
  if (!(Number.isInteger(c.cents) && c.cents > 0 && c.cents < 100_000_000))
    return `bad claim_amount ${c.cents / 100}`;
  if (!(Number.isInteger(day) && day <= ctx.asOfDay && day >= MIN_DAY)) return `bad claim_date day ${day}`;
  // Codes and statuses are drawn only from the code tables, checked once against the reference lists.
  if (!claimTablesChecked) checkClaimTables();
  if (!STATUSES.has(c.status)) return `bad claim_status "${c.status}"`;
  return undefined;
}

let claimTablesChecked = false;
function checkClaimTables(): void {
  const icd = referenceData().icdSet;
  for (const [code] of COMMON_ICD10)
    if (!icd.has(code)) throw new Error(`COMMON_ICD10 holds "${code}", which is no ICD-10-CM code`);
  for (const [code] of EM_CODES)
    if (!prefixedDigits(code, '99', 3) && !hcpcs().has(code))
      throw new Error(`EM_CODES holds "${code}", which is no procedure code`);
  for (const [status] of STATUS_SHARES)
    if (!STATUSES.has(status)) throw new Error(`STATUS_SHARES holds "${status}", which is no claim status`);
  for (const code of [...referenceData().icdCodes, ...hcpcs()])
    if (hasCsvSpecial(code) || code.trim() !== code) throw new Error(`code "${code}" needs CSV quoting`);
  claimTablesChecked = true;
}

/** The earliest day a clean row may carry (1870-01-01: four-digit years, inside the date caches). */
const MIN_DAY = -36_524;

/**
 * The `write` check of a clean event on its values: the person is generated and their record in
 * `system` has events (`referenceOk`), the event number fits the id, the date is on or before the
 * extract, the type belongs to the system, and a provider is present unless it is a lab result.
 * Provider names are built from the name tables only, which are checked once when this module loads.
 */
export function eventValuesProblem(
  ctx: BatchContext,
  personIndex: number,
  referenceOk: boolean,
  k: number,
  system: 'ADT' | 'LAB',
  e: { readonly type: string; readonly day: number; readonly provider: string },
): string | undefined {
  if (!(personIndex >= 0 && personIndex < peopleTotal(ctx)) || !referenceOk)
    return `event patient_id of person ${personIndex} is no generated ${system}_SYSTEM id with events`;
  if (!(k >= 1 && k <= 999)) return `event number ${k} does not fit the event_id`;
  if (!(Number.isInteger(e.day) && e.day <= ctx.asOfDay && e.day >= MIN_DAY))
    return `bad event_date day ${e.day}`;
  if (!EVENT_TYPE_SET.has(e.type) || (e.type === 'lab_result') !== (system === 'LAB'))
    return `bad event_type "${e.type}" for ${system}_SYSTEM`;
  if (e.provider === '' && e.type !== 'lab_result') return `bad medical_provider ""`;
  return undefined;
}

// Provider names are "Dr. {first name} {surname}", "{hospital prefix} {hospital suffix}" or a lab
// name: when every table entry is a provider-name part, every built name is a valid provider.
for (const part of [
  ...FEMALE_FIRST_NAMES,
  ...MALE_FIRST_NAMES,
  ...SURNAMES,
  ...HOSPITAL_PREFIXES,
  ...HOSPITAL_SUFFIXES,
  ...LAB_NAMES,
]) {
  if (!isProviderName(part)) throw new Error(`provider name table entry "${part}" is no valid provider name`);
}

/** The name tables people's names are drawn from (plus the fixed fallbacks for twins). */
const TABLE_FIRST_NAMES: ReadonlySet<string> = new Set([
  ...FEMALE_FIRST_NAMES,
  ...MALE_FIRST_NAMES,
  'Grace',
  'Henry',
  'Alice',
  'Peter',
]);
const TABLE_SURNAMES: ReadonlySet<string> = new Set(SURNAMES);

/** State → city → ZIP3 of the city table (two lookups on table strings instead of a built key). */
const ZIP3_BY_STATE_CITY = new Map<string, Map<string, string>>();
for (const c of CITIES) {
  let cities = ZIP3_BY_STATE_CITY.get(c.state);
  if (!cities) ZIP3_BY_STATE_CITY.set(c.state, (cities = new Map()));
  cities.set(c.city, c.zip3);
}

let patientTablesChecked = false;
/**
 * The tables free-text patient fields are built from (streets, e-mail domains, cities) hold nothing
 * that needs CSV quoting, and every city's state is a known state: checked once, so the values
 * built from them need no per-row scan.
 */
function checkPatientTables(): void {
  const states = referenceData().stateRegion;
  for (const text of [...STREET_NAMES, ...STREET_SUFFIXES, ...EMAIL_DOMAINS])
    if (hasCsvSpecial(text) || /\s/.test(text)) throw new Error(`table entry "${text}" is no clean token`);
  for (const name of [...TABLE_FIRST_NAMES, ...TABLE_SURNAMES])
    if (!isCleanName(name)) throw new Error(`name table entry "${name}" is no clean name`);
  for (const c of CITIES) {
    if (hasCsvSpecial(c.city) || !states.has(c.state) || !/^\d{3}$/.test(c.zip3))
      throw new Error(`city table entry ${c.city}, ${c.state}, ${c.zip3} is not clean`);
  }
  patientTablesChecked = true;
}

/** Demographics every clean patient row carries, checked on their values before serialisation. */
function demographicsProblem(
  ctx: BatchContext,
  index: number,
  first: string,
  last: string,
  tableFirst: string | undefined,
  tableLast: string | undefined,
  birthDay: number,
  sex: string,
  address: Address,
): string | undefined {
  if (!patientTablesChecked) checkPatientTables();
  if (!(index >= 0 && index < peopleTotal(ctx))) return `person ${index} is no generated person`;
  // `tableFirst`/`tableLast`: the person's own names, drawn from the name tables (every entry checked
  // once in checkPatientTables); a copy repeating them needs no second look.
  // Names from the (small, checked) tables are looked up there first: isCleanName's cache holds every
  // drifted name seen, and grows too large to stay in the CPU caches.
  if (first !== tableFirst && !TABLE_FIRST_NAMES.has(first) && !isCleanName(first))
    return `bad first_name "${first}"`;
  if (last !== tableLast && !TABLE_SURNAMES.has(last) && !isCleanName(last)) return `bad last_name "${last}"`;
  if (!(Number.isInteger(birthDay) && birthDay <= ctx.asOfDay && birthDay >= ctx.asOfDay - 150 * 366))
    return `bad date_of_birth day ${birthDay}`;
  if (sex !== 'M' && sex !== 'F') return `bad gender "${sex}"`;
  const zip3 = ZIP3_BY_STATE_CITY.get(address.state)?.get(address.city);
  const zip = address.zip;
  if (zip3 === undefined || zip.length !== 5 || !zip.startsWith(zip3) || !prefixedDigits(zip, zip3, 2))
    return `city/state/zip disagree: "${address.city}", "${address.state}", "${zip}"`;
  return undefined;
}

/**
 * The `write` check of a clean EHR row on the person's values: demographics as above, phone and SSN
 * digits, BMI in [16, 50], children 0–5, premium ≥ 1,100 (at most 7 integer digits), a known plan,
 * coverage from birth to the extract. Ids (EHR id, MRN, member id) are functions of the index.
 */
export function ehrValuesProblem(ctx: BatchContext, p: Person): string | undefined {
  const problem = demographicsProblem(
    ctx,
    p.index,
    p.firstName,
    p.lastName,
    undefined,
    undefined,
    p.birthDay,
    p.sex,
    p.address,
  );
  if (problem !== undefined) return problem;
  if (!prefixedDigits(p.phone, '', 10)) return `bad phone digits "${p.phone}"`;
  if (!prefixedDigits(p.ssn, '9', 8)) return 'bad ssn digits';
  if (hasCsvSpecial(p.email)) return 'the email holds a comma, quote or line break';
  const tenths = Math.round(p.bmi * 10);
  if (!(tenths >= 160 && tenths <= 500)) return `bad bmi ${p.bmi}`;
  if (!(Number.isInteger(p.children) && p.children >= 0 && p.children <= 5))
    return `bad children ${p.children}`;
  const cents = Math.round(p.charges * 100);
  if (!(cents >= 110_000 && cents < 1_000_000_000)) return `bad charges ${p.charges}`;
  if (!PLANS.has(p.plan)) return `bad insurance_plan "${p.plan}"`;
  const cov = p.coverageStartDay;
  if (!(Number.isInteger(cov) && cov >= p.birthDay && cov <= ctx.asOfDay))
    return `bad coverage_start_date day ${cov}`;
  return undefined;
}

/** The `write` check of a clean ADT/LAB copy: the person has a record there, drifted demographics are clean. */
export function copyValuesProblem(
  ctx: BatchContext,
  index: number,
  system: 'ADT' | 'LAB',
  d: DriftedIdentity,
  sex: string,
  personFirst: string,
  personLast: string,
): string | undefined {
  if (!hasRecord(ctx, index, system)) return `person ${index} has no ${system}_SYSTEM record`;
  // A copy's names are the person's (checked with the EHR row) unless drift changed them.
  return demographicsProblem(
    ctx,
    index,
    d.firstName,
    d.lastName,
    personFirst,
    personLast,
    d.birthDay,
    sex,
    d.address,
  );
}
