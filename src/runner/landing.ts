import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseLandingFileName, type LandingFileName } from '../definitions/landing-files.ts';
import { ENTITIES } from '../definitions/entities.ts';

export interface LandingFile extends LandingFileName {
  readonly filePath: string;
  readonly sizeBytes: number;
  readonly modifiedAt: Date;
}

export interface LandingScan {
  readonly files: LandingFile[];
  /** Files in the landing folder whose names are not landing-file names. */
  readonly ignored: string[];
  /**
   * Entries with a landing-file name that are not regular files (a symbolic link, a folder, a pipe),
   * with what they are. They are not read: a link may point anywhere outside the landing folder, and a
   * pipe would block the run.
   */
  readonly notFiles: { readonly name: string; readonly kind: string }[];
  /** Why nothing could be listed: the folder does not exist, or is not a folder. */
  readonly problem?: string;
}

/** What a directory entry that is not a regular file is, in words. */
function entryKind(entry: fs.Dirent): string {
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isDirectory()) return 'a folder';
  if (entry.isFIFO()) return 'a named pipe';
  if (entry.isSocket()) return 'a socket';
  return 'a device';
}

/** Lists landing files in extract order (time, then entity in dependency order, then sequence). */
export function scanLanding(dir: string): LandingScan {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) {
    const where = path.resolve(dir);
    const problem = stat
      ? `${where} is not a folder: no file to ingest`
      : `the landing folder ${where} does not exist: no file to ingest`;
    return { files: [], ignored: [], notFiles: [], problem };
  }
  const files: LandingFile[] = [];
  const ignored: string[] = [];
  const notFiles: { name: string; kind: string }[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const parsed = parseLandingFileName(entry.name);
    if (!entry.isFile()) {
      if (parsed) notFiles.push({ name: entry.name, kind: entryKind(entry) });
      continue;
    }
    if (!parsed) {
      if (!entry.name.startsWith('.')) ignored.push(entry.name);
      continue;
    }
    const filePath = path.resolve(dir, entry.name);
    // Gone since the listing (moved away by its producer or a retention job): the next run sees it.
    const stat = fs.statSync(filePath, { throwIfNoEntry: false });
    if (stat) files.push({ ...parsed, filePath, sizeBytes: stat.size, modifiedAt: stat.mtime });
  }
  files.sort(
    (a, b) =>
      a.extractedAt.getTime() - b.extractedAt.getTime() ||
      ENTITIES.indexOf(a.entity) - ENTITIES.indexOf(b.entity) ||
      a.sequence - b.sequence,
  );
  ignored.sort();
  notFiles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, ignored, notFiles };
}

/** What one streaming read of a landing file tells before it is loaded. */
export interface FileInspection {
  readonly sha256: string;
  /** Non-empty lines after the header (a record per line unless fields hold quoted line breaks). */
  readonly dataLines: number;
  readonly utf8: boolean;
  readonly hasNul: boolean;
  /**
   * The longest record in bytes, line ending included: up to a line feed outside double quotes (at
   * least the longest physical line).
   */
  readonly longestRecord: number;
  /**
   * The first line that is not blank, without a byte-order mark or line ending; undefined for a file of
   * blank lines only (or none).
   */
  readonly headerLine: string | undefined;
  /** Blank lines before the header (the CSV reader must skip them, or it takes the first for the header). */
  readonly leadingBlankLines: number;
  /**
   * The lines the engine's CSV reader must skip to reach the header: the blank lines before it, where a
   * CR LF one counts twice when the file's first line break is a bare line feed (`\n\r\n` before the
   * header: with a skip of 2 the reader took the empty line after the CR for the header, and the header
   * for a data row).
   */
  readonly readerSkip: number;
  /** Line feeds inside quoted values (the engine's parallel CSV reader refuses them). */
  readonly quotedLineBreaks: number;
  /** The records after the header as the line scan sees them (the reader skips blank lines too). */
  readonly records: number;
  /**
   * Where records stop being one line each after the header: [record index (0-based), extra lines
   * before it] from that record on, for blank lines the reader skips and line breaks inside quoted
   * values; a record's physical line is index + 2 + its extra lines. Undefined when there are more
   * than MAX_LINE_SHIFTS changes (line numbers are then approximate).
   */
  readonly lineShifts: readonly (readonly [number, number])[] | undefined;
  /** The file is not empty and its last byte is not a line feed (it may still be being written). */
  readonly endsMidLine: boolean;
  /**
   * What the file is when its first bytes are the signature of something that is not CSV text (a
   * compressed file, an archive or workbook, UTF-16 text): named in the quarantine instead of the
   * engine's complaint about the bytes.
   */
  readonly notCsv?: string;
}

/**
 * Formats a landing file is sometimes mistaken for, by their first bytes. UTF-16 comes first: its
 * byte-order mark is also how such files are told from Latin-1 text.
 */
const SIGNATURES: readonly (readonly [readonly number[], string])[] = [
  [[0xff, 0xfe], 'UTF-16 text; save it as UTF-8 CSV'],
  [[0xfe, 0xff], 'UTF-16 text; save it as UTF-8 CSV'],
  [[0x1f, 0x8b], 'a gzip-compressed file; decompress it before it lands'],
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive or an Excel workbook; export the sheet as CSV'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an Excel 97-2003 or other Office document; export the sheet as CSV'],
  [[0x42, 0x5a, 0x68], 'a bzip2-compressed file; decompress it before it lands'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'an xz-compressed file; decompress it before it lands'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'a zstd-compressed file; decompress it before it lands'],
  [[0x50, 0x41, 0x52, 0x31], 'a Parquet file, not CSV'],
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'a PDF document, not CSV'],
];

/** What a file starting with `head` is, when that is a known format other than CSV text. */
export function notCsvSignature(head: Buffer): string | undefined {
  return SIGNATURES.find(([magic]) => magic.every((b, i) => head[i] === b))?.[1];
}

/** The most line-number shifts a file's inspection lists (see FileInspection.lineShifts). */
export const MAX_LINE_SHIFTS = 200;

/**
 * The record scan of a file so far. A record ends at a line feed outside double quotes (each quote opens
 * or closes a quoted span, so an escaped quote `""` changes nothing); a record of no bytes (or only a
 * carriage return) is a blank line, which the CSV reader skips. The longest record is at least the
 * longest physical line; a stray quote inside a value can make it longer than the record the reader
 * sees (and the record count smaller, which the runner checks before it trusts the line shifts).
 */
interface RecordSpan {
  longest: number;
  /** Bytes of the record not ended yet (carried into the next read). */
  open: number;
  quoted: boolean;
  /** The last byte of the previous read (a record of one carried byte is blank if it is a CR). */
  lastByte: number;
  blank: number;
  headerSeen: boolean;
  leadingBlank: number;
  /** Whether the file's first line break is a bare line feed (undefined until one is seen). */
  bareFirst: boolean | undefined;
  /** The lines before the header as the engine's reader counts them (see `readerSkip`). */
  readerLeading: number;
  /** Line feeds inside quotes in the current record. */
  quotedBreaks: number;
  /** Line feeds inside quotes in the whole file. */
  quotedLineBreaks: number;
  /** Physical lines so far beyond one per record. */
  extra: number;
  records: number;
  /** The extra lines of the last record counted (the last shift listed). */
  shift: number;
  shifts: [number, number][] | undefined;
}

const newSpan = (): RecordSpan => ({
  longest: 0,
  open: 0,
  quoted: false,
  lastByte: -1,
  blank: 0,
  headerSeen: false,
  leadingBlank: 0,
  bareFirst: undefined,
  readerLeading: 0,
  quotedBreaks: 0,
  quotedLineBreaks: 0,
  extra: 0,
  records: 0,
  shift: 0,
  shifts: [],
});

/** Counts a record that ended (or the file's unterminated last one). */
function endRecord(span: RecordSpan, blank: boolean): void {
  if (blank) {
    span.blank += 1;
    span.extra += 1;
    if (!span.headerSeen) span.leadingBlank += 1;
  } else if (!span.headerSeen) span.headerSeen = true;
  else {
    if (span.extra !== span.shift) {
      span.shift = span.extra;
      if (span.shifts && span.shifts.length >= MAX_LINE_SHIFTS) span.shifts = undefined;
      span.shifts?.push([span.records, span.extra]);
    }
    span.records += 1;
  }
  span.extra += span.quotedBreaks;
  span.quotedLineBreaks += span.quotedBreaks;
  span.quotedBreaks = 0;
}

/**
 * The line feeds in `buf`; records, blank lines and record lengths go to `span`. One pass over the
 * line feeds and quotes, with the hot part of the span's state in locals for the loop: inspecting the
 * 440 MB events file of a 1M-people data set took 0.82-0.92 s with the records counted, as before.
 */
function countLineFeeds(buf: Buffer, span: RecordSpan): number {
  let newlines = 0;
  let { longest, open, quoted } = span;
  let start = 0;
  let quote = buf.indexOf(34);
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) {
    newlines += 1;
    for (; quote >= 0 && quote < i; quote = buf.indexOf(34, quote + 1)) quoted = !quoted;
    if (quoted) {
      span.quotedBreaks += 1;
      continue;
    }
    const length = open + i - start;
    if (length + 1 > longest) longest = length + 1;
    const blank = length === 0 || (length === 1 && (i > start ? buf[i - 1] : span.lastByte) === 13);
    if (!span.headerSeen) {
      // Before the header: the engine's reader takes its line ending from the file's first line break,
      // and when that is a bare line feed, it counts a CR LF blank line as two lines.
      // (The CR test is spelt out here and above on purpose: read for every line it cost 0.03-0.06 s
      // of the 1.0-1.1 s scan of a 5.5 M-line file, and a shared closure made the scan five times slower.)
      const crlf = length > 0 && (i > start ? buf[i - 1] : span.lastByte) === 13;
      span.bareFirst ??= !crlf;
      if (blank) span.readerLeading += crlf && span.bareFirst ? 2 : 1;
    }
    endRecord(span, blank);
    open = 0;
    start = i + 1;
  }
  for (; quote >= 0; quote = buf.indexOf(34, quote + 1)) quoted = !quoted;
  span.longest = longest;
  span.open = open + buf.length - start;
  span.quoted = quoted;
  span.lastByte = buf[buf.length - 1] ?? span.lastByte;
  return newlines;
}

/** The length of the UTF-8 sequence a lead byte starts (1 for a byte that cannot start one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
  return lead >= 0xc0 ? 2 : 1;
}

/** Where an incomplete UTF-8 sequence at the end of `buf` starts (`buf.length` when there is none). */
function incompleteTail(buf: Buffer): number {
  let i = buf.length - 1;
  while (i >= 0 && buf.length - i <= 3 && ((buf[i] ?? 0) & 0xc0) === 0x80) i -= 1;
  if (i < 0) return buf.length;
  return buf.length - i < sequenceLength(buf[i] ?? 0) ? i : buf.length;
}

/**
 * Validates UTF-8 chunk by chunk with the engine's validator (`buffer.isUtf8`, far cheaper than a
 * decoding TextDecoder); a sequence split between two chunks is checked once both halves are read.
 */
class Utf8Check {
  valid = true;
  private carry: Buffer = Buffer.alloc(0);
  update(chunk: Buffer): void {
    if (!this.valid) return;
    let body = chunk;
    if (this.carry.length) {
      const need = sequenceLength(this.carry[0] ?? 0) - this.carry.length;
      if (need > chunk.length) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      this.valid = isUtf8(Buffer.concat([this.carry, chunk.subarray(0, need)]));
      body = chunk.subarray(need);
      this.carry = Buffer.alloc(0);
    }
    const split = incompleteTail(body);
    if (!isUtf8(body.subarray(0, split))) this.valid = false;
    this.carry = Buffer.from(body.subarray(split));
  }
  end(): boolean {
    return this.valid && this.carry.length === 0;
  }
}

/** Where the first line that is not blank (LF or CR LF alone) starts in `head`. */
function afterBlankLines(head: Buffer): number {
  let i = 0;
  for (;;) {
    if (head[i] === 10) i += 1;
    else if (head[i] === 13 && head[i + 1] === 10) i += 2;
    else return i;
  }
}

/**
 * The bytes of a file, chunk by chunk, each chunk a view of one buffer read into again and again (valid
 * until the next one): a stream's fresh buffer per chunk is memory taken from the system a page fault at
 * a time (reading a 440 MB file: 0.18 s against 0.05 s). The file is closed when the loop ends or leaves.
 */
async function* fileChunks(filePath: string, size = 1 << 22): AsyncGenerator<Buffer> {
  const chunk = Buffer.allocUnsafe(size);
  const handle = await fs.promises.open(filePath, 'r');
  try {
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(chunk, 0, size, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield chunk.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Hashes a file (unless `hash` is false: `sha256` is then empty), counts its lines and checks its
 * encoding in one pass.
 */
export async function inspectFile(
  filePath: string,
  options: { hash?: boolean } = {},
): Promise<FileInspection> {
  const hash = options.hash === false ? undefined : crypto.createHash('sha256');
  const utf8Check = new Utf8Check();
  let hasNul = false;
  let newlines = 0;
  let last = -1;
  let notCsv: string | undefined;
  const span = newSpan();
  let head: Buffer | undefined = Buffer.alloc(0);
  let headText: string | undefined;
  let first = true;
  for await (const buf of fileChunks(filePath)) {
    if (first) notCsv = notCsvSignature(buf);
    first = false;
    hash?.update(buf);
    utf8Check.update(buf);
    if (!hasNul && buf.includes(0)) hasNul = true;
    newlines += countLineFeeds(buf, span);
    last = buf[buf.length - 1] ?? -1;
    if (head !== undefined) {
      head = Buffer.concat([head, buf.subarray(0, 65536)]);
      const from = afterBlankLines(head);
      const nl = head.indexOf(10, from);
      if (nl >= 0 || head.length >= 65536) {
        headText = head.subarray(from, nl >= 0 ? nl : head.length).toString('latin1');
        head = undefined;
      }
    }
  }
  if (head !== undefined && head.length) headText = head.subarray(afterBlankLines(head)).toString('latin1');
  // The last record, when the file does not end with a line feed.
  if (span.open > 0) endRecord(span, span.open === 1 && last === 13);
  const utf8 = utf8Check.end();
  const lines = newlines + (last >= 0 && last !== 10 ? 1 : 0) - span.blank;
  const raw =
    headText === undefined ? undefined : utf8 ? Buffer.from(headText, 'latin1').toString('utf8') : headText;
  const headerLine = raw?.replace(/^\uFEFF/, '').replace(/\r$/, '');
  const hasHeader = headerLine !== undefined && headerLine.length > 0;
  return {
    sha256: hash?.digest('hex') ?? '',
    dataLines: Math.max(0, lines - (hasHeader ? 1 : 0)),
    utf8,
    hasNul,
    longestRecord: Math.max(span.longest, span.open),
    headerLine: hasHeader ? headerLine : undefined,
    leadingBlankLines: span.leadingBlank,
    readerSkip: span.readerLeading,
    records: span.records,
    quotedLineBreaks: span.quotedLineBreaks,
    lineShifts: span.shifts,
    endsMidLine: last >= 0 && last !== 10,
    ...(notCsv === undefined ? {} : { notCsv }),
  };
}

/** Where a file holds a byte that Latin-1 leaves undefined: its 1-based physical line and the byte. */
export interface UndefinedLatin1Byte {
  readonly line: number;
  readonly byte: number;
}

/**
 * The first byte from 0x80 to 0x9F in a file, if any. A file that is not UTF-8 is read as Latin-1, and the
 * engine's Latin-1 decoder refuses these bytes (C1 control codes): Windows-1252 puts curly quotes, dashes
 * and the euro sign there, so a Windows export holding one cannot be read. Only called for files that are
 * not UTF-8 (in UTF-8 these bytes continue a character), so the byte loop costs nothing on the usual path.
 */
export async function firstUndefinedLatin1Byte(filePath: string): Promise<UndefinedLatin1Byte | undefined> {
  let line = 1;
  for await (const buf of fileChunks(filePath, 1 << 20))
    for (const b of buf) {
      if (b === 10) line += 1;
      else if (b >= 0x80 && b <= 0x9f) return { line, byte: b };
    }
  return undefined;
}

/**
 * How long a file that ends mid-line must have been left unchanged before it is taken as complete: a
 * writer copying a file into the landing folder leaves it ending mid-line between its writes, and a
 * file read then would lose its last record and every later one (a changed file under an ingested name
 * is not read again). A file that really ends without a line break is ingested once this has passed.
 */
export const MID_LINE_QUIET_SECONDS = 30;

/** Whether a file still has the size and modification time its listing saw (it did not change since). */
export function unchangedSince(file: LandingFile): boolean {
  const now = fs.statSync(file.filePath, { throwIfNoEntry: false });
  return (
    now !== undefined && now.size === file.sizeBytes && now.mtime.getTime() === file.modifiedAt.getTime()
  );
}

/**
 * Why a new file is left for a later run, if it looks like it is still being written: it changed while
 * it was inspected, or it ends mid-line and changed less than MID_LINE_QUIET_SECONDS ago.
 */
export function stillBeingWritten(
  file: LandingFile,
  inspection: FileInspection,
  nowMs: number,
): string | undefined {
  if (!unchangedSince(file)) return 'changed while it was read (still being written?); left for a later run';
  const age = (nowMs - file.modifiedAt.getTime()) / 1000;
  if (inspection.endsMidLine && age < MID_LINE_QUIET_SECONDS)
    return `ends mid-line and was written ${Math.max(0, Math.round(age))} s ago (still being written?); left for a later run (a file that ends without a line break is ingested once it has not changed for ${MID_LINE_QUIET_SECONDS} s)`;
  return undefined;
}

/** Splits one CSV line into fields (RFC 4180 quoting). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  fields.push(cur);
  return fields;
}

/**
 * Below this many bytes in all, files are hashed on the calling thread: starting a worker thread costs
 * more than hashing an incremental batch's few small files.
 */
export const PARALLEL_INSPECTION_BYTES = 64 * 1024 * 1024;

/**
 * The hashing thread of `inspectFiles` (plain JavaScript, so it starts in milliseconds): answers each
 * file path it is sent with the SHA-256 of the file's bytes, read into one reused buffer.
 */
const HASH_WORKER = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const chunk = Buffer.allocUnsafe(1 << 22);
parentPort.on('message', (filePath) => {
  try {
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(filePath, 'r');
    try {
      for (let position = 0, n; (n = fs.readSync(fd, chunk, 0, chunk.length, position)) > 0; position += n)
        hash.update(chunk.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    parentPort.postMessage({ filePath, sha256: hash.digest('hex') });
  } catch (error) {
    parentPort.postMessage({ filePath, error: String(error) });
  }
});`;

/**
 * `inspectFile` for each file. For a batch of `parallelFrom` bytes or more (a first load), the
 * SHA-256 is computed on a worker thread while this thread counts the lines and checks the encoding,
 * so the two halves of the work run on two cores (1 GB of landing files: 0.74-0.86 s instead of
 * 1.03-1.29 s); the engine waits for all of it before its first read. A hash the worker could not
 * compute is computed here.
 */
export async function inspectFiles(
  files: readonly { filePath: string; sizeBytes: number }[],
  parallelFrom = PARALLEL_INSPECTION_BYTES,
): Promise<Map<string, FileInspection>> {
  const result = new Map<string, FileInspection>();
  const total = files.reduce((n, f) => n + f.sizeBytes, 0);
  if (total < parallelFrom || os.availableParallelism() < 2) {
    for (const f of files) result.set(f.filePath, await inspectFile(f.filePath));
    return result;
  }
  // Each file's hash, settled by the worker's answer, or without one if the worker fails or stops.
  const settle = new Map<string, (sha256: string | undefined) => void>();
  const hashes = new Map(
    files.map((f) => [f.filePath, new Promise<string | undefined>((done) => settle.set(f.filePath, done))]),
  );
  const settleAll = (): void => settle.forEach((done) => done(undefined));
  const worker = new Worker(HASH_WORKER, { eval: true, execArgv: [] });
  worker.on('message', (m: { filePath: string; sha256?: string }) => settle.get(m.filePath)?.(m.sha256));
  worker.on('error', settleAll);
  worker.on('exit', settleAll);
  try {
    for (const f of files) worker.postMessage(f.filePath);
    for (const f of files) {
      const inspection = await inspectFile(f.filePath, { hash: false });
      const sha256 = (await hashes.get(f.filePath)) ?? (await inspectFile(f.filePath)).sha256;
      result.set(f.filePath, { ...inspection, sha256 });
    }
  } finally {
    await worker.terminate();
  }
  return result;
}
