import { usableSsnDigits } from '../definitions/ssn.ts';
import { creatingBatch, type BatchContext } from './context.ts';
import { yearsBetween } from './dates.ts';
import { insuranceId, mrn, pad4, personId } from './ids.ts';
import { hashUnit, Rng, STREAM, Weighted } from './prng.ts';
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES } from './tables/first-names.ts';
import { SURNAMES } from './tables/surnames.ts';
import {
  CITIES,
  EMAIL_DOMAIN_WEIGHTS,
  EMAIL_DOMAINS,
  STATE_POPULATION_THOUSANDS,
  STREET_NAMES,
  STREET_SUFFIXES,
  type City,
} from './tables/places.ts';
import { INSURANCE_PLANS } from './tables/codes.ts';

/** A synthetic person: the identity truth behind every source record of theirs. */
export interface Person {
  readonly index: number;
  readonly personId: string;
  sex: 'F' | 'M';
  firstName: string;
  lastName: string;
  birthDay: number;
  address: Address;
  /** 10 digits. */
  phone: string;
  email: string;
  /** 9 digits, area 900–999 (never issued to a real person). */
  ssn: string;
  readonly mrn: string;
  readonly insuranceId: string;
  plan: string;
  coverageStartDay: number;
  bmi: number;
  smoker: boolean;
  children: number;
  charges: number;
  pair: 'none' | 'twin' | 'junior';
}

export interface Address {
  readonly line1: string;
  readonly city: string;
  readonly state: string;
  readonly zip: string;
  readonly areaCode: string;
}

const rank = (n: number, power: number): number[] =>
  Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, power));
export const FEMALE_NAMES = new Weighted(FEMALE_FIRST_NAMES, rank(FEMALE_FIRST_NAMES.length, 0.6));
export const MALE_NAMES = new Weighted(MALE_FIRST_NAMES, rank(MALE_FIRST_NAMES.length, 0.6));
export const SURNAME_TABLE = new Weighted(SURNAMES, rank(SURNAMES.length, 0.75));
const CITIES_BY_STATE = new Map<string, City[]>();
for (const c of CITIES) {
  const list = CITIES_BY_STATE.get(c.state);
  if (list) list.push(c);
  else CITIES_BY_STATE.set(c.state, [c]);
}
const STATE_TABLE = new Weighted(
  Object.keys(STATE_POPULATION_THOUSANDS),
  Object.values(STATE_POPULATION_THOUSANDS),
);
const PLAN_TABLE = new Weighted(
  INSURANCE_PLANS.map((p) => p[0]),
  INSURANCE_PLANS.map((p) => p[1]),
);
const DOMAIN_TABLE = new Weighted(EMAIL_DOMAINS, EMAIL_DOMAIN_WEIGHTS);
/** Children 0–5 with shares 43/24/18/12/2/1 %. */
const CHILDREN_TABLE = new Weighted([0, 1, 2, 3, 4, 5], [43, 24, 18, 12, 2, 1]);

export const DAYS_PER_YEAR = 365.2425;
export const SMOKER_SHARE = 0.17;
export const TWIN_PAIR_SHARE = 0.005;
export const JUNIOR_PAIR_SHARE = 0.005;

export function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function randomAddress(rng: Rng): Address {
  const state = STATE_TABLE.sample(rng);
  const city = rng.pick(CITIES_BY_STATE.get(state) as City[]);
  return addressIn(rng, city);
}

export function addressIn(rng: Rng, city: City): Address {
  let line1 = `${rng.int(1, 9899)} ${rng.pick(STREET_NAMES)} ${rng.pick(STREET_SUFFIXES)}`;
  if (rng.chance(0.14)) line1 += ` Apt ${rng.int(1, 40)}${rng.pick(['', 'A', 'B', 'C'])}`;
  const zip = city.zip3 + pad4(rng.int(1, 99)).slice(2);
  return { line1, city: city.city, state: city.state, zip, areaCode: city.areaCode };
}

export function randomPhone(rng: Rng, areaCode: string): string {
  return areaCode + '555' + pad4(rng.int(100, 9999));
}

export function randomSsn(rng: Rng): string {
  return usable(pad4(rng.int(900, 999)).slice(1) + pad4(rng.int(1, 99)).slice(2) + pad4(rng.int(1, 9999)));
}

/**
 * `ssn`, or when it is a placeholder the pipeline takes for no SSN (999-99-9999, the advertising
 * numbers 987-65-4320 to 4329), the same area and group with another serial.
 */
function usable(ssn: string): string {
  return usableSsnDigits(ssn) === undefined
    ? ssn.slice(0, 5) + pad4(((Number(ssn.slice(5)) + 5000) % 9999) + 1)
    : ssn;
}

/** Lower-case letters of a name, for e-mail addresses (cached: names come from small tables). */
const emailParts = new Map<string, string>();
function clean(s: string): string {
  let part = emailParts.get(s);
  if (part === undefined) {
    part = s.toLowerCase().replace(/[^a-z]/g, '');
    if (emailParts.size < 100_000) emailParts.set(s, part);
  }
  return part;
}

export function emailFor(rng: Rng, first: string, last: string): string {
  const style = rng.int(0, 3);
  const local =
    style === 0
      ? `${clean(first)}.${clean(last)}`
      : style === 1
        ? `${clean(first)}${clean(last)}${rng.int(1, 99)}`
        : style === 2
          ? `${clean(first).charAt(0)}${clean(last)}`
          : `${clean(last)}.${clean(first)}${rng.int(1950, 2010)}`;
  return `${local}@${DOMAIN_TABLE.sample(rng)}`;
}

/** The yearly premium: the notes' OLS fit (§5) plus noise, floored at 1,100, two decimals. */
export function premium(rng: Rng, age: number, bmi: number, children: number, smoker: boolean): number {
  const mean = -11_939 + 256.9 * age + 339.2 * bmi + 475.5 * children + (smoker ? 23_849 : 0);
  return round2(Math.max(1_100 + rng.next() * 400, mean + rng.normal(0, 4_500)));
}

function firstNameFor(rng: Rng, sex: 'F' | 'M'): string {
  return (sex === 'F' ? FEMALE_NAMES : MALE_NAMES).sample(rng);
}

/** A person's own draws, before any household pairing. */
function ownPerson(ctx: BatchContext, rng: Rng, index: number, createdDay: number): Person {
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.person, index);
  const sex: 'F' | 'M' = rng.next() < 0.505 ? 'F' : 'M';
  const firstName = firstNameFor(rng, sex);
  const lastName = SURNAME_TABLE.sample(rng);
  const age = clip(rng.normal(45, 15), 0, 105);
  const birthDay = createdDay - Math.floor(age * DAYS_PER_YEAR) - rng.int(0, 1);
  const address = randomAddress(rng);
  const phone = randomPhone(rng, address.areaCode);
  const email = rng.chance(0.05) ? '' : emailFor(rng, firstName, lastName);
  const ssn = randomSsn(rng);
  const plan = PLAN_TABLE.sample(rng);
  const yearsCovered = rng.next() * 12;
  const coverageStartDay = Math.max(birthDay, createdDay - Math.floor(yearsCovered * DAYS_PER_YEAR));
  // BMI ~ Normal(28, 6), clipped to [16, 50]: the silver rule valid_bmi, so clean rows stay clean.
  const bmi = Math.round(clip(rng.normal(28, 6), 16, 50) * 10) / 10;
  const wholeAge = yearsBetween(birthDay, createdDay);
  const smokerDraw = rng.next() < SMOKER_SHARE;
  const smoker = wholeAge >= 14 && smokerDraw;
  const childrenDraw = CHILDREN_TABLE.sample(rng);
  const children = wholeAge >= 18 ? childrenDraw : 0;
  const charges = premium(rng, wholeAge, bmi, children, smoker);
  return {
    index,
    personId: personId(index),
    sex,
    firstName,
    lastName,
    birthDay,
    address,
    phone,
    email,
    ssn,
    mrn: mrn(index),
    insuranceId: insuranceId(index),
    plan,
    coverageStartDay,
    bmi,
    smoker,
    children,
    charges,
    pair: 'none',
  };
}

export type PairKind = 'none' | 'twin' | 'junior';

/** People come in index pairs (2k, 2k+1); a small share of pairs are twins or Jr./Sr. */
export function pairKind(ctx: BatchContext, index: number): PairKind {
  const u = hashUnit(ctx.seedLo, STREAM.pairs, index >>> 1, ctx.seedHi);
  return u < TWIN_PAIR_SHARE ? 'twin' : u < TWIN_PAIR_SHARE + JUNIOR_PAIR_SHARE ? 'junior' : 'none';
}

/**
 * The person at `index` as created (the base state, before any later change), a pure function of
 * (seed, index, the as-of of the batch that created them).
 */
export function basePerson(ctx: BatchContext, rng: Rng, index: number): Person {
  const createdDay = creatingBatch(ctx, index).asOfDay;
  const person = ownPerson(ctx, rng, index, createdDay);
  const kind = pairKind(ctx, index);
  if (kind === 'none') return person;
  if ((index & 1) === 0) {
    person.pair = kind;
    return person;
  }
  const anchorIndex = index - 1;
  const anchor = ownPerson(ctx, rng, anchorIndex, creatingBatch(ctx, anchorIndex).asOfDay);
  // Draws for the pairing come from the second person's own stream (after their own draws).
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.pairs, index);
  person.pair = kind;
  person.lastName = anchor.lastName;
  person.address = anchor.address;
  person.phone = anchor.phone;
  if (kind === 'twin') {
    person.birthDay = anchor.birthDay;
    // A different first name: re-draw until it differs from the twin's.
    for (let i = 0; i < 8 && person.firstName === anchor.firstName; i++)
      person.firstName = firstNameFor(rng, person.sex);
    if (person.firstName === anchor.firstName) person.firstName = person.sex === 'F' ? 'Grace' : 'Henry';
    if (person.firstName === anchor.firstName) person.firstName = person.sex === 'F' ? 'Alice' : 'Peter';
  } else {
    person.sex = anchor.sex;
    person.firstName = anchor.firstName;
    const gap = Math.floor((25 + rng.next() * 10) * DAYS_PER_YEAR);
    // The junior is 25–35 years younger; if that would be after the extract, they are the senior.
    person.birthDay = anchor.birthDay + gap <= createdDay ? anchor.birthDay + gap : anchor.birthDay - gap;
  }
  person.coverageStartDay = Math.min(Math.max(person.coverageStartDay, person.birthDay), createdDay);
  if (person.ssn === anchor.ssn)
    person.ssn = usable(
      person.ssn.slice(0, 5) + String((Number(person.ssn.slice(5)) % 9998) + 1).padStart(4, '0'),
    );
  const wholeAge = yearsBetween(person.birthDay, createdDay);
  if (wholeAge < 18) person.children = 0;
  if (wholeAge < 14) person.smoker = false;
  person.email = person.email === '' ? '' : emailFor(rng, person.firstName, person.lastName);
  person.charges = premium(rng, wholeAge, person.bmi, person.children, person.smoker);
  return person;
}
