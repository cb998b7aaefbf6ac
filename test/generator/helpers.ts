import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Entity } from '../../src/definitions/entities.ts';
import { parseCsvLine } from '../../src/generator/csv.ts';
import type { GenerateSummary } from '../../src/generator/generate.ts';
import { readGroundTruth, type GroundTruthRow } from '../../src/generator/truth.ts';

export const AS_OF = new Date('2026-11-20T12:00:00Z');

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'carelake-gen-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A landing row as read back from disk: its physical line, raw text and parsed fields. */
export interface LandingRow {
  readonly line: number;
  readonly text: string;
  readonly fields: string[];
}

export function readLanding(file: string): { header: string; rows: LandingRow[] } {
  const text = readFileSync(file, 'latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const [header, ...rest] = lines;
  return {
    header: header ?? '',
    rows: rest.map((l, i) => ({ line: i + 2, text: l, fields: parseCsvLine(l) })),
  };
}

export async function allTruth(truthDir: string): Promise<GroundTruthRow[]> {
  const out: GroundTruthRow[] = [];
  for await (const r of readGroundTruth(truthDir)) out.push(r);
  return out;
}

/** Every row of a batch joined with its truth, per entity. */
export interface JoinedRow extends LandingRow {
  readonly entity: Entity;
  readonly fileName: string;
  readonly truth: GroundTruthRow;
}

export async function joinBatch(summary: GenerateSummary): Promise<Record<Entity, JoinedRow[]>> {
  const truth = await allTruth(summary.truthDir);
  const byFileLine = new Map(truth.map((t) => [`${t.fileName}#${t.line}`, t]));
  const out = { patients: [], claims: [], medical_events: [] } as Record<Entity, JoinedRow[]>;
  for (const f of summary.files) {
    const { rows } = readLanding(f.path);
    for (const r of rows) {
      const t = byFileLine.get(`${f.fileName}#${r.line}`);
      if (!t) throw new Error(`no truth for ${f.fileName} line ${r.line}`);
      out[f.entity].push({ ...r, entity: f.entity, fileName: f.fileName, truth: t });
    }
  }
  return out;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function sd(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export function share<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  return xs.filter(pred).length / xs.length;
}

/** Captures what `fn` writes to process.stdout and process.stderr. */
export async function capture<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const result = await fn();
    return { result, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
