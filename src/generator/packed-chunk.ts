import type { DefectCode } from '../definitions/defect-catalog.ts';
import type { Entity } from '../definitions/entities.ts';
import type { ChunkResult } from './chunk.ts';

/** A chunk's output as plain data (bytes and counts), as it crosses from a worker to the writer. */
export interface PackedChunk {
  readonly start: number;
  readonly end: number;
  readonly out: Record<
    Entity,
    { readonly text: Uint8Array; readonly truth: Uint8Array; readonly rows: number }
  >;
  readonly defects: Partial<Record<DefectCode, number>>;
  readonly people: { readonly created: number; readonly changed: number; readonly active: number };
}

/**
 * Packs a chunk; `copy` makes standalone buffers (needed to transfer them out of a worker). A sink's
 * own large buffer (not a slice of Node's shared pool) is handed over as it is, without a copy.
 */
export function packChunk(r: ChunkResult, copy: boolean): PackedChunk {
  const take = (b: Buffer): Uint8Array =>
    !copy
      ? b
      : b.byteOffset === 0 && b.buffer.byteLength > 65_536
        ? new Uint8Array(b.buffer, 0, b.length)
        : Uint8Array.prototype.slice.call(b);
  const entity = (e: Entity) => ({
    text: take(r.out[e].text.bytes()),
    truth: take(r.out[e].truth.bytes()),
    rows: r.out[e].rows,
  });
  return {
    start: r.start,
    end: r.end,
    out: { patients: entity('patients'), claims: entity('claims'), medical_events: entity('medical_events') },
    defects: r.defects,
    people: r.people,
  };
}

/** The transferable buffers of a packed chunk. */
export function transferList(p: PackedChunk): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const e of Object.values(p.out))
    list.push(e.text.buffer as ArrayBuffer, e.truth.buffer as ArrayBuffer);
  return list;
}
