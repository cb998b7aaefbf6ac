/**
 * A growable byte buffer for CSV text. Lines are copied straight into bytes, so a chunk's output is
 * one Buffer, not millions of live strings for the GC to trace. All generated text is ASCII (names,
 * places and codes come from ASCII tables), so each character is one byte (latin1 copy is a memcpy).
 */
/** Buffer's native latin1 writer (public at run time, missing from @types/node); skips the argument checks of write(). */
interface Latin1Writable {
  latin1Write(text: string, offset: number): number;
}

export class ByteSink {
  private buf: Buffer;
  length = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  write(text: string): void {
    const need = this.length + text.length;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    this.length += (this.buf as unknown as Latin1Writable).latin1Write(text, this.length);
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
