/**
 * A growable byte buffer for CSV text. Rows are copied straight into bytes (all generated text is
 * ASCII: names, places and codes come from ASCII tables, so latin1 is exact), so a chunk's output
 * is one Buffer, not millions of live strings for the GC to trace. Numbers and dates are written as
 * digits straight from their integer values (no intermediate strings).
 */
import { isoDate, packedYmd } from './dates.ts';

/** Buffer's native latin1 writer (public at run time, missing from @types/node); skips write()'s argument checks. */
interface Latin1Writable {
  latin1Write(text: string, offset: number): number;
}

/** ISO dates as bytes, 10 per day, for days [DATE_START, DATE_START + DATE_DAYS), filled lazily. */
const DATE_START = -36_524; // 1870-01-01
const DATE_DAYS = 100_000; // through ~2143
const dateBytes = new Uint8Array(DATE_DAYS * 10);
const dateFilled = new Uint8Array(DATE_DAYS);

/**
 * Writes the ISO date of `day` (a four-digit year: the cache's days are 1870–2143) at dateBytes[at]
 * from the packed calendar date, without a Date object and a string per day.
 */
function fillDate(at: number, day: number): void {
  const packed = packedYmd(day);
  let v = packed;
  for (let i = 9; i >= 0; i--) {
    if (i === 4 || i === 7) {
      dateBytes[at + i] = 45; // '-'
      continue;
    }
    const q = Math.floor(v / 10);
    dateBytes[at + i] = 48 + v - q * 10;
    v = q;
  }
}

/**
 * Room kept free after every reserve() and every string: the fixed-size parts of a row (digits,
 * dates, separators) between two strings never take more, so they are written without checks.
 */
const ROW_RESERVE = 512;

/**
 * Buffers of written chunks handed back by the writer thread (worker threads only), reused for the
 * next chunks' sinks: fresh large buffers cost page faults on first touch.
 */
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 24;

export function addSpareBuffers(buffers: readonly ArrayBuffer[]): void {
  for (const b of buffers) if (spares.length < MAX_SPARES && b.byteLength > 0) spares.push(b);
}

function takeSpare(bytes: number): Buffer | undefined {
  for (let i = 0; i < spares.length; i++) {
    const b = spares[i] as ArrayBuffer;
    if (b.byteLength >= bytes && b.byteLength <= bytes * 4) {
      spares[i] = spares[spares.length - 1] as ArrayBuffer;
      spares.pop();
      return Buffer.from(b);
    }
  }
  return undefined;
}

/** A plain Uint8Array over a Buffer's bytes: V8 optimises element stores on it better than on Buffer's subclass. */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

export class ByteSink {
  private buf: Buffer;
  /** The same bytes as `buf`, for the element stores of the hot writers. */
  private u: Uint8Array;
  length = 0;

  constructor(initialBytes = 1 << 22) {
    this.buf = takeSpare(initialBytes) ?? Buffer.allocUnsafe(initialBytes);
    this.u = plain(this.buf);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
    this.u = plain(next);
  }

  /** Makes room for one row's fixed-size parts (digits, dates, separators); strings check for themselves. */
  reserve(): void {
    if (this.length + ROW_RESERVE > this.buf.length) this.ensure(ROW_RESERVE);
  }

  /** Appends an ASCII string (a native copy; V8 flattens concatenated strings on the way). */
  write(text: string): void {
    this.ensure(text.length + ROW_RESERVE);
    this.length += (this.buf as unknown as Latin1Writable).latin1Write(text, this.length);
  }

  /** Appends a short ASCII string (a plain loop beats the native call for a few characters). */
  str(text: string): void {
    const n = text.length;
    if (n > 24) {
      this.write(text);
      return;
    }
    if (this.length + n + ROW_RESERVE > this.buf.length) this.ensure(n + ROW_RESERVE);
    const b = this.u;
    let o = this.length;
    for (let i = 0; i < n; i++) b[o++] = text.charCodeAt(i);
    this.length = o;
  }

  /** After reserve(): the first `length` (at most 64) bytes of `bytes`. */
  ascii(bytes: Uint8Array, length: number): void {
    const b = this.u;
    const o = this.length;
    for (let i = 0; i < length; i++) b[o + i] = bytes[i] as number;
    this.length = o + length;
  }

  /** After reserve(): characters [from, to) of a short ASCII string. */
  chars(text: string, from: number, to: number): void {
    const b = this.u;
    let o = this.length;
    for (let i = from; i < to; i++) b[o++] = text.charCodeAt(i);
    this.length = o;
  }

  byte(value: number): void {
    this.ensure(1);
    this.u[this.length++] = value;
  }

  /** After reserve(): one byte without a capacity check. */
  b(value: number): void {
    this.u[this.length++] = value;
  }

  /** After reserve(): a non-negative integer below 10^15 in exactly `width` digits (zero-padded). */
  digits(value: number, width: number): void {
    const b = this.u;
    let o = this.length + width;
    this.length = o;
    for (let i = 0; i < width; i++) {
      const q = Math.floor(value / 10);
      b[--o] = 48 + value - q * 10;
      value = q;
    }
  }

  /** After reserve(): a non-negative safe integer in decimal. */
  uint(value: number): void {
    let width = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) width++;
    this.digits(value, width);
  }

  /** After reserve(): a non-negative amount given in hundredths, as `whole.cc` (what toFixed(2) writes). */
  cents(hundredths: number): void {
    const whole = Math.floor(hundredths / 100);
    this.uint(whole);
    this.u[this.length++] = 46;
    this.digits(hundredths - whole * 100, 2);
  }

  /** After reserve(): the ISO date (YYYY-MM-DD) of a day number. */
  date(day: number): void {
    const k = day - DATE_START;
    if (k < 0 || k >= DATE_DAYS) {
      this.str(isoDate(day));
      return;
    }
    const at = k * 10;
    if (dateFilled[k] === 0) {
      fillDate(at, day);
      dateFilled[k] = 1;
    }
    const b = this.u;
    const o = this.length;
    for (let i = 0; i < 10; i++) b[o + i] = dateBytes[at + i] as number;
    this.length = o + 10;
  }

  /** Appends fields joined by commas and a line feed (the caller guarantees none needs quoting). */
  fields(fields: readonly string[]): void {
    this.reserve();
    const n = fields.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.u[this.length++] = 44;
      this.str(fields[i] as string);
    }
    this.u[this.length++] = 10;
  }

  /** Appends a copy of bytes [start, end) already written. */
  repeat(start: number, end: number): void {
    this.ensure(end - start);
    this.buf.copy(this.buf, this.length, start, end);
    this.length += end - start;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
