/**
 * Dates as whole days since 1970-01-01 (UTC), formatted through a cache of ISO strings, since the
 * generator formats millions of them.
 */
export const MS_PER_DAY = 86_400_000;

const ISO_CACHE_START = -36_524; // 1870-01-01
const ISO_CACHE_SIZE = 100_000; // through ~2143
const isoCache: (string | undefined)[] = new Array<string | undefined>(ISO_CACHE_SIZE);

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function pad4(n: number): string {
  return n < 1000 ? String(n).padStart(4, '0') : String(n);
}

export function isoDate(day: number): string {
  const k = day - ISO_CACHE_START;
  if (k >= 0 && k < ISO_CACHE_SIZE) {
    const hit = isoCache[k];
    if (hit !== undefined) return hit;
    const s = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    isoCache[k] = s;
    return s;
  }
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

export function dayOf(date: Date): number {
  return Math.floor(date.getTime() / MS_PER_DAY);
}

export interface Ymd {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

export function ymd(day: number): Ymd {
  const packed = packedYmd(day);
  const year = Math.floor(packed / 10_000);
  const rest = packed - year * 10_000;
  const month = Math.floor(rest / 100);
  return { year, month, day: rest - month * 100 };
}

/**
 * The calendar date of a day number as year * 10000 + month * 100 + day (Howard Hinnant's
 * civil_from_days: plain arithmetic, no Date object; years 0 and later).
 */
export function packedYmd(day: number): number {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 10_000 + m * 100 + d;
}

/** Day number of a calendar date, or undefined when the date does not exist (e.g. 1980-02-30). */
export function dayFromYmd(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const t = Date.UTC(year, month - 1, day);
  const d = new Date(t);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day)
    return undefined;
  return Math.floor(t / MS_PER_DAY);
}

/** Parses a strict ISO calendar date YYYY-MM-DD, or undefined. */
export function parseIsoDate(text: string): number | undefined {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  if (year < 0 || month < 1 || month > 12 || day < 1) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  return daysFromCivil(year, month, day);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;

/** The alternative date spellings of the `date_format` defect (catalogue: MM/DD/YYYY, YYYYMMDD, DD-MON-YYYY, ISO timestamp). */
export function alternativeDate(day: number, variant: number): string {
  const { year, month, day: dd } = ymd(day);
  switch (variant % 4) {
    case 0:
      return `${pad2(month)}/${pad2(dd)}/${pad4(year)}`;
    case 1:
      return `${pad4(year)}${pad2(month)}${pad2(dd)}`;
    case 2:
      return `${pad2(dd)}-${MONTHS[month - 1] as string}-${pad4(year)}`;
    default:
      return `${isoDate(day)}T${pad2((variant >>> 2) % 24)}:${pad2((variant >>> 7) % 60)}:00Z`;
  }
}

/** Whole years between two day numbers (age on `atDay` of someone born on `birthDay`). */
export function yearsBetween(birthDay: number, atDay: number): number {
  // On packed dates (yyyymmdd) the whole years are the difference's ten-thousands, rounded down.
  return Math.floor((packedYmd(atDay) - packedYmd(birthDay)) / 10_000);
}

/** Rounds a time down to the whole minute (UTC). */
export function floorToMinute(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 60_000) * 60_000);
}
