/**
 * Redaction of SSN-shaped text (3, 2 and 4 digits, with dashes, dots, spaces or nothing between them)
 * in free text that leaves carelake: audit entries, messages, engine errors.
 */
import { SSN_DIGITS, SSN_SEPARATED } from '../definitions/ssn.ts';

// The patterns of the SQL redaction (src/definitions/ssn.ts): with a separator after each group, also
// where digits touch it (glued by a lost delimiter); without separators, not inside a longer number.
const SSN_IN_TEXT = new RegExp(`${SSN_SEPARATED}|(?<![0-9])${SSN_DIGITS}(?![0-9])`, 'g');

/**
 * Whole values that are identifiers carelake made itself (key ids, SHA-256 digests, HMACs, UUIDs):
 * kept as they are, because a random hex id holds a run of nine decimal digits now and then.
 */
const OWN_IDENTIFIER = /^(?:[0-9a-f]{12,128}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export const REDACTED = '[REDACTED]';

/**
 * Replaces every SSN-shaped run of digits in `text` (with separators anywhere, without them when not
 * part of a longer number), without exception.
 */
export function redactSsnStrict(text: string): string {
  return text.replace(SSN_IN_TEXT, REDACTED);
}

/**
 * Replaces every SSN-shaped run of digits in `text`, except when the whole text is one of carelake's
 * own identifiers (a key id, digest or UUID).
 */
export function redactSsnText(text: string): string {
  return OWN_IDENTIFIER.test(text) ? text : redactSsnStrict(text);
}

/** Redacts every string inside a JSON-like value (object keys included). */
export function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactSsnText(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [redactSsnText(k), redactDeep(v)]),
    );
  }
  return value;
}
