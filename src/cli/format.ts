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

/** A message of several lines (an engine error and its hints) for the terminal: its line breaks kept. */
export const printableLines = (message: string): string => message.split('\n').map(printable).join('\n');

/**
 * Dates and timestamps as text, by their time: a result repeats the same few (a run's processing time,
 * the days of a few years), and formatting each anew was a fifth of the CPU of a large CSV result.
 */
const dateTexts = new Map<number, string>();

function dateText(value: Date): string {
  const time = value.getTime();
  let text = dateTexts.get(time);
  if (text === undefined) {
    const iso = value.toISOString();
    text = iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
    if (dateTexts.size >= 100_000) dateTexts.clear();
    dateTexts.set(time, text);
  }
  return text;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return dateText(value);
  if (typeof value === 'object') return JSON.stringify(jsonValue(value));
  return String(value);
}

function jsonValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return dateText(value);
  if (Array.isArray(value)) return value.map(jsonValue);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v);
  return out;
}

/** Rows a table's column widths are measured on before it prints (the rest print at those widths). */
const TABLE_SAMPLE_ROWS = 10_000;
/** The widest a table column gets; longer values are cut and end with an ellipsis. */
const TABLE_MAX_WIDTH = 60;

/**
 * Formats rows as they come, batch by batch, so a result of millions of rows is never held or
 * rendered as one string. CSV and JSON rows are formatted as they arrive (the JSON is one array of
 * row objects, the same text as `JSON.stringify(rows, null, 2)`). A table measures its column widths
 * on the first TABLE_SAMPLE_ROWS rows (or all, when fewer), then prints every row at them.
 */
class RowFormatter {
  private count = 0;
  /** Table rows (printable cells) waiting for the column widths; undefined once they are known. */
  private sample: string[][] | undefined = [];
  private widths: number[] = [];

  constructor(
    private readonly format: TableFormat,
    private readonly cols: readonly string[],
  ) {}

  /** What precedes the first row. */
  start(): string {
    return this.format === 'csv' ? this.cols.map(csvField).join(',') + '\n' : '';
  }

  /** Rows as arrays of values in column order (a result may name two columns alike). */
  add(rows: readonly (readonly unknown[])[]): string {
    const { cols } = this;
    const first = this.count === 0;
    this.count += rows.length;
    if (this.format === 'csv') {
      return rows.map((r) => r.map((v) => csvField(cell(v))).join(',') + '\n').join('');
    }
    if (this.format === 'json') {
      return rows
        .map((r, i) => {
          const o: Record<string, unknown> = {};
          cols.forEach((c, j) => (o[c] = jsonValue(r[j])));
          return (
            (first && i === 0 ? '[\n' : ',\n') + '  ' + JSON.stringify(o, null, 2).replaceAll('\n', '\n  ')
          );
        })
        .join('');
    }
    const text = rows.map((r) => r.map((v) => printable(cell(v))));
    if (this.sample === undefined) return this.tableLines(text);
    for (const t of text) this.sample.push(t);
    return this.sample.length >= TABLE_SAMPLE_ROWS ? this.flushSample() : '';
  }

  /** What follows the last row. */
  end(): string {
    if (this.format === 'csv') return '';
    if (this.format === 'json') return this.count === 0 ? '[]\n' : '\n]\n';
    if (this.cols.length === 0) return '(no rows)\n';
    const rest = this.sample === undefined ? '' : this.flushSample();
    return `${rest}(${this.count} row${this.count === 1 ? '' : 's'})\n`;
  }

  /** The header and the sampled rows, once the widths are measured on them. */
  private flushSample(): string {
    const sample = this.sample ?? [];
    this.sample = undefined;
    this.widths = this.cols.map((c, i) => {
      let w = c.length;
      for (const t of sample) w = Math.max(w, (t[i] ?? '').length);
      return Math.min(TABLE_MAX_WIDTH, w);
    });
    return this.tableLines([this.cols, this.widths.map((w) => '-'.repeat(w)), ...sample]);
  }

  private tableLines(text: readonly (readonly string[])[]): string {
    const fit = (s: string, w: number): string => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
    return text
      .map(
        (t) =>
          t
            .map((v, i) => fit(v, this.widths[i] ?? 0))
            .join('  ')
            .trimEnd() + '\n',
      )
      .join('');
  }
}

/** A CSV field (RFC 4180): quoted when it holds a quote, a comma or a line break. */
const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** Rows held in memory, formatted at once (small results: reports, listings). */
export function formatRows(
  objects: readonly object[],
  format: TableFormat,
  columns?: readonly string[],
): string {
  const rows = objects as readonly Record<string, unknown>[];
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const f = new RowFormatter(format, cols);
  return f.start() + f.add(rows.map((r) => cols.map((c) => r[c]))) + f.end();
}

/**
 * Formats a streamed result batch by batch into `write` (which may wait, e.g. for a slow reader) and
 * returns the number of rows. Memory stays that of one batch, whatever the size of the result.
 */
export async function writeRows(
  columns: readonly string[],
  batches: AsyncIterable<readonly (readonly unknown[])[]>,
  format: TableFormat,
  write: (text: string) => Promise<void>,
): Promise<number> {
  const f = new RowFormatter(format, columns);
  let count = 0;
  let text = f.start();
  for await (const rows of batches) {
    count += rows.length;
    text += f.add(rows);
    // Batches of ~2,048 rows; text is handed on in pieces of about 1 MB.
    if (text.length >= 1 << 20) {
      await write(text);
      text = '';
    }
  }
  await write(text + f.end());
  return count;
}
