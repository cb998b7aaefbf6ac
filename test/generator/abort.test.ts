import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as api from '../../src/generator/index.ts';
import { generateChunk } from '../../src/generator/chunk.ts';
import { makeContext } from '../../src/generator/context.ts';
import { AS_OF, tempDir } from './helpers.ts';

test('the public API is importable without side effects', () => {
  assert.equal(typeof api.generate, 'function');
  assert.equal(typeof api.readGroundTruth, 'function');
  assert.equal(api.GENERATOR_VERSION, '1.0.0');
  assert.equal(api.MANIFEST_FILE, 'manifest.json');
});

test('a generated row that fails validation aborts with GeneratorValidationError', () => {
  const day = Math.floor(AS_OF.getTime() / 86_400_000);
  // An inconsistent context (an extract day 60 years before the people's creation): the rows carry
  // dates after the extract, which the per-chunk validation must catch before anything is written.
  const ctx = makeContext({
    seed: 1,
    batch: 1,
    asOfMs: AS_OF.getTime(),
    asOfDay: day - 22_000,
    previousAsOfDay: undefined,
    defectRate: 0,
    adtShare: 0.6,
    labShare: 0.55,
    changeShare: 0,
    activityShare: 0,
    batches: [{ batch: 1, asOfDay: day, peopleStart: 0, peopleEnd: 5, changeShare: 0, activityShare: 0 }],
  });
  assert.throws(() => generateChunk(ctx, { start: 0, end: 5 }), api.GeneratorValidationError);
  assert.throws(
    () => generateChunk({ ...ctx, batch: 2 }, { start: 0, end: 1 }),
    /must end with the current batch/,
  );
});

test('a failing run leaves no partial files and no manifest behind', async (t) => {
  const dir = tempDir(t);
  const outDir = path.join(dir, 'landing');
  const truthDir = path.join(dir, 'truth');
  let updates = 0;
  const failing = {
    start() {},
    update() {
      if (++updates === 2) throw new Error('disk full (simulated)');
    },
    stop() {},
  };
  await assert.rejects(
    api.generate({
      patients: 3_000,
      chunkSize: 1_000,
      seed: 1,
      asOf: AS_OF,
      outDir,
      truthDir,
      progress: failing,
    }),
    /disk full/,
  );
  assert.deepEqual(readdirSync(outDir), []);
  assert.deepEqual(readdirSync(truthDir), []);
  assert.ok(!existsSync(path.join(truthDir, 'manifest.json')));
});

test('readGroundTruth needs a manifest; a foreign manifest is refused', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(async () => {
    for await (const _ of api.readGroundTruth(dir)) void _;
  }, /manifest.json is missing/);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path.join(dir, 'manifest.json'), '{"format":"other"}');
  assert.throws(() => api.readManifest(dir), /not a carelake ground-truth manifest/);
});

test('clean-row checks: the write level guards CSV safety, the strict level every format', () => {
  const day = Math.floor(AS_OF.getTime() / 86_400_000);
  const ctx = makeContext({
    seed: 1,
    batch: 1,
    asOfMs: AS_OF.getTime(),
    asOfDay: day,
    previousAsOfDay: undefined,
    defectRate: 0,
    adtShare: 0.6,
    labShare: 0.55,
    changeShare: 0,
    activityShare: 0,
    batches: [{ batch: 1, asOfDay: day, peopleStart: 0, peopleEnd: 5, changeShare: 0, activityShare: 0 }],
  });
  const text = Buffer.from(generateChunk(ctx, { start: 0, end: 1 }).out.patients.text.bytes()).toString(
    'latin1',
  );
  const ehr = api.parseCsvLine(text.split('\n')[0] as string);
  assert.equal(api.cleanRowProblem(ctx, 'patients', ehr), undefined);
  assert.equal(api.cleanRowProblem(ctx, 'patients', ehr, 'write'), undefined);
  const comma = [...ehr];
  comma[6] = '12 Main St, Apt 4';
  assert.match(api.cleanRowProblem(ctx, 'patients', comma, 'write') ?? '', /comma, quote or line break/);
  assert.match(api.cleanRowProblem(ctx, 'patients', comma) ?? '', /address_line1/);
  const phone = [...ehr];
  phone[10] = '555-CALL-NOW';
  assert.equal(api.cleanRowProblem(ctx, 'patients', phone, 'write'), undefined);
  assert.match(api.cleanRowProblem(ctx, 'patients', phone) ?? '', /bad phone/);
  const test = [...ehr];
  test[3] = 'Testman';
  assert.match(api.cleanRowProblem(ctx, 'patients', test, 'write') ?? '', /last_name/);
  const bmi = [...ehr];
  bmi[15] = '61.0';
  assert.match(api.cleanRowProblem(ctx, 'patients', bmi, 'write') ?? '', /bmi/);
  assert.match(
    api.cleanRowProblem(ctx, 'claims', [
      'CLM1',
      'E1',
      '1.00',
      '2026-01-01',
      'I10',
      '99213',
      'paid',
      'CLAIMS_SYSTEM',
    ]) ?? '',
    /claim_id/,
  );
  assert.match(
    api.cleanRowProblem(ctx, 'medical_events', [
      'EV00000000000001',
      'ADT1',
      '2026-01-01',
      'admission',
      'X',
      'HIS',
    ]) ?? '',
    /source_system/,
  );
});
