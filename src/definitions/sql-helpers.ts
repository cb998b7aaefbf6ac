import type { Dialect } from '../dialect/dialect.ts';
import { REDACTED_VALUE } from './ssn.ts';

/** Date formats accepted from the sources, in the order tried (US month-first for slashes). */
export const DATE_FORMATS = [
  '%Y-%m-%d',
  '%m/%d/%Y',
  '%Y%m%d',
  '%d-%b-%Y',
  '%Y-%m-%dT%H:%M:%SZ',
  '%Y-%m-%dT%H:%M:%S',
  '%Y-%m-%d %H:%M:%S',
] as const;

/** A date written with a two-digit year: M/D/YY or D-MON-YY (Oracle exports). */
export const TWO_DIGIT_YEAR_PATTERN = '^[0-9]{1,2}(/[0-9]{1,2}/|-[A-Za-z]{3}-)[0-9]{2}$';

/** The day before the earliest date accepted: an earlier one is a typo or a lost century (year 24 AD). */
export const BEFORE_EARLIEST_DATE = '1899-12-31';

/**
 * A date from its text in any of `DATE_FORMATS` (month and day with or without a leading zero), NULL
 * when none fits or it is before 1900. A two-digit year (M/D/YY, D-MON-YY) is the latest year ending
 * in those digits that is not after the year of `reference` (the extract time): `05-JAN-24` in a 2026
 * extract is 2024, `05-JAN-30` is 1930.
 */
export const parseDate = (d: Dialect, expr: string, reference: string): string => {
  const t = d.trim(expr);
  const yy = `substr(${t}, LENGTH(${t}) - 1)`;
  const century = `CASE WHEN 2000 + ${d.tryCastInteger(yy)} > year(${reference}) THEN '19' ELSE '20' END`;
  // Every format starts with a digit and ends with one or with Z. DuckDB's reader also takes words such as
  // 'infinity' and 'epoch' for dates, and a date followed by a tab; Spark's takes neither.
  const text = `CASE WHEN NOT (substr(${t}, 1, 1) BETWEEN '0' AND '9' AND (right(${t}, 1) BETWEEN '0' AND '9' OR right(${t}, 1) = 'Z')) THEN NULL
    WHEN LENGTH(${t}) <= 9 AND ${d.regexpMatches(t, TWO_DIGIT_YEAR_PATTERN)}
    THEN concat(substr(${t}, 1, LENGTH(${t}) - 2), ${century}, ${yy}) ELSE ${t} END`;
  // GREATEST skips a NULL on both engines, so an unparsed date stays NULL.
  const inRange = (date: string): string =>
    `NULLIF(GREATEST(${date}, DATE '${BEFORE_EARLIEST_DATE}'), DATE '${BEFORE_EARLIEST_DATE}')`;
  const parsed = inRange(d.tryParseDate(text, DATE_FORMATS));
  // Nearly every date is ISO: where the engine reads that form more cheaply, only the rest is trimmed
  // and tried against every format (the same dates: an ISO text needs no trimming).
  return d.isoDate
    ? `CASE WHEN ${d.isoDate.test(expr)} THEN ${inRange(d.isoDate.parse(expr))} ELSE ${parsed} END`
    : parsed;
};

/**
 * Trimmed text with inner runs of white space collapsed; NULL when empty, or when it is the mark of an
 * SSN the bronze read redacted (a withheld value: two of them are not the same value). The regexp runs
 * only when needed.
 */
export const cleanText = (d: Dialect, expr: string): string =>
  `NULLIF(NULLIF(${d.trim(`CASE WHEN CONTAINS(${expr}, '  ') OR CONTAINS(${expr}, CHR(9)) THEN ${d.regexpReplaceAll(expr, '[\\t\\n\\f\\r ]+', ' ')} ELSE ${expr} END`)}, ''), '${REDACTED_VALUE}')`;

/** Money text parsed strictly: digits with optional sign, $, thousands separators and 1–2 decimals. */
export const MONEY_PATTERN = '^-?\\$?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\\.[0-9]{1,2})?$';

export const parseMoney = (d: Dialect, expr: string): string => {
  const t = d.trim(expr);
  return `CASE WHEN ${d.regexpMatches(t, '^-?[0-9]+(\\.[0-9]{1,2})?$')} THEN ${d.tryCastDouble(t)}
    WHEN ${d.regexpMatches(t, MONEY_PATTERN)} THEN ${d.tryCastDouble(`REPLACE(REPLACE(${t}, '$', ''), ',', '')`)} END`;
};

/**
 * A number written plainly: digits with an optional sign and decimal point, NULL otherwise. The engines'
 * own casts take more, and not the same (DuckDB reads `0x1A`, Spark `1F` and `1d`).
 */
export const NUMBER_PATTERN = '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$';
export const parseNumber = (d: Dialect, expr: string): string => {
  const t = d.trim(expr);
  return `CASE WHEN ${d.regexpMatches(t, NUMBER_PATTERN)} THEN ${d.tryCastDouble(t)} END`;
};

/**
 * A whole number: digits with an optional sign, and zeros after a decimal point allowed (`2.0`, as
 * spreadsheets write counts); NULL otherwise (DuckDB's cast rounds `2.5` to 3, Spark's refuses `2.0`).
 */
export const WHOLE_NUMBER_PATTERN = '^[+-]?[0-9]{1,9}([.]0*)?$';
export const parseWholeNumber = (d: Dialect, expr: string): string => {
  const t = d.trim(expr);
  return `CASE WHEN ${d.regexpMatches(t, WHOLE_NUMBER_PATTERN)} THEN CAST(${d.tryCastDouble(t)} AS INTEGER) END`;
};

/** ICD-10-CM code format (D6), after normalisation. */
export const ICD10_PATTERN = '^[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$';
/** CPT (5 digits; 4 digits + F/T/U) or HCPCS Level II (letter + 4 digits). */
export const PROCEDURE_PATTERN = '^([0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4})$';

/** Upper-cases, strips spaces and restores a missing dot (E119 → E11.9). */
export const normaliseIcd10 = (d: Dialect, expr: string): string => {
  const compact = d.upper(`REPLACE(${d.trim(expr)}, ' ', '')`);
  return `NULLIF(CASE WHEN LENGTH(${compact}) BETWEEN 4 AND 7 AND NOT CONTAINS(${compact}, '.') THEN CONCAT(SUBSTR(${compact}, 1, 3), '.', SUBSTR(${compact}, 4)) ELSE ${compact} END, '')`;
};

/** Whole years between two dates (birthday not reached yet counts one less). */
export const yearsBetween = (from: string, to: string): string =>
  `(YEAR(${to}) - YEAR(${from}) - CASE WHEN MONTH(${to}) * 100 + DAY(${to}) < MONTH(${from}) * 100 + DAY(${from}) THEN 1 ELSE 0 END)`;

/** Columns of the relation `alias` passed through as they are, each after a comma (none: ''). */
export const passThrough = (alias: string, columns: readonly string[] = []): string =>
  columns.map((c) => `, ${alias}.${c}`).join('');
