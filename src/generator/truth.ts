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

/** Prefixes each truth line of a chunk with its physical line number, starting at `firstLine`. */
export function numberTruthLines(body: Buffer, firstLine: number): string {
  const text = body.toString('latin1');
  let out = '';
  let line = firstLine;
  let from = 0;
  for (;;) {
    const nl = text.indexOf('\n', from);
    if (nl < 0) break;
    out += line + ',' + text.slice(from, nl + 1);
    line++;
    from = nl + 1;
  }
  return out;
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
