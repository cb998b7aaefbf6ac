import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
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
}

/** Lists landing files in extract order (time, then entity in dependency order, then sequence). */
export function scanLanding(dir: string): LandingScan {
  if (!fs.existsSync(dir)) return { files: [], ignored: [] };
  const files: LandingFile[] = [];
  const ignored: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const parsed = parseLandingFileName(entry.name);
    if (!parsed) {
      if (!entry.name.startsWith('.')) ignored.push(entry.name);
      continue;
    }
    const filePath = path.resolve(dir, entry.name);
    const stat = fs.statSync(filePath);
    files.push({ ...parsed, filePath, sizeBytes: stat.size, modifiedAt: stat.mtime });
  }
  files.sort(
    (a, b) =>
      a.extractedAt.getTime() - b.extractedAt.getTime() ||
      ENTITIES.indexOf(a.entity) - ENTITIES.indexOf(b.entity) ||
      a.sequence - b.sequence,
  );
  ignored.sort();
  return { files, ignored };
}

/** SHA-256 of a file's content, streamed. */
export async function sha256File(filePath: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(filePath, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}
