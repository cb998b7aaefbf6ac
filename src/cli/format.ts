/** Renders rows for the terminal (aligned table), as CSV (RFC 4180) or as JSON (an array of objects). */
export type TableFormat = 'table' | 'csv' | 'json';

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text for a terminal: control characters (line breaks, tabs, escape sequences that would move the
 * cursor or recolour the screen, NUL) and the marks that reorder text right to left shown as escapes,
 * so a value from a landing file cannot break a table, disguise what it says or take over the
 * terminal. Machine formats (CSV, JSON) keep the text as it is.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function jsonValue(value: unknown): unknown {
  if (value instanceof Date) return cell(value);
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  }
  return value;
}

export function formatRows(
  objects: readonly object[],
  format: TableFormat,
  columns?: readonly string[],
): string {
  const rows = objects as readonly Record<string, unknown>[];
  if (format === 'json') return JSON.stringify(rows.map(jsonValue), null, 2) + '\n';
  const cols = columns ?? Object.keys(rows[0] ?? {});
  if (format === 'csv') {
    const q = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
    return (
      [cols.map(q).join(','), ...rows.map((r) => cols.map((c) => q(cell(r[c]))).join(','))].join('\n') + '\n'
    );
  }
  if (cols.length === 0) return '(no rows)\n';
  const text = rows.map((r) => cols.map((c) => printable(cell(r[c]))));
  const widths = cols.map((c, i) =>
    Math.min(60, Math.max(c.length, ...text.map((t) => (t[i] ?? '').length))),
  );
  const fit = (s: string, w: number): string => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  const lines = [
    cols.map((c, i) => fit(c, widths[i] ?? 0)).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...text.map((t) => t.map((v, i) => fit(v, widths[i] ?? 0)).join('  ')),
    `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
  ];
  return lines.map((l) => l.trimEnd()).join('\n') + '\n';
}
