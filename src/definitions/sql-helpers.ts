import type { Dialect } from '../dialect/dialect.ts';

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

export const parseDate = (d: Dialect, expr: string): string => d.tryParseDate(`TRIM(${expr})`, DATE_FORMATS);

/** Trimmed text with inner runs of white space collapsed; NULL when empty. The regexp runs only when needed. */
export const cleanText = (d: Dialect, expr: string): string =>
  `NULLIF(TRIM(CASE WHEN CONTAINS(${expr}, '  ') OR CONTAINS(${expr}, CHR(9)) THEN ${d.regexpReplaceAll(expr, '\\s+', ' ')} ELSE ${expr} END), '')`;

/** Money text parsed strictly: digits with optional sign, $, thousands separators and 1–2 decimals. */
export const MONEY_PATTERN = '^-?\\$?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\\.[0-9]{1,2})?$';

export const parseMoney = (d: Dialect, expr: string): string =>
  `CASE WHEN ${d.regexpMatches(`TRIM(${expr})`, '^-?[0-9]+(\\.[0-9]{1,2})?$')} THEN ${d.tryCastDouble(`TRIM(${expr})`)}
    WHEN ${d.regexpMatches(`TRIM(${expr})`, MONEY_PATTERN)} THEN ${d.tryCastDouble(
      `REPLACE(REPLACE(TRIM(${expr}), '$', ''), ',', '')`,
    )} END`;

/** ICD-10-CM code format (D6), after normalisation. */
export const ICD10_PATTERN = '^[A-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$';
/** CPT (5 digits; 4 digits + F/T/U) or HCPCS Level II (letter + 4 digits). */
export const PROCEDURE_PATTERN = '^([0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4})$';

/** Upper-cases, strips spaces and restores a missing dot (E119 → E11.9). */
export const normaliseIcd10 = (expr: string): string => {
  const compact = `UPPER(REPLACE(TRIM(${expr}), ' ', ''))`;
  return `NULLIF(CASE WHEN LENGTH(${compact}) BETWEEN 4 AND 7 AND NOT CONTAINS(${compact}, '.') THEN CONCAT(SUBSTR(${compact}, 1, 3), '.', SUBSTR(${compact}, 4)) ELSE ${compact} END, '')`;
};

/** Whole years between two dates (birthday not reached yet counts one less). */
export const yearsBetween = (from: string, to: string): string =>
  `(YEAR(${to}) - YEAR(${from}) - CASE WHEN MONTH(${to}) * 100 + DAY(${to}) < MONTH(${from}) * 100 + DAY(${from}) THEN 1 ELSE 0 END)`;

/** Columns of the relation `alias` passed through as they are, each after a comma (none: ''). */
export const passThrough = (alias: string, columns: readonly string[] = []): string =>
  columns.map((c) => `, ${alias}.${c}`).join('');
