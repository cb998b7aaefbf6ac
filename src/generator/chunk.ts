import type { DefectCode } from '../definitions/defect-catalog.ts';
import type { Entity } from '../definitions/entities.ts';
import { activeIn, changedIn, personAsOf } from './changes.ts';
import {
  ACTIVE_PERSON_EXTRA_CLAIMS,
  claimFields,
  drawClaim,
  NEW_PERSON_EXTRA_CLAIMS,
  type ClaimDraw,
} from './claims.ts';
import {
  claimValuesProblem,
  cleanRowProblem,
  copyValuesProblem,
  ehrValuesProblem,
  eventValuesProblem,
} from './clean-format.ts';
import { CLAIMS_SOURCE_SYSTEM } from '../definitions/entities.ts';
import type { BatchContext } from './context.ts';
import { ByteSink } from './byte-sink.ts';
import { csvLine } from './csv.ts';
import { applyDefect, drawDefect } from './defects.ts';
import { eventRow, planAdtEvents, planLabEvents, stayCount, type PlannedEvent } from './events.ts';
import { DAYS_PER_YEAR, type Address, type Person } from './people.ts';
import { adtId, claimIdPrefix, ehrId, eventIdPrefix, labId, rowNumber } from './ids.ts';
import { Rng, STREAM } from './prng.ts';
import {
  copyPatientFields,
  drawCopy,
  ehrPatientFields,
  hasActiveRecord,
  sourceFlags,
  UNDASHED_SSN_SHARE,
  type CopyDraw,
} from './sources.ts';

/** A range of person indexes to generate: [start, end). */
export interface ChunkSpec {
  readonly start: number;
  readonly end: number;
}

/** One entity's output of a chunk: CSV bytes and ground-truth lines without their line numbers. */
export interface EntityChunk {
  readonly text: ByteSink;
  /** One line per row: `record_key,person_id,defects\n` (the line number is prefixed when written). */
  readonly truth: ByteSink;
  rows: number;
}

export interface ChunkResult {
  readonly start: number;
  readonly end: number;
  readonly out: Record<Entity, EntityChunk>;
  readonly defects: Partial<Record<DefectCode, number>>;
  /** New people generated, existing people with a new EHR row, existing people with new activity. */
  readonly people: { created: number; changed: number; active: number };
}

/** Raised when a generated clean row fails validation: a generator bug; the run aborts before writing. */
export class GeneratorValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorValidationError';
  }
}

/** History window for a new person's claims and events: three years before the extract. */
export const HISTORY_DAYS = Math.floor(3 * DAYS_PER_YEAR);

class ChunkWriter {
  readonly out: Record<Entity, EntityChunk>;
  readonly defects: Partial<Record<DefectCode, number>> = {};
  private pending: { entity: Entity; from: number; to: number; key: string; personId: string }[] = [];

  constructor(
    private readonly ctx: BatchContext,
    private readonly defectRng: Rng,
    newPeople: number,
  ) {
    // Buffers sized for the expected output of the chunk's new people (bytes per person, with some
    // room), so they rarely grow (each growth copies what was written so far).
    const sink = (bytesPerPerson: number): ByteSink =>
      new ByteSink(Math.max(1 << 16, Math.ceil(newPeople * bytesPerPerson)));
    this.out = {
      patients: { text: sink(400), truth: sink(80), rows: 0 },
      claims: { text: sink(320), truth: sink(115), rows: 0 },
      medical_events: { text: sink(520), truth: sink(175), rows: 0 },
    };
  }

  /**
   * Emits one row: draws its defect (unless `forced`), validates it when clean, and queues an exact
   * copy when the draw is duplicate_row.
   */
  row(
    entity: Entity,
    fields: string[],
    key: string,
    personId: string,
    identitySafe: boolean,
    forced?: DefectCode,
  ): void {
    const code = forced ?? drawDefect(this.ctx, this.defectRng, entity, identitySafe);
    if (code !== undefined && code !== 'duplicate_row')
      applyDefect(this.ctx, this.defectRng, entity, fields, code);
    const recorded = code === 'duplicate_row' ? undefined : code;
    if (recorded === undefined) {
      const problem = cleanRowProblem(this.ctx, entity, fields, 'write');
      if (problem !== undefined)
        throw new GeneratorValidationError(
          `generated clean ${entity} row ${key} fails validation: ${problem}`,
        );
    } else {
      this.defects[recorded] = (this.defects[recorded] ?? 0) + 1;
    }
    // Clean rows passed the row checks, which admit no comma, quote or line break in any field, so
    // they need no quoting; defective rows go through the RFC 4180 quoting.
    const o = this.out[entity];
    const from = o.text.length;
    if (recorded === undefined) o.text.fields(fields);
    else o.text.write(csvLine(fields));
    this.truthLine(o, key, personId, recorded);
    if (code === 'duplicate_row') this.pending.push({ entity, from, to: o.text.length, key, personId });
  }

  /** The current person's claim/event id prefix and patient id as bytes (set once per person and entity). */
  private readonly prefixBytes = new Uint8Array(64);
  private prefixLength = 0;
  private readonly patientBytes = new Uint8Array(64);
  private patientLength = 0;
  private idsPrefix = '';
  private idsPatient = '';
  private readonly personBytes = new Uint8Array(64);
  private personLength = 0;
  private idsPerson = '';

  /** The person id as bytes (the same string for all rows of a person). */
  private personIdBytes(t: ByteSink, personId: string): void {
    if (personId !== this.idsPerson) {
      this.idsPerson = personId;
      this.personLength = asciiInto(this.personBytes, personId);
    }
    t.ascii(this.personBytes, this.personLength);
  }

  private setIds(prefix: string, patientId: string): void {
    if (prefix !== this.idsPrefix) {
      this.idsPrefix = prefix;
      this.prefixLength = asciiInto(this.prefixBytes, prefix);
    }
    if (patientId !== this.idsPatient) {
      this.idsPatient = patientId;
      this.patientLength = asciiInto(this.patientBytes, patientId);
    }
  }

  /**
   * Emits one claim from its drawn values. A clean claim is validated on its values (reference,
   * amount range, date, codes) and written digit by digit; a defective one takes the fields path.
   */
  claim(
    personIndex: number,
    personId: string,
    prefix: string,
    patientId: string,
    k: number,
    day: number,
    c: ClaimDraw,
  ): void {
    const code = drawDefect(this.ctx, this.defectRng, 'claims', true);
    if (code !== undefined && code !== 'duplicate_row') {
      const fields = claimFields(prefix, patientId, k, day, c);
      this.row('claims', fields, fields[0] as string, personId, true, code);
      return;
    }
    const problem = claimValuesProblem(this.ctx, personIndex, patientId, k, day, c);
    if (problem !== undefined)
      throw new GeneratorValidationError(
        `generated clean claims row ${prefix + rowNumber(k)} fails validation: ${problem}`,
      );
    const o = this.out.claims;
    const t = o.text;
    const from = this.startIdRow(t, prefix, patientId, k);
    t.cents(c.cents);
    t.b(44);
    t.date(day);
    t.b(44);
    t.str(c.diagnosis);
    t.b(44);
    t.str(c.procedure);
    t.b(44);
    t.str(c.status);
    t.ascii(CLAIMS_SOURCE_BYTES, CLAIMS_SOURCE_BYTES.length);
    this.endIdRow(o, 'claims', from, prefix, k, personId, code);
  }

  /** Emits one event (see claim()); `referenceOk` is the person's record in `system` having events. */
  event(
    personIndex: number,
    personId: string,
    prefix: string,
    patientId: string,
    k: number,
    system: 'ADT' | 'LAB',
    referenceOk: boolean,
    e: PlannedEvent,
  ): void {
    const code = drawDefect(this.ctx, this.defectRng, 'medical_events', true);
    if (code !== undefined && code !== 'duplicate_row') {
      const fields = eventRow(prefix, patientId, k, system, e);
      this.row('medical_events', fields, fields[0] as string, personId, true, code);
      return;
    }
    const problem = eventValuesProblem(this.ctx, personIndex, referenceOk, k, system, e);
    if (problem !== undefined)
      throw new GeneratorValidationError(
        `generated clean medical_events row ${prefix + rowNumber(k)} fails validation: ${problem}`,
      );
    const o = this.out.medical_events;
    const t = o.text;
    const from = this.startIdRow(t, prefix, patientId, k);
    t.date(e.day);
    t.b(44);
    t.str(e.type);
    t.b(44);
    t.str(e.provider);
    t.ascii(system === 'ADT' ? ADT_SOURCE_BYTES : LAB_SOURCE_BYTES, 12);
    this.endIdRow(o, 'medical_events', from, prefix, k, personId, code);
  }

  /**
   * Starts a clean claim or event row in `t`: its id (`prefix` + k) and patient id, each followed by
   * a comma. Returns the row's start offset.
   */
  private startIdRow(t: ByteSink, prefix: string, patientId: string, k: number): number {
    this.setIds(prefix, patientId);
    t.reserve();
    const from = t.length;
    t.ascii(this.prefixBytes, this.prefixLength);
    t.digits(k, 3);
    t.b(44);
    t.ascii(this.patientBytes, this.patientLength);
    t.b(44);
    return from;
  }

  /** Ends a row begun by startIdRow: its truth line, and the copy to repeat for a duplicate_row defect. */
  private endIdRow(
    o: EntityChunk,
    entity: 'claims' | 'medical_events',
    from: number,
    prefix: string,
    k: number,
    personId: string,
    code: string | undefined,
  ): void {
    this.idTruthLine(o, prefix, k, personId);
    if (code === 'duplicate_row')
      this.pending.push({ entity, from, to: o.text.length, key: prefix + rowNumber(k), personId });
  }

  /** Emits a person's EHR row (drawn: whether the SSN has dashes). */
  ehrPatient(p: Person, id: string, dashedSsn: boolean): void {
    const code = drawDefect(this.ctx, this.defectRng, 'patients', false);
    if (code !== undefined && code !== 'duplicate_row') {
      this.row('patients', ehrPatientFields(p, dashedSsn), 'EHR_SYSTEM:' + id, p.personId, false, code);
      return;
    }
    const problem = ehrValuesProblem(this.ctx, p);
    if (problem !== undefined)
      throw new GeneratorValidationError(
        `generated clean patients row EHR_SYSTEM:${id} fails validation: ${problem}`,
      );
    const o = this.out.patients;
    const t = o.text;
    t.reserve();
    const from = t.length;
    this.demographics(t, id, p.mrn, p.firstName, p.lastName, p.birthDay, p.sex, p.address);
    const phone = p.phone;
    t.chars(phone, 0, 3);
    t.b(45);
    t.chars(phone, 3, 6);
    t.b(45);
    t.chars(phone, 6, 10);
    t.b(44);
    t.str(p.email);
    t.b(44);
    const ssn = p.ssn;
    if (dashedSsn) {
      t.chars(ssn, 0, 3);
      t.b(45);
      t.chars(ssn, 3, 5);
      t.b(45);
      t.chars(ssn, 5, 9);
    } else t.chars(ssn, 0, 9);
    t.b(44);
    t.str(p.insuranceId);
    t.str(',EHR_SYSTEM,');
    const tenths = Math.round(p.bmi * 10);
    t.uint(Math.floor(tenths / 10));
    t.b(46);
    t.digits(tenths % 10, 1);
    t.b(44);
    t.str(p.smoker ? 'true' : 'false');
    t.b(44);
    t.uint(p.children);
    t.b(44);
    t.cents(Math.round(p.charges * 100));
    t.b(44);
    t.str(p.plan);
    t.b(44);
    t.date(p.coverageStartDay);
    t.b(10);
    this.patientTruthLine(o, 'EHR_SYSTEM:', id, p.personId);
    if (code === 'duplicate_row')
      this.pending.push({
        entity: 'patients',
        from,
        to: t.length,
        key: 'EHR_SYSTEM:' + id,
        personId: p.personId,
      });
  }

  /** Emits an ADT or LAB copy; `registrationOnly` copies may take identity-breaking defects. */
  copyPatient(p: Person, c: CopyDraw, registrationOnly: boolean): void {
    const prefix = c.system === 'ADT' ? 'ADT_SYSTEM:' : 'LAB_SYSTEM:';
    const d = c.drift;
    if (d.casing) {
      // Casing drift of a copy is a repairable format defect: recorded as name_casing.
      const fields = copyPatientFields(c);
      fields[2] = (fields[2] as string).toUpperCase();
      fields[3] = (fields[3] as string).toUpperCase();
      this.row('patients', fields, prefix + c.id, p.personId, registrationOnly, 'name_casing');
      return;
    }
    const code = drawDefect(this.ctx, this.defectRng, 'patients', registrationOnly);
    if (code !== undefined && code !== 'duplicate_row') {
      this.row('patients', copyPatientFields(c), prefix + c.id, p.personId, registrationOnly, code);
      return;
    }
    const problem = copyValuesProblem(this.ctx, p.index, c.system, d, c.sex, p.firstName, p.lastName);
    if (problem !== undefined)
      throw new GeneratorValidationError(
        `generated clean patients row ${prefix}${c.id} fails validation: ${problem}`,
      );
    const o = this.out.patients;
    const t = o.text;
    t.reserve();
    const from = t.length;
    this.demographics(t, c.id, c.mrn, d.firstName, d.lastName, d.birthDay, c.sex, d.address);
    t.str(d.phone);
    t.b(44);
    t.str(d.email);
    t.b(44);
    t.str(d.ssn);
    t.b(44);
    t.str(c.insurance);
    t.str(c.system === 'ADT' ? ',ADT_SYSTEM,,,,,,\n' : ',LAB_SYSTEM,,,,,,\n');
    this.patientTruthLine(o, prefix, c.id, p.personId);
    if (code === 'duplicate_row')
      this.pending.push({ entity: 'patients', from, to: t.length, key: prefix + c.id, personId: p.personId });
  }

  /** patient_id … phone's comma: the first ten columns of a patient row. */
  private demographics(
    t: ByteSink,
    id: string,
    mrnValue: string,
    first: string,
    last: string,
    birthDay: number,
    sex: string,
    a: Address,
  ): void {
    t.str(id);
    t.b(44);
    t.str(mrnValue);
    t.b(44);
    t.str(first);
    t.b(44);
    t.str(last);
    t.b(44);
    t.date(birthDay);
    t.b(44);
    t.str(sex);
    t.b(44);
    t.str(a.line1);
    t.b(44);
    t.str(a.city);
    t.b(44);
    t.str(a.state);
    t.b(44);
    t.str(a.zip);
    t.b(44);
  }

  private patientTruthLine(o: EntityChunk, prefix: string, id: string, personId: string): void {
    const t = o.truth;
    t.reserve();
    t.str(prefix);
    t.str(id);
    t.b(44);
    this.personIdBytes(t, personId);
    t.b(44);
    t.b(10);
    o.rows++;
  }

  /** The truth line of a clean claim or event: `{prefix}{k:3},{personId},\n`. */
  private idTruthLine(o: EntityChunk, prefix: string, k: number, personId: string): void {
    const t = o.truth;
    t.reserve();
    if (prefix === this.idsPrefix) t.ascii(this.prefixBytes, this.prefixLength);
    else t.str(prefix);
    t.digits(k, 3);
    t.b(44);
    this.personIdBytes(t, personId);
    t.b(44);
    t.b(10);
    o.rows++;
  }

  private truthLine(o: EntityChunk, key: string, personId: string, defect: string | undefined): void {
    o.truth.write(key + ',' + personId + ',' + (defect ?? '') + '\n');
    o.rows++;
  }

  /** Ends a person: appends the queued exact copies (after the person's rows, so the original is always earlier). */
  endPerson(): void {
    if (this.pending.length === 0) return;
    for (const d of this.pending) {
      const o = this.out[d.entity];
      o.text.repeat(d.from, d.to);
      this.truthLine(o, d.key, d.personId, 'duplicate_row');
      this.defects.duplicate_row = (this.defects.duplicate_row ?? 0) + 1;
    }
    this.pending = [];
  }
}

/** Generates the rows of person indexes [spec.start, spec.end) for the batch `ctx.batch`. */
export function generateChunk(ctx: BatchContext, spec: ChunkSpec): ChunkResult {
  const rng = new Rng();
  const personRng = new Rng();
  const defectRng = new Rng();
  const current = ctx.batches[ctx.batches.length - 1];
  if (!current || current.batch !== ctx.batch)
    throw new Error('the batch context must end with the current batch');
  const w = new ChunkWriter(
    ctx,
    defectRng,
    Math.max(0, spec.end - Math.max(spec.start, current.peopleStart)),
  );
  const people = { created: 0, changed: 0, active: 0 };
  for (let index = spec.start; index < spec.end; index++) {
    if (index >= current.peopleStart) {
      newPerson(ctx, w, rng, personRng, defectRng, index);
      people.created++;
    } else {
      const changed = changedIn(ctx, index, ctx.batch);
      const active = activeIn(ctx, index, ctx.batch);
      if (!changed && !active) continue;
      defectRng.reseed(ctx.seedLo, ctx.seedHi, STREAM.defects, index, ctx.batch);
      const p = personAsOf(ctx, personRng, index, ctx.batch);
      if (changed) {
        rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.sources, index, ctx.batch);
        w.ehrPatient(p, ehrId(p.index), !rng.chance(UNDASHED_SSN_SHARE));
        people.changed++;
      }
      if (active) {
        const lo = Math.min(ctx.asOfDay, (ctx.previousAsOfDay ?? ctx.asOfDay - HISTORY_DAYS) + 1);
        claimsFor(
          ctx,
          w,
          rng,
          p,
          Math.max(lo, p.coverageStartDay),
          1 + poissonFrom(rng, ctx, p.index, ACTIVE_PERSON_EXTRA_CLAIMS),
        );
        eventsFor(ctx, w, rng, p, Math.max(lo, p.birthDay), false);
        people.active++;
      }
      w.endPerson();
    }
  }
  return { start: spec.start, end: spec.end, out: w.out, defects: w.defects, people };
}

function poissonFrom(rng: Rng, ctx: BatchContext, index: number, lambda: number): number {
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.claims, index, ctx.batch);
  return rng.poisson(lambda);
}

function newPerson(
  ctx: BatchContext,
  w: ChunkWriter,
  rng: Rng,
  personRng: Rng,
  defectRng: Rng,
  index: number,
): void {
  const p = personAsOf(ctx, personRng, index, ctx.batch);
  const flags = sourceFlags(ctx, index);
  defectRng.reseed(ctx.seedLo, ctx.seedHi, STREAM.defects, index, ctx.batch);
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.sources, index, ctx.batch);
  w.ehrPatient(p, ehrId(index), !rng.chance(UNDASHED_SSN_SHARE));
  if (flags.adt) w.copyPatient(p, drawCopy(p, rng, 'ADT'), !flags.adtActive);
  if (flags.lab) w.copyPatient(p, drawCopy(p, rng, 'LAB'), !flags.labActive);
  const lo = ctx.asOfDay - HISTORY_DAYS;
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.claims, index, ctx.batch);
  claimsFor(ctx, w, rng, p, Math.max(lo, p.coverageStartDay), 1 + rng.poisson(NEW_PERSON_EXTRA_CLAIMS));
  eventsFor(ctx, w, rng, p, Math.max(lo, p.birthDay), true);
  w.endPerson();
}

function claimsFor(ctx: BatchContext, w: ChunkWriter, rng: Rng, p: Person, lo: number, count: number): void {
  const span = ctx.asOfDay - lo;
  const prefix = claimIdPrefix(ctx.batch, p.index);
  const patientId = ehrId(p.index);
  for (let k = 1; k <= count; k++) {
    const day = lo + Math.floor(rng.next() * (span + 1));
    w.claim(p.index, p.personId, prefix, patientId, k, day, drawClaim(rng));
  }
}

function eventsFor(ctx: BatchContext, w: ChunkWriter, rng: Rng, p: Person, lo: number, isNew: boolean): void {
  const flags = sourceFlags(ctx, p.index);
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.events, p.index, ctx.batch);
  const prefix = eventIdPrefix(ctx.batch, p.index);
  let k = 0;
  if (flags.adtActive) {
    const stays = isNew ? stayCount(rng) : rng.chance(0.1) ? 1 : 0;
    const others = isNew ? 1 + rng.poisson(4) : 1 + rng.poisson(1);
    k = emitEvents(ctx, w, p, prefix, k, 'ADT', planAdtEvents(rng, lo, ctx.asOfDay, stays, others));
  }
  if (flags.labActive) {
    const count = isNew ? 1 + rng.poisson(4.4) : 1 + rng.poisson(1);
    emitEvents(ctx, w, p, prefix, k, 'LAB', planLabEvents(rng, lo, ctx.asOfDay, count));
  }
}

function emitEvents(
  ctx: BatchContext,
  w: ChunkWriter,
  p: Person,
  prefix: string,
  k: number,
  system: 'ADT' | 'LAB',
  events: readonly PlannedEvent[],
): number {
  const patientId = system === 'ADT' ? adtId(p.index) : labId(p.index);
  // Referential integrity, once per person and system: the record exists and has events.
  const referenceOk = hasActiveRecord(ctx, p.index, system);
  for (const e of events) w.event(p.index, p.personId, prefix, patientId, ++k, system, referenceOk, e);
  return k;
}

/** Writes an ASCII string of at most 64 characters into `into`; returns its length. */
function asciiInto(into: Uint8Array, text: string): number {
  if (text.length > into.length) throw new Error(`id "${text}" is too long`);
  for (let i = 0; i < text.length; i++) into[i] = text.charCodeAt(i);
  return text.length;
}

/** ASCII bytes as a plain Uint8Array (not a Buffer), so ByteSink.ascii() only ever sees one array type. */
function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  asciiInto(bytes, text);
  return bytes;
}

const ADT_SOURCE_BYTES = asciiBytes(',ADT_SYSTEM\n');
const LAB_SOURCE_BYTES = asciiBytes(',LAB_SYSTEM\n');
const CLAIMS_SOURCE_BYTES = asciiBytes(`,${CLAIMS_SOURCE_SYSTEM}\n`);
