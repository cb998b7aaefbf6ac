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
 * Works on bytes (the writer thread does this for millions of lines, so no strings are built).
 */
export function numberTruthLines(body: Uint8Array, firstLine: number): Buffer {
  let lines = 0;
  for (let i = 0; i < body.length; i++) if (body[i] === 10) lines++;
  const digitsMax = String(firstLine + lines).length + 1;
  const out = Buffer.allocUnsafe(body.length + lines * digitsMax);
  const digits = new Uint8Array(16);
  let o = 0;
  let line = firstLine;
  let atStart = true;
  for (let i = 0; i < body.length; i++) {
    if (atStart) {
      let n = line;
      let d = 0;
      do {
        digits[d++] = 48 + (n % 10);
        n = Math.floor(n / 10);
      } while (n > 0);
      while (d > 0) out[o++] = digits[--d] as number;
      out[o++] = 44; // ','
      atStart = false;
      line++;
    }
    const c = body[i] as number;
    out[o++] = c;
    if (c === 10) atStart = true;
  }
  return out.subarray(0, o);
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
