import { closeSync, existsSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LANDING_COLUMNS, type Entity } from '../definitions/entities.ts';
import { formatLandingFileName } from '../definitions/landing-files.ts';
import { TRUTH_HEADER } from './truth.ts';

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * One landing file and its truth file, written as hidden `.…partial` files and published under the
 * final name at the end with link(2), which fails if the name exists: a file is never overwritten,
 * and a reader watching the landing folder never sees a half-written file. When the name of the
 * extract minute is taken, the next sequence number is used (`patients_261120_1200_2.csv`, …).
 */
export class LandingFileWriter {
  readonly entity: Entity;
  fileName: string;
  rows = 0;
  bytes = 0;
  private readonly landingPartial: string;
  private readonly truthPartial: string;
  private readonly landingFd: number;
  private readonly truthFd: number;
  private closed = false;

  constructor(
    entity: Entity,
    private readonly landingDir: string,
    private readonly truthDir: string,
    private readonly asOf: Date,
  ) {
    this.entity = entity;
    this.fileName = this.freeName(1);
    const tag = `${process.pid}.${Date.now()}`;
    this.landingPartial = path.join(landingDir, `.${this.fileName}.${tag}.partial`);
    this.truthPartial = path.join(truthDir, `.${this.fileName}.${tag}.partial`);
    this.landingFd = openSync(this.landingPartial, 'wx');
    this.truthFd = openSync(this.truthPartial, 'wx');
    this.writeLanding(Buffer.from(LANDING_COLUMNS[entity].join(',') + '\n', 'latin1'));
    writeAll(this.truthFd, Buffer.from(TRUTH_HEADER, 'latin1'));
  }

  private freeName(from: number): string {
    for (let seq = from; ; seq++) {
      const name = formatLandingFileName(this.entity, this.asOf, seq);
      if (!existsSync(path.join(this.landingDir, name)) && !existsSync(path.join(this.truthDir, name)))
        return name;
    }
  }

  private writeLanding(bytes: Uint8Array): void {
    writeAll(this.landingFd, bytes);
    this.bytes += bytes.length;
  }

  /** Appends a chunk's rows; `truth` already carries the line numbers. */
  append(text: Uint8Array, truth: Uint8Array, rows: number): void {
    this.writeLanding(text);
    writeAll(this.truthFd, truth);
    this.rows += rows;
  }

  /** The physical line number the next row will get (header = line 1). */
  get nextLine(): number {
    return this.rows + 2;
  }

  /** Closes both files and publishes them under their final names (next free sequence if taken meanwhile). */
  publish(): void {
    this.close();
    for (let seq = 1; ; seq++) {
      const name = seq === 1 ? this.fileName : this.freeName(seq);
      try {
        linkSync(this.landingPartial, path.join(this.landingDir, name));
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      this.fileName = name;
      break;
    }
    linkSync(this.truthPartial, path.join(this.truthDir, this.fileName));
    unlinkSync(this.landingPartial);
    unlinkSync(this.truthPartial);
  }

  /** Closes and removes the partial files (the run failed). */
  discard(): void {
    this.close();
    for (const f of [this.landingPartial, this.truthPartial]) {
      if (existsSync(f)) unlinkSync(f);
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.landingFd);
    closeSync(this.truthFd);
  }

  get landingPath(): string {
    return path.join(this.landingDir, this.fileName);
  }
}
