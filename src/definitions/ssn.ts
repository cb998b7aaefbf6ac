/**
 * The SSN as both engines read it, defined once: which delivered numbers are hashed, the hash, and
 * the redaction of SSN-shaped text in anything else a landing row carries. The local runner and the
 * Databricks renderer build their bronze reads from these; `usableSsnDigits` is the same rule in
 * JavaScript, for what hashes an SSN outside SQL (`src/privacy/ssn-key.ts`).
 */
import type { Dialect, HmacKeyRef } from '../dialect/dialect.ts';
import type { Entity } from './entities.ts';

/** 3, 2 and 4 digits with a dash, dot, space or nothing between the groups. */
export const SSN_DIGITS = '[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}';

/** SSN-shaped text: SSN_DIGITS outside a longer number (the characters either side are groups 1 and 2). */
export const SSN_LIKE = `(^|[^0-9])${SSN_DIGITS}([^0-9]|$)`;

/**
 * SSN-shaped text with a separator after each group (`123-45-6789`, `123.45.6789`, `123 45 6789`), even
 * where digits touch it: a malformed line whose delimiters were lost glues a value's digits to the SSN
 * (`512-555-00` and `900-06-3352` became `512-555-00900-06-3352`). Without separators, nine digits inside
 * a longer number are taken for part of that number (phone numbers, long ids).
 */
export const SSN_SEPARATED = '[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}';

/**
 * Nine-digit numbers that are valid in shape yet name no one: numbers published in advertising and on
 * sample cards, which systems fill in when the real SSN is unknown. Taken as a patient's SSN, each
 * would tie together everyone who was given it.
 */
export const PLACEHOLDER_SSNS: readonly string[] = [
  '123456789',
  '078051120', // the sample card sold in wallets (1938)
  '219099999', // printed in a Social Security pamphlet (1940)
  ...Array.from({ length: 10 }, (_, i) => `98765432${i}`), // reserved for advertising
];

/**
 * TRUE when `digits` (a value's digits only) is a number the pipeline hashes and matches on: nine
 * digits, no part all zeros (area 000, group 00, serial 0000 are never issued), not area 666, not one
 * digit nine times, not a placeholder. Areas 900–999 are accepted: the IRS issues taxpayer numbers
 * (ITINs) there, which enrolment systems record in the SSN field for members without an SSN.
 */
export function usableSsnSql(d: Dialect, digits: string): string {
  return `(LENGTH(${digits}) = 9
    AND substr(${digits}, 1, 3) NOT IN ('000', '666')
    AND substr(${digits}, 4, 2) <> '00'
    AND substr(${digits}, 6, 4) <> '0000'
    AND ${digits} <> repeat(substr(${digits}, 1, 1), 9)
    AND NOT ${d.oneOf(digits, PLACEHOLDER_SSNS)})`;
}

/** `usableSsnSql` in JavaScript: the digits of `raw` when they are a usable SSN, else undefined. */
export function usableSsnDigits(raw: string): string | undefined {
  const digits = raw.replace(/[^0-9]/g, '');
  const usable =
    digits.length === 9 &&
    !['000', '666'].includes(digits.slice(0, 3)) &&
    digits.slice(3, 5) !== '00' &&
    digits.slice(5) !== '0000' &&
    digits !== digits.charAt(0).repeat(9) &&
    !PLACEHOLDER_SSNS.includes(digits);
  return usable ? digits : undefined;
}

/** TRUE when the raw SSN value holds more than spaces (delivered, whether usable or not). */
export const ssnPresentSql = (d: Dialect, rawSsn: string): string =>
  `NULLIF(${d.trim(rawSsn)}, '') IS NOT NULL`;

/** The digits of a raw SSN value. */
export const ssnDigitsSql = (d: Dialect, rawSsn: string): string => d.regexpReplaceAll(rawSsn, '[^0-9]', '');

/** HMAC-SHA256 (hex) of the digits of a raw SSN value; NULL unless they are a usable SSN. */
export function ssnHashSql(d: Dialect, rawSsn: string, key: HmacKeyRef): string {
  return ssnDigitsHashSql(d, ssnDigitsSql(d, rawSsn), key);
}

/** `ssnHashSql` of digits already taken from the raw value (`ssnDigitsSql`). */
export function ssnDigitsHashSql(d: Dialect, digits: string, key: HmacKeyRef): string {
  return `CASE WHEN ${usableSsnSql(d, digits)} THEN ${d.hmacSha256Hex(digits, key)} END`;
}

/**
 * `expr` with every SSN-shaped run of digits replaced by `[REDACTED]`: first the separated form wherever
 * it is (SSN_SEPARATED), then SSN_LIKE, twice: one pass consumes the separator after a match, so an
 * adjacent second SSN survives it.
 */
export function redactSsnSql(d: Dialect, expr: string): string {
  const once = (e: string): string =>
    d.regexpReplaceAll(e, SSN_LIKE, `${d.regexpGroup(1)}[REDACTED]${d.regexpGroup(2)}`);
  return once(once(d.regexpReplaceAll(expr, SSN_SEPARATED, '[REDACTED]')));
}

/** What stands in stored data for a value that was an SSN. */
export const REDACTED_VALUE = '[REDACTED]';

/**
 * An SSN in its printed form (3, 2 and 4 digits with dashes) anywhere in a value, even with digits
 * touching it: the whole value (`123-45-6789`), part of free text (`SSN 123-45-6789`,
 * `123-45-6789 Elm St`), or glued to other digits (`512-555-00123-45-6789`).
 */
const SSN_PRINTED = '[0-9]{3}-[0-9]{2}-[0-9]{4}';

/**
 * The landing columns where a source system puts an SSN by mistake: the identifiers and numbers of a
 * record (some systems use the SSN as member id or MRN, or swap it with the phone). Besides the printed
 * form and the row's own nine digits, which every value of a patients row is searched for, their
 * values count as that SSN when their digits are its digits in any layout (`123 45 6789`, `123.45.6789`).
 */
const SSN_PRONE_COLUMNS: Readonly<Record<Entity, readonly string[]>> = {
  patients: ['patient_id', 'mrn', 'insurance_id', 'phone'],
  claims: ['claim_id', 'patient_id'],
  medical_events: ['event_id', 'patient_id'],
};

/** The row's own SSN, for the values of a patients row: its digits, and whether the column is SSN-prone. */
export interface OwnSsn {
  /** SQL: the digits of the row's ssn field. */
  readonly digits: string;
  /** Also a value whose digits are exactly the SSN's, in any layout (SSN-prone columns). */
  readonly anyLayout: boolean;
  /**
   * SQL, optional: TRUE when some value of the row holds the nine digits (computed once per row, on the
   * row's values joined), so each value is searched only in the rows where one does.
   */
  readonly inRow?: string;
}

/**
 * A landing value of any column but the SSN column, withheld whole as `[REDACTED]` when it holds an SSN:
 * - the printed form (3-2-4 digits with dashes) anywhere in it, even touching other digits;
 * - with `own` (a patients row), the row's own SSN as nine digits anywhere in it (`jsmith123456789@…`),
 *   and in an SSN-prone column a value whose digits are those nine in any layout.
 * The whole value goes, not just the number: what is left of an identifier would no longer be one
 * (two patients whose ids were `E` + their SSNs would share the id `E[REDACTED]`), and a value that
 * carried an SSN is not trusted for the rest. Other nine-digit numbers stay (member ids and MRNs often
 * have nine digits); ZIP+4 (5-4), phone numbers (3-3-4) and dates (4-2-2) are not the printed form.
 * An SSN written with dots or spaces inside longer text is not the printed form and is not found
 * unless it is the row's own. The cheap tests come first (a dash and eleven characters; the SSN's nine digits as
 * one run; the SSN's last four digits at the end), so the pattern and the digit extraction run on
 * likely matches only.
 */
export function withoutSsnSql(d: Dialect, value: string, own?: OwnSsn): string {
  const printed = `(instr(${value}, '-') > 0 AND LENGTH(${value}) >= 11 AND ${d.regexpMatches(value, SSN_PRINTED)})`;
  const tests = [printed];
  if (own !== undefined) {
    const nine = `LENGTH(${own.digits}) = 9`;
    tests.push(`(${own.inRow ?? nine} AND instr(${value}, ${own.digits}) > 0)`);
    if (own.anyLayout)
      tests.push(
        `(${nine} AND ${d.endsWith(value, `substr(${own.digits}, 6, 4)`)} AND ${ssnDigitsSql(d, value)} = ${own.digits})`,
      );
  }
  return `CASE WHEN ${tests.join(' OR ')} THEN ${d.string(REDACTED_VALUE)} ELSE ${value} END`;
}

/**
 * A landing value of `column` of an `entity` file as the bronze read stores it (both engines): through
 * withoutSsnSql, searched for the row's own SSN (`own`: the digits of a patients row's ssn field) when
 * there is one, in any layout when the column is SSN-prone.
 */
export function storedLandingValueSql(
  d: Dialect,
  entity: Entity,
  column: string,
  value: string,
  own?: Omit<OwnSsn, 'anyLayout'>,
): string {
  return withoutSsnSql(
    d,
    value,
    own === undefined ? undefined : { ...own, anyLayout: SSN_PRONE_COLUMNS[entity].includes(column) },
  );
}

/**
 * `OwnSsn.inRow`: TRUE when the row holds the nine digits `ssnDigits` in one of `values` (SQL
 * expressions), searched once in the values joined by a control character. Never FALSE when a value
 * holds them; TRUE for a match across two values only costs the search of each value, which decides.
 */
export const ssnInRowSql = (ssnDigits: string, values: readonly string[]): string =>
  `(LENGTH(${ssnDigits}) = 9 AND instr(concat_ws(chr(31), ${values.join(', ')}), ${ssnDigits}) > 0)`;
