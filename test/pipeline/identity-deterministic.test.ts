/**
 * Deterministic identity resolution across runs: a record keeps its patient, a new record joins an
 * existing patient on the SSN HMAC or on name + birth date, different people stay apart, ids are stable.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  T0,
  adtPatientRow,
  csvText,
  hoursAfter,
  makeLakehouse,
  patientRow,
  query,
  run,
  writeLandingFile,
} from './fixtures.ts';

const lake = makeLakehouse('carelake-identity-');
after(() => lake.cleanup());

type Link = {
  source_system: string;
  source_patient_id: string;
  patient_id: string;
  match_rule: string;
  confidence_score: number;
};
const links = async (): Promise<Map<string, Link>> =>
  new Map(
    (await query<Link>(lake.db, 'SELECT * FROM silver_resolved_identity_resolution')).map((l) => [
      `${l.source_system}:${l.source_patient_id}`,
      l,
    ]),
  );

test('new records join existing patients by SSN HMAC or name + birth date; others stay apart', async () => {
  writeLandingFile(lake.landing, 'patients', T0, csvText('patients', [patientRow(1), patientRow(2)]));
  assert.equal((await run(lake)).status, 'COMPLETED');
  const first = await links();
  const p1 = first.get('EHR_SYSTEM:E00000001')?.patient_id;
  const p2 = first.get('EHR_SYSTEM:E00000002')?.patient_id;
  assert.ok(p1 && p2 && p1 !== p2);

  writeLandingFile(
    lake.landing,
    'patients',
    hoursAfter(T0, 24),
    csvText('patients', [
      // Same SSN, another system and id, nickname-free but a moved address: joins on the SSN HMAC.
      adtPatientRow(1, { address_line1: '9 Elm St' }),
      // No SSN, same name and birth date: joins on name + date of birth.
      { ...adtPatientRow(2, { ssn: '' }), patient_id: 'L00000002', source_system: 'LAB_SYSTEM' },
      // Same name as patient 2, another birth date and SSN (a Jr./Sr. pair): a new patient.
      { ...adtPatientRow(2, { ssn: '', date_of_birth: '1931-01-01' }), patient_id: 'A00000099' },
      // The EHR record again with a changed plan: keeps its patient.
      patientRow(1, { insurance_plan: 'HDHP' }),
    ]),
  );
  assert.equal((await run(lake)).status, 'COMPLETED');
  const second = await links();
  assert.equal(second.get('EHR_SYSTEM:E00000001')?.patient_id, p1, 'ids are stable across runs');
  assert.equal(second.get('ADT_SYSTEM:A00000001')?.patient_id, p1);
  assert.match(second.get('ADT_SYSTEM:A00000001')?.match_rule ?? '', /ssn_hash/);
  assert.equal(second.get('LAB_SYSTEM:L00000002')?.patient_id, p2);
  assert.match(second.get('LAB_SYSTEM:L00000002')?.match_rule ?? '', /name_dob/);
  const junior = second.get('ADT_SYSTEM:A00000099')?.patient_id;
  assert.ok(junior && junior !== p1 && junior !== p2);
  assert.equal(second.size, 5, 'one row per source record');

  const dim = await query<{ patient_id: string; insurance_plan: string; is_current: boolean }>(
    lake.db,
    `SELECT patient_id, insurance_plan, is_current FROM gold_patients WHERE patient_id = '${p1}' ORDER BY effective_from`,
  );
  assert.deepEqual(
    dim.map((r) => [r.insurance_plan, r.is_current]),
    [
      [patientRow(1).insurance_plan, false],
      ['HDHP', true],
    ],
  );
});
