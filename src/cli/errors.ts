/** A failure to report to the user as one clear line, with an exit code (2 = bad usage). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Parses a whole number option, rejecting anything else with a message naming the option. */
export function parseIntegerOption(
  name: string,
  value: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`, 2);
  }
  return n;
}

/** Parses a rate (a share between 0 and 1). */
export function parseRateOption(name: string, value: string): number {
  const n = /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new CliError(`${name} must be a number from 0 to 1, got "${value}"`, 2);
  }
  return n;
}

export type OutputFormat = 'text' | 'json';

/** `value` if it is one of `allowed`, else a usage error (exit code 2) naming `option`. */
export function parseChoice(option: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value)) {
    throw new CliError(`${option} must be one of ${allowed.join(', ')}, got "${value}"`, 2);
  }
  return value;
}

export function parseFormat(value: string, allowed: readonly string[] = ['text', 'json']): string {
  return parseChoice('--format', value, allowed);
}
