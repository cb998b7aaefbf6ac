import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { DEFECT_KINDS } from '../../src/definitions/defect-catalog.ts';
import { CLAIM_STATUSES, LANDING_COLUMNS, type Entity } from '../../src/definitions/entities.ts';
import { cleanRowProblem } from '../../src/generator/clean-format.ts';
import { makeContext } from '../../src/generator/context.ts';
import { parseIsoDate } from '../../src/generator/dates.ts';
import { generate, type GenerateSummary } from '../../src/generator/generate.ts';
import { readManifest } from '../../src/generator/manifest.ts';
import { referenceData } from '../../src/generator/reference-data.ts';
import { AS_OF, joinBatch, type JoinedRow } from './helpers.ts';

const PEOPLE = 8_000;
const RATE = 0.05;
let summary: GenerateSummary;
let rows: Record<Entity, JoinedRow[]>;
const asOfDay = Math.floor(AS_OF.getTime() / 86_400_000);
const icd = referenceData().icdSet;

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'carelake-defects-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  summary = await generate({
    patients: PEOPLE,
    seed: 99,
    asOf: AS_OF,
    outDir: path.join(dir, 'landing'),
    truthDir: path.join(dir, 'truth'),
    defectRate: RATE,
  });
  rows = await joinBatch(summary);
});

function isIsoDate(s: string): boolean {
  return parseIsoDate(s) !== undefined;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** A date in ISO or one of the alternative formats of date_format, as a day number; undefined if not a real date. */
function parseAnyDate(s: string): number | undefined {
  let m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
  if (m) return parseIsoDate(`${m[3]}-${m[1]}-${m[2]}`);
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) return parseIsoDate(`${m[1]}-${m[2]}-${m[3]}`);
  m = /^(\d{2})-([A-Z]{3})-(\d{4})$/.exec(s);
  if (m)
    return parseIsoDate(`${m[3]}-${String(MONTHS.indexOf(m[2] as string) + 1).padStart(2, '0')}-${m[1]}`);
  m = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}Z$/.exec(s);
  if (m) return parseIsoDate(m[1] as string);
  return parseIsoDate(s);
}

const ALT_DATE =
  /^(\d{2}\/\d{2}\/\d{4}|\d{8}|\d{2}-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)-\d{4}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/;

/** Checks, on the row as read from the file, that it carries the defect it is recorded with. */
function hasSignature(
  code: string,
  r: JoinedRow,
  earlier: ReadonlySet<string>,
  knownIds: ReadonlySet<string>,
): boolean {
  const f = r.fields;
  const expected = LANDING_COLUMNS[r.entity].length;
  if (code === 'malformed_line') return f.length !== expected;
  if (f.length !== expected) return false;
  if (code === 'duplicate_row') return earlier.has(r.text);
  const normIcd = (s: string): string => {
    const t = s.trim().toUpperCase().replace('.', '');
    return t.length > 3 ? `${t.slice(0, 3)}.${t.slice(3)}` : t;
  };
  switch (`${r.entity}:${code}`) {
    case 'patients:date_format':
      return [f[4], f[20]].some(
        (d) => ALT_DATE.test(d as string) && (parseAnyDate(d as string) ?? Infinity) <= asOfDay,
      );
    case 'claims:date_format':
      return ALT_DATE.test(f[3] as string) && (parseAnyDate(f[3] as string) ?? Infinity) <= asOfDay;
    case 'medical_events:date_format':
      return ALT_DATE.test(f[2] as string) && (parseAnyDate(f[2] as string) ?? Infinity) <= asOfDay;
    case 'patients:gender_encoding':
      return ['male', 'MALE', 'Male', '1', 'female', 'FEMALE', 'Female', '2'].includes(f[5] as string);
    case 'patients:name_casing':
      return [f[2], f[3]].some(
        (n) =>
          n !== (n as string).trim() ||
          (n as string) === (n as string).toUpperCase() ||
          n === (n as string).toLowerCase(),
      );
    case 'patients:test_patient':
      return /TEST/i.test(`${f[2]} ${f[3]}`);
    case 'patients:invalid_birth_date': {
      const d = parseAnyDate(f[4] as string);
      return d === undefined || d > asOfDay;
    }
    case 'claims:icd_unnormalised':
      return f[4] !== normIcd(f[4] as string) && icd.has(normIcd(f[4] as string));
    case 'claims:status_vocab':
      return (
        !(CLAIM_STATUSES as readonly string[]).includes(f[6] as string) &&
        (CLAIM_STATUSES as readonly string[]).includes((f[6] as string).trim().toLowerCase())
      );
    case 'claims:amount_format':
      return /^\$[\d,]+\.\d{2}$/.test(f[2] as string) && Number((f[2] as string).replace(/[$,]/g, '')) > 0;
    case 'claims:invalid_diagnosis_code':
      return !icd.has(normIcd(f[4] as string));
    case 'claims:invalid_procedure_code':
      return !/^(\d{4}[0-9FTU]|[ABCEGHJKLMPQRSTUV]\d{4})$/.test(f[5] as string);
    case 'claims:bad_amount': {
      const a = Number(f[2]);
      return !/^-?\d+(\.\d+)?$/.test(f[2] as string) || a === 0 || a >= 1_000_000;
    }
    case 'claims:negative_amount':
      return Number(f[2]) < 0;
    case 'claims:future_date':
      return (parseIsoDate(f[3] as string) ?? 0) > asOfDay;
    case 'medical_events:future_date':
      return (parseIsoDate(f[2] as string) ?? 0) > asOfDay;
    case 'claims:orphan_reference':
    case 'medical_events:orphan_reference':
      return !knownIds.has(f[1] as string);
    default:
      return false;
  }
}

test('every recorded defect is present in its row, and every kind of the catalogue occurs', () => {
  const knownIds = new Set(rows.patients.map((r) => r.fields[0] as string));
  const seen = new Set<string>();
  for (const entity of ['patients', 'claims', 'medical_events'] as const) {
    const earlier = new Set<string>();
    for (const r of rows[entity]) {
      assert.ok(r.truth.defects.length <= 1, `at most one defect per row (${r.fileName}:${r.line})`);
      for (const code of r.truth.defects) {
        seen.add(code);
        assert.ok(
          DEFECT_KINDS.find((k) => k.code === code)?.entities.includes(entity as never),
          `${code} is valid for ${entity}`,
        );
        assert.ok(
          hasSignature(code, r, earlier, knownIds),
          `${r.fileName}:${r.line} recorded ${code} but reads ${r.text}`,
        );
      }
      earlier.add(r.text);
    }
  }
  assert.deepEqual([...seen].sort(), DEFECT_KINDS.map((k) => k.code).sort());
});

test('no unrecorded defect: clean rows pass the strict clean-format checks and refer to generated records', () => {
  const ctx = makeContext({
    seed: 99,
    batch: 1,
    asOfMs: AS_OF.getTime(),
    asOfDay,
    previousAsOfDay: undefined,
    defectRate: RATE,
    adtShare: 0.6,
    labShare: 0.55,
    changeShare: 0.03,
    activityShare: 0.08,
    batches: [{ batch: 1, asOfDay, peopleStart: 0, peopleEnd: PEOPLE, changeShare: 0, activityShare: 0 }],
  });
  // Records that survive: clean, or with a defect the pipeline repairs (or a duplicate of a clean row).
  const surviving = new Set(['date_format', 'gender_encoding', 'name_casing', 'duplicate_row']);
  const cleanPatientIds = new Set(
    rows.patients
      .filter((r) => r.truth.defects.every((d) => surviving.has(d)))
      .map((r) => r.fields[0] as string),
  );
  for (const entity of ['patients', 'claims', 'medical_events'] as const) {
    const clean = rows[entity].filter((r) => r.truth.defects.length === 0);
    assert.ok(clean.length > 0.9 * rows[entity].length);
    for (const r of clean) {
      assert.equal(cleanRowProblem(ctx, entity, r.fields), undefined, `${r.fileName}:${r.line}`);
      assert.ok(!/TEST/i.test(r.text.split(',').slice(2, 4).join(',')) || entity !== 'patients');
      if (entity !== 'patients')
        assert.ok(
          cleanPatientIds.has(r.fields[1] as string),
          `${r.fileName}:${r.line} refers to a surviving patient record`,
        );
      if (entity !== 'patients') assert.ok(isIsoDate(r.fields[entity === 'claims' ? 3 : 2] as string));
    }
  }
});

test('identity-breaking patient defects only hit ADT/LAB records that no event refers to', () => {
  const referenced = new Set(rows.medical_events.map((r) => r.fields[1] as string));
  for (const r of rows.patients) {
    const code = r.truth.defects[0];
    if (code === 'test_patient' || code === 'invalid_birth_date' || code === 'malformed_line') {
      assert.notEqual(r.truth.recordKey.split(':')[0], 'EHR_SYSTEM');
      assert.ok(!referenced.has(r.truth.recordKey.split(':')[1] as string));
    }
  }
});

test('the defect share is the configured rate, counts in the manifest match the truth', () => {
  const counts: Record<string, number> = {};
  let total = 0;
  for (const entity of ['patients', 'claims', 'medical_events'] as const) {
    for (const r of rows[entity]) {
      total++;
      for (const c of r.truth.defects) counts[c] = (counts[c] ?? 0) + 1;
    }
  }
  assert.deepEqual(counts, summary.defects);
  assert.deepEqual(readManifest(summary.truthDir)?.defects, summary.defects);
  const injected = Object.entries(counts).reduce((n, [k, v]) => n + (k === 'name_casing' ? 0 : v), 0);
  assert.ok(Math.abs(injected / total - RATE) < 0.008, `defect share ${injected / total}`);
});
