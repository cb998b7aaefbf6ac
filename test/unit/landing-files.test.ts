import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLandingFileName, parseLandingFileName } from '../../src/definitions/landing-files.ts';

test('landing file names round-trip, with the collision suffix', () => {
  const at = new Date(Date.UTC(2026, 0, 5, 7, 9));
  assert.equal(formatLandingFileName('claims', at), 'claims_260105_0709.csv');
  assert.equal(formatLandingFileName('medical_events', at, 3), 'medical_events_260105_0709_3.csv');
  const parsed = parseLandingFileName('medical_events_260105_0709_3.csv');
  assert.equal(parsed?.entity, 'medical_events');
  assert.equal(parsed?.sequence, 3);
  assert.equal(parsed?.extractedAt.toISOString(), '2026-01-05T07:09:00.000Z');
  assert.equal(parseLandingFileName('patients_260105_0709.csv')?.sequence, 1);
});

test('names that are not landing files do not parse', () => {
  for (const name of [
    'patients.csv',
    'doctors_260105_0709.csv',
    'patients_261305_0709.csv',
    'patients_260230_0709.csv',
    'patients_260105_2460.csv',
    'patients_260105_0709_1.csv',
    'patients_260105_0709.CSV',
    'patients_260105_0709.csv.tmp',
  ]) {
    assert.equal(parseLandingFileName(name), undefined, name);
  }
});
