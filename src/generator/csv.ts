/**
 * RFC 4180 CSV, built by hand for speed: a field is quoted only when it contains a comma, a double
 * quote, CR or LF, or starts or ends with white space; quotes inside are doubled. Rows end with LF. The generator never writes a line
 * break inside a field, so one row is always one physical line (the ground truth relies on it).
 */
const NEEDS_QUOTES = /[",\r\n]/;

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

export function csvField(value: string): string {
  if (
    !NEEDS_QUOTES.test(value) &&
    (value.length === 0 || (!isSpace(value.charCodeAt(0)) && !isSpace(value.charCodeAt(value.length - 1))))
  ) {
    return value;
  }
  return `"${value.replace(/"/g, '""')}"`;
}

export function csvLine(fields: readonly string[]): string {
  let line = csvField(fields[0] ?? '');
  for (let i = 1; i < fields.length; i++) line += ',' + csvField(fields[i] as string);
  return line + '\n';
}

/** Splits one CSV line (without its line break) into fields, honouring quotes. */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = n;
          break;
        }
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i >= n) return fields;
      i++; // the comma
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, c));
      i = c + 1;
    }
  }
}
