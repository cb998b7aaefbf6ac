import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { generate } from '../../src/generator/generate.ts';
import { deleteOldLandingFiles, parseDuration } from '../../src/generator/housekeeping.ts';
import { tempDir } from './helpers.ts';

test('parseDuration reads s/m/h/d/w and rejects anything else', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('12h'), 43_200_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  for (const bad of ['', '7', 'd', '-1d', '1.5h', '0m', '3y'])
    assert.equal(parseDuration(bad), undefined, bad);
});

test('keep-last and max-age delete only old landing files, never other files', (t) => {
  const dir = tempDir(t);
  const names = [
    'patients_261118_1200.csv',
    'patients_261119_1200.csv',
    'patients_261120_1200.csv',
    'patients_261120_1200_2.csv',
    'claims_261101_0000.csv',
    'claims_261120_1200.csv',
    'notes.txt',
    'patients_261340_1200.csv', // not a date: not a landing file
    'patients_backup.csv',
  ];
  for (const n of names) writeFileSync(path.join(dir, n), 'x\n');
  const now = new Date('2026-11-20T12:30:00Z');
  assert.deepEqual(deleteOldLandingFiles(dir, { now }), [], 'nothing without a rule');
  const deleted = deleteOldLandingFiles(dir, { keepLast: 2, now });
  assert.deepEqual(deleted, ['patients_261118_1200.csv', 'patients_261119_1200.csv']);
  const aged = deleteOldLandingFiles(dir, { maxAgeMs: parseDuration('7d') as number, now });
  assert.deepEqual(aged, ['claims_261101_0000.csv']);
  assert.deepEqual(readdirSync(dir).sort(), [
    'claims_261120_1200.csv',
    'notes.txt',
    'patients_261120_1200.csv',
    'patients_261120_1200_2.csv',
    'patients_261340_1200.csv',
    'patients_backup.csv',
  ]);
});

test('generate applies --keep-last after writing a batch', async (t) => {
  const dir = tempDir(t);
  const outDir = path.join(dir, 'landing');
  const truthDir = path.join(dir, 'truth');
  mkdirSync(outDir);
  await generate({ patients: 30, seed: 1, asOf: new Date('2026-11-20T12:00:00Z'), outDir, truthDir });
  await generate({
    patients: 10,
    asOf: new Date('2026-11-20T12:15:00Z'),
    outDir,
    truthDir,
    incremental: true,
  });
  const s = await generate({
    patients: 10,
    asOf: new Date('2026-11-20T12:30:00Z'),
    outDir,
    truthDir,
    incremental: true,
    keepLast: 1,
  });
  assert.equal(s.deletedFiles.length, 6);
  assert.deepEqual(readdirSync(outDir).sort(), [
    'claims_261120_1230.csv',
    'medical_events_261120_1230.csv',
    'patients_261120_1230.csv',
  ]);
  const m = await generate({
    patients: 10,
    asOf: new Date('2026-11-21T12:30:00Z'),
    outDir,
    truthDir,
    incremental: true,
    maxAgeMs: 3_600_000,
  });
  assert.deepEqual([...m.deletedFiles].sort(), [
    'claims_261120_1230.csv',
    'medical_events_261120_1230.csv',
    'patients_261120_1230.csv',
  ]);
});
