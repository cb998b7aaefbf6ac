import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { DefectCode } from '../definitions/defect-catalog.ts';
import type { Entity } from '../definitions/entities.ts';
import { readManifest } from './manifest.ts';

/**
 * Ground truth: one CSV per landing file, `truth/{landing file name}`, with the header
 * `line,record_key,person_id,defects`: the physical line of the row in the landing file (the
 * header is line 1), its record key (`SOURCE_SYSTEM:patient_id` for patients, the claim_id, the
 * event_id), the true person (`P0000001`…) and the injected defect codes joined with `;` (empty for
 * a clean row).
 */
export const TRUTH_HEADER = 'line,record_key,person_id,defects\n';

export interface GroundTruthRow {
  readonly fileName: string;
  readonly entity: Entity;
  readonly line: number;
  readonly recordKey: string;
  readonly personId: string;
  readonly defects: readonly DefectCode[];
}

/**
 * Prefixes each truth line of a chunk with its physical line number, starting at `firstLine`.
 * Works on bytes (the writer thread does this for millions of lines, so no strings are built): the
 * number is kept as ASCII digits and incremented in place. `lineCount`, when given, must be the
 * number of lines in `input` (it sizes the output). `into`, when large enough, receives the output
 * (a scratch buffer the writer reuses; the result is then a view of it).
 */
export function numberTruthLines(
  input: Uint8Array,
  firstLine: number,
  lineCount?: number,
  into?: Buffer,
): Buffer {
  // Plain Uint8Array views: element access on them optimises better than on Buffer's subclass.
  const body = new Uint8Array(input.buffer, input.byteOffset, input.length);
  // The caller usually knows the number of lines (the chunk's rows); else they are counted.
  let lines = lineCount ?? 0;
  if (lineCount === undefined) {
    const search = Buffer.from(input.buffer, input.byteOffset, input.length);
    for (let i = search.indexOf(10); i >= 0; i = search.indexOf(10, i + 1)) lines++;
  }
  const digitsMax = String(firstLine + lines).length + 1;
  const size = body.length + lines * digitsMax;
  const outBuffer = into !== undefined && into.length >= size ? into : Buffer.allocUnsafe(size);
  const out = new Uint8Array(outBuffer.buffer, outBuffer.byteOffset, outBuffer.length);
  // The current line number, right-aligned in `digits[16 - width, 16)`.
  const digits = new Uint8Array(16);
  let width = 0;
  for (let n = firstLine; n > 0 || width === 0; n = Math.floor(n / 10)) digits[16 - ++width] = 48 + (n % 10);
  let o = 0;
  let i = 0;
  let numbered = 0;
  const n = body.length;
  // Up to the last line feed, a line's copy stops at its line feed with no end-of-input check.
  const lastFeed = body.lastIndexOf(10);
  while (i < n) {
    numbered++;
    for (let d = 16 - width; d < 16; d++) out[o++] = digits[d] as number;
    out[o++] = 44; // ','
    let c: number;
    if (i <= lastFeed) {
      do {
        c = body[i++] as number;
        out[o++] = c;
      } while (c !== 10);
    } else {
      while (i < n) out[o++] = body[i++] as number;
    }
    // line++ on the digits
    let d = 15;
    while (d >= 16 - width && digits[d] === 57) digits[d--] = 48;
    if (d >= 16 - width) digits[d] = (digits[d] as number) + 1;
    else {
      width++;
      digits[16 - width] = 49;
    }
  }
  if (numbered !== lines) throw new Error(`truth chunk has ${numbered} lines, expected ${lines}`);
  return outBuffer.subarray(0, o);
}

/** Parses one truth line (`line,record_key,person_id,defects`). */
export function parseTruthLine(fileName: string, entity: Entity, text: string): GroundTruthRow {
  const [line, recordKey, personId, defects] = text.split(',');
  return {
    fileName,
    entity,
    line: Number(line),
    recordKey: recordKey ?? '',
    personId: personId ?? '',
    defects: defects ? (defects.split(';') as DefectCode[]) : [],
  };
}

/**
 * Streams the ground truth of every file the manifest in `truthDir` lists, batch by batch, file by
 * file, line by line (pipeline tests score their outcome against it).
 */
export async function* readGroundTruth(truthDir: string): AsyncGenerator<GroundTruthRow> {
  const manifest = readManifest(truthDir);
  if (!manifest) throw new Error(`no ground truth in ${truthDir} (manifest.json is missing)`);
  for (const batch of manifest.batches) {
    for (const file of batch.files) {
      const lines = createInterface({
        input: createReadStream(path.join(truthDir, file.fileName)),
        crlfDelay: Infinity,
      });
      let header = true;
      for await (const text of lines) {
        if (header) {
          header = false;
          continue;
        }
        if (text.length > 0) yield parseTruthLine(file.fileName, file.entity, text);
      }
    }
  }
}
