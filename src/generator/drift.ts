import { dayFromYmd, ymd } from './dates.ts';
import { randomAddress, randomPhone, type Address, type Person } from './people.ts';
import type { Rng } from './prng.ts';
import { referenceData } from './reference-data.ts';

/**
 * Drift: how the same person's demographics differ between source systems. Drift is identity
 * truth, not a defect: every drifted value is still a clean, valid value (a real date, a name
 * without TEST, a state/city/ZIP that agree).
 */

const LOWER = 'abcdefghijklmnopqrstuvwxyz';

function titleCase(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A nickname of `first` from the shipped nickname table, or undefined. */
export function nickname(rng: Rng, first: string): string | undefined {
  const list = referenceData().nicknames.get(first.toLowerCase());
  if (!list || list.length === 0) return undefined;
  return titleCase(rng.pick(list));
}

/** A one-character edit (substitution, deletion, insertion or transposition) after the first letter. */
export function typo(rng: Rng, name: string): string {
  if (name.length < 3) return name;
  for (let attempt = 0; attempt < 4; attempt++) {
    const pos = rng.int(1, name.length - 1);
    const c = LOWER.charAt(rng.int(0, 25));
    let out: string;
    switch (rng.int(0, 3)) {
      case 0:
        out = name.slice(0, pos) + c + name.slice(pos + 1);
        break;
      case 1:
        out = name.slice(0, pos) + name.slice(pos + 1);
        break;
      case 2:
        out = name.slice(0, pos) + c + name.slice(pos);
        break;
      default:
        out =
          pos < name.length - 1
            ? name.slice(0, pos) + name.charAt(pos + 1) + name.charAt(pos) + name.slice(pos + 2)
            : name;
    }
    if (out !== name && isCleanName(out)) return out;
  }
  return name;
}

/** A real person's name: letters (plus ' - . and single spaces), never containing TEST. */
const cleanNames = new Map<string, boolean>();

export function isCleanName(name: string): boolean {
  const known = cleanNames.get(name);
  if (known !== undefined) return known;
  const clean = checkName(name);
  if (cleanNames.size < 200_000) cleanNames.set(name, clean);
  return clean;
}

function checkName(name: string): boolean {
  return (
    /^[A-Z][A-Za-z'.-]*( [A-Za-z][A-Za-z'.-]*)*$/.test(name) &&
    !/test/i.test(name) &&
    (name.length < 2 || name !== name.toUpperCase())
  );
}

/** The birth date with day and month swapped, if that is a different valid date; else undefined. */
export function swappedDayMonth(birthDay: number): number | undefined {
  const { year, month, day } = ymd(birthDay);
  if (day > 12 || day === month) return undefined;
  return dayFromYmd(year, day, month);
}

export type PhoneStyle = 'dashed' | 'parens' | 'dotted' | 'digits' | 'e164';

export function formatPhone(digits: string, style: PhoneStyle): string {
  const a = digits.slice(0, 3);
  const b = digits.slice(3, 6);
  const c = digits.slice(6);
  switch (style) {
    case 'dashed':
      return `${a}-${b}-${c}`;
    case 'parens':
      return `(${a}) ${b}-${c}`;
    case 'dotted':
      return `${a}.${b}.${c}`;
    case 'digits':
      return digits;
    default:
      return `+1${digits}`;
  }
}

export function formatSsn(digits: string, dashed: boolean): string {
  return dashed ? `${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}` : digits;
}

/** The demographics one copy (ADT or LAB) holds for a person. */
export interface DriftedIdentity {
  firstName: string;
  lastName: string;
  /** The birth date as a day number. */
  birthDay: number;
  address: Address;
  phone: string;
  email: string;
  ssn: string;
  /** The copy's names are in another casing (recorded as the name_casing format defect). */
  casing: boolean;
}

export const MISSING_SSN_SHARE = 0.4;

const ADT_PHONE_STYLES: readonly PhoneStyle[] = ['parens', 'parens', 'dotted', 'dashed'];
const LAB_PHONE_STYLES: readonly PhoneStyle[] = ['digits', 'e164', 'dashed'];

export function driftedIdentity(rng: Rng, p: Person, system: 'ADT' | 'LAB'): DriftedIdentity {
  let firstName = p.firstName;
  let lastName = p.lastName;
  if (rng.chance(0.2)) firstName = nickname(rng, firstName) ?? firstName;
  if (rng.chance(0.07)) firstName = typo(rng, firstName);
  if (rng.chance(0.06)) lastName = typo(rng, lastName);
  let birthDay = p.birthDay;
  if (rng.chance(0.04)) birthDay = swappedDayMonth(birthDay) ?? birthDay;
  const address = rng.chance(0.12) ? randomAddress(rng) : p.address;
  const phoneDigits = address === p.address || rng.chance(0.5) ? p.phone : randomPhone(rng, address.areaCode);
  const phoneStyles = system === 'ADT' ? ADT_PHONE_STYLES : LAB_PHONE_STYLES;
  const phone = rng.chance(0.08) ? '' : formatPhone(phoneDigits, rng.pick(phoneStyles));
  const email = rng.chance(0.5) ? '' : p.email;
  const ssn = rng.chance(MISSING_SSN_SHARE) ? '' : formatSsn(p.ssn, rng.chance(0.7));
  const casing = rng.chance(0.01);
  return { firstName, lastName, birthDay, address, phone, email, ssn, casing };
}
