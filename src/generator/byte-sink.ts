/**
 * A growable byte buffer for CSV text. Rows are copied straight into bytes (all generated text is
 * ASCII: names, places and codes come from ASCII tables, so latin1 is exact), so a chunk's output
 * is one Buffer, not millions of live strings for the GC to trace.
 */
/** Buffer's native latin1 writer (public at run time, missing from @types/node); skips write()'s argument checks. */
interface Latin1Writable {
  latin1Write(text: string, offset: number): number;
}

export class ByteSink {
  private buf: Buffer;
  length = 0;

  constructor(initialBytes = 1 << 22) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Appends an ASCII string (a native copy; V8 flattens concatenated strings on the way). */
  write(text: string): void {
    this.ensure(text.length);
    this.length += (this.buf as unknown as Latin1Writable).latin1Write(text, this.length);
  }

  byte(value: number): void {
    this.ensure(1);
    this.buf[this.length++] = value;
  }

  /** Appends fields joined by commas and a line feed (the caller guarantees none needs quoting). */
  fields(fields: readonly string[]): void {
    this.write(fields.join(','));
    this.byte(10);
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
