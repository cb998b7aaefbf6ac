/**
 * An SSN delivered in another column (a member id that is the SSN, the SSN swapped into the phone or
 * e-mail field, a claim keyed by the SSN) is redacted by the read itself: stored as [REDACTED] in
 * bronze and everything built from it, the row kept and counted by the warn expectation
 * ssn_outside_ssn_column. Values that only look alike stay: nine-digit member ids and MRNs that are
 * not the row's SSN, ZIP+4 codes, phone numbers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  T0,
  textValues,
  claimRow,
  eventRow,
  csvText,
  makeLakehouse,
  patientRow,
  query,
  run,
  withDb,
  writeLandingFile,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

/** Every text value of every table of the lakehouse, one per line. */
const everyTextValue = (dbPath: string): Promise<string> =>
  withDb(dbPath, async (db) => (await textValues(db)).map((v) => v.text).join('\n'));

test('an SSN in another column is stored as [REDACTED], counted, and the row kept', async () => {
  const lake = makeLakehouse('carelake-ssn-elsewhere-');
  lakes.push(lake);
  const patients = [
    patientRow(1, { ssn: '931-65-4401', insurance_id: 'MS931654401' }), // member id = own SSN
    patientRow(2, { ssn: '931-65-4402', mrn: '931654402' }), // MRN = own SSN digits
    patientRow(3, { ssn: '', email: '931-65-4403' }), // printed form, no SSN in its field
    patientRow(4, { ssn: '931-65-4404', phone: ' 931-65-4404 ' }), // swapped with the phone
    patientRow(5, { ssn: '931-65-4405', insurance_id: '123456789', mrn: '931654499' }), // look-alikes
    patientRow(6, { ssn: '931-65-4406', zip_code: '73301-4406', phone: '931-654-4406' }), // ZIP+4, phone
  ];
  writeLandingFile(lake.landing, 'patients', T0, csvText('patients', patients));
  writeLandingFile(
    lake.landing,
    'claims',
    T0,
    csvText('claims', [claimRow(1, 1), claimRow(2, 2, { patient_id: '931-65-4407' })]),
  );
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);

  const bronze = await query<Record<string, string | null>>(
    lake.db,
    `SELECT patient_id, mrn, insurance_id, email, phone, zip_code FROM bronze_patients ORDER BY _line_number`,
  );
  assert.equal(bronze.length, 6, 'every row kept (warn)');
  assert.equal(bronze[0]?.['insurance_id'], '[REDACTED]');
  assert.equal(bronze[1]?.['mrn'], '[REDACTED]');
  assert.equal(bronze[2]?.['email'], '[REDACTED]');
  assert.equal(bronze[3]?.['phone'], '[REDACTED]');
  assert.deepEqual(
    [bronze[4]?.['insurance_id'], bronze[4]?.['mrn'], bronze[5]?.['zip_code'], bronze[5]?.['phone']],
    ['123456789', '931654499', '73301-4406', '931-654-4406'],
    'look-alikes are left as delivered',
  );
  const claim = await query<{ patient_id: string }>(
    lake.db,
    `SELECT patient_id FROM bronze_claims WHERE claim_id = 'C00000002'`,
  );
  assert.deepEqual(claim, [{ patient_id: '[REDACTED]' }]);

  // Counted by the expectation, in the run's flows and in the event log (Lakeflow's shape).
  const flow = r.flows.find((f) => f.dataset === 'bronze_patients');
  const exp = flow?.expectations.find((e) => e.name === 'ssn_outside_ssn_column');
  assert.deepEqual([exp?.failed_records, exp?.passed_records], [4, 2]);
  const logged = await query<{ dataset: string; failed: string }>(
    lake.db,
    `SELECT e->>'dataset' AS dataset, e->>'failed_records' AS failed
     FROM (SELECT UNNEST(CAST(details->'flow_progress'->'data_quality'->'expectations' AS JSON[])) AS e
           FROM event_log WHERE event_type = 'flow_progress')
     WHERE e->>'name' = 'ssn_outside_ssn_column' AND CAST(e->>'failed_records' AS INTEGER) > 0
     ORDER BY dataset`,
  );
  assert.deepEqual(logged, [
    { dataset: 'bronze_claims', failed: '1' },
    { dataset: 'bronze_patients', failed: '4' },
  ]);

  // Nowhere in the lakehouse: no value of any table holds these SSNs in any form.
  const all = await everyTextValue(lake.db);
  assert.match(all, /931654499/, 'the scan sees the values (positive control: 931654499 stays)');
  for (const n of ['4401', '4402', '4403', '4404', '4407'])
    assert.doesNotMatch(all, new RegExp(`931[- ]?65[- ]?${n}`), `SSN ending ${n}`);
});

test('a redacted value is no value: an SSN as id is dropped, and redacted ids never link two records', async () => {
  const lake = makeLakehouse('carelake-ssn-elsewhere-ids-');
  lakes.push(lake);
  const patients = [
    patientRow(1, { patient_id: '931-65-4501' }), // the SSN as patient id: unusable, dropped
    patientRow(2, { patient_id: '931-65-4502' }),
    // Two different people whose member ids are their own SSNs: both read as [REDACTED].
    patientRow(3, { ssn: '931-65-4503', insurance_id: '931654503' }),
    patientRow(4, { ssn: '931-65-4504', insurance_id: '931654504' }),
  ];
  writeLandingFile(lake.landing, 'patients', T0, csvText('patients', patients));
  writeLandingFile(
    lake.landing,
    'claims',
    T0,
    csvText('claims', [
      claimRow(1, 3, { claim_id: '931-65-4505' }),
      claimRow(2, 4, { claim_id: '931-65-4506' }),
      claimRow(3, 3),
    ]),
  );
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);
  const quarantined = await query<{ dataset: string; rules: string }>(
    lake.db,
    `SELECT dataset, CAST(rules AS VARCHAR) AS rules FROM quarantine ORDER BY dataset, line_number`,
  );
  assert.deepEqual(quarantined, [
    { dataset: 'bronze_claims', rules: '[valid_claim_id]' },
    { dataset: 'bronze_claims', rules: '[valid_claim_id]' },
    { dataset: 'bronze_patients', rules: '[valid_patient_id]' },
    { dataset: 'bronze_patients', rules: '[valid_patient_id]' },
  ]);
  // The two people stay two patients, and the withheld member ids are no value (not a shared one).
  const sources = await query<{ patient_id: string; mid: string | null }>(
    lake.db,
    `SELECT patient_id, insurance_id_norm AS mid FROM silver_patient_sources ORDER BY source_patient_id`,
  );
  assert.equal(sources.length, 2);
  assert.deepEqual(
    sources.map((s) => s.mid),
    [null, null],
  );
  assert.notEqual(sources[0]?.patient_id, sources[1]?.patient_id);
  const claims = await query<{ n: string }>(lake.db, 'SELECT COUNT(*) AS n FROM gold_claims');
  assert.equal(Number(claims[0]?.n), 1);
});

test('an SSN inside a longer value withholds the whole value, even glued to other digits; look-alikes stay', async () => {
  const lake = makeLakehouse('carelake-ssn-within-');
  lakes.push(lake);
  const patients = [
    patientRow(1, { address_line1: '931-65-4601 Elm St' }), // printed form inside free text
    patientRow(2, { ssn: '931-65-4602', email: 'jsmith931654602@mail.com' }), // own nine digits in an e-mail
    patientRow(3, { ssn: '931-65-4603', patient_id: 'E931654603' }), // own SSN inside the patient id
    patientRow(4, { ssn: '931-65-4604', address_line1: '931-654-604 Elm St', email: 'x931654699@mail.com' }),
    // the printed form glued to the digits before it (a delimiter lost between two values)
    patientRow(5, { ssn: '931-65-4606', address_line1: '12 Elm St 0931-65-4606' }),
  ];
  writeLandingFile(lake.landing, 'patients', T0, csvText('patients', patients));
  writeLandingFile(
    lake.landing,
    'medical_events',
    T0,
    csvText('medical_events', [
      eventRow(1, 1, { medical_provider: 'Dr. Lee (SSN 931-65-4605)' }),
      eventRow(2, 1, { medical_provider: 'Dr. Lee-Smith 20-1' }),
    ]),
  );
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);

  const bronze = await query<{ patient_id: string; address_line1: string; email: string }>(
    lake.db,
    `SELECT patient_id, address_line1, email FROM bronze_patients ORDER BY _line_number`,
  );
  assert.deepEqual(
    bronze.map((b) => [b.patient_id, b.address_line1, b.email]),
    [
      ['E00000001', '[REDACTED]', patients[0]?.['email']],
      ['E00000002', patients[1]?.['address_line1'], '[REDACTED]'],
      ['E00000004', '931-654-604 Elm St', 'x931654699@mail.com'],
      ['E00000005', '[REDACTED]', patients[4]?.['email']],
    ],
  );
  const providers = await query<{ medical_provider: string }>(
    lake.db,
    `SELECT medical_provider FROM bronze_medical_events ORDER BY _line_number`,
  );
  assert.deepEqual(
    providers.map((p) => p.medical_provider),
    ['[REDACTED]', 'Dr. Lee-Smith 20-1'],
  );
  // The id that held an SSN is dropped (no patient keyed by it), the others are kept and counted (the
  // events' patient is not delivered: they are orphans in silver).
  const quarantined = await query<{ dataset: string; rules: string }>(
    lake.db,
    `SELECT dataset, CAST(rules AS VARCHAR) AS rules FROM quarantine WHERE dataset LIKE 'bronze%'
     ORDER BY dataset, line_number`,
  );
  assert.deepEqual(quarantined, [{ dataset: 'bronze_patients', rules: '[valid_patient_id]' }]);
  const record = await query<{ id: string }>(
    lake.db,
    `SELECT record->>'patient_id' AS id FROM quarantine WHERE dataset = 'bronze_patients'`,
  );
  assert.deepEqual(record, [{ id: '[REDACTED]' }]);
  const failed = (dataset: string): number | undefined =>
    r.flows.find((f) => f.dataset === dataset)?.expectations.find((e) => e.name === 'ssn_outside_ssn_column')
      ?.failed_records;
  assert.deepEqual([failed('bronze_patients'), failed('bronze_medical_events')], [4, 1]);
  // A withheld value reads as no value in silver, not as the text '[REDACTED]'.
  const silver = await query<{ id: string; addr: string | null; email: string | null }>(
    lake.db,
    `SELECT source_patient_id AS id, address_norm AS addr, email_norm AS email
     FROM silver_patient_sources ORDER BY source_patient_id`,
  );
  assert.deepEqual(
    silver.map((s) => [s.id, s.addr, s.email]),
    [
      ['E00000001', null, 'p1@example.com'],
      ['E00000002', '2 main st', null],
      ['E00000004', '931-654-604 elm st', 'x931654699@mail.com'],
      ['E00000005', null, 'p5@example.com'],
    ],
  );

  const all = await everyTextValue(lake.db);
  assert.match(all, /931654699/, 'the scan sees the values (positive control)');
  for (const n of ['4601', '4602', '4603', '4605', '4606'])
    assert.doesNotMatch(all, new RegExp(`931[- ]?65[- ]?${n}`), `SSN ending ${n}`);
});
