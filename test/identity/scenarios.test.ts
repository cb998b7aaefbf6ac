/**
 * Identity resolution through the real pipeline on small landing files: twins and Jr./Sr. stay apart,
 * nickname + move + missing SSN links, an SSN-only disagreement still links, ids are stable across
 * incremental batches, a merge keeps the retired id resolvable, review decisions persist, and the
 * clusters always partition the records.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { blockingKeysByRecordSql } from '../../src/definitions/identity/blocking.ts';
import { IDENTITY_FIELDS, identityRecordsSql } from '../../src/definitions/identity/records.ts';
import { Database } from '../../src/engine/database.ts';
import { resolvePatientId } from '../../src/identity/review.ts';
import { SCHEMA_VERSION } from '../../src/runner/schema.ts';
import { auditPathFor, readAudit, verifyAudit } from '../../src/privacy/audit.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  T0,
  adtPatientRow,
  csvText,
  eventRow,
  hoursAfter,
  makeLakehouse,
  patientRow,
  query,
  run,
  ssnOf,
  writeLandingFile,
  type Row,
} from '../pipeline/fixtures.ts';

const lakes: { cleanup(): void }[] = [];
after(() => lakes.forEach((l) => l.cleanup()));
function lake(): ReturnType<typeof makeLakehouse> {
  const l = makeLakehouse('carelake-identity-');
  lakes.push(l);
  return l;
}

type Link = {
  source_system: string;
  source_patient_id: string;
  patient_id: string;
  confidence_score: number;
  match_rule: string;
  match_evidence: string;
  model_version: string;
};
async function links(db: string): Promise<Map<string, Link>> {
  const rows = await query<Link>(db, 'SELECT * FROM silver_resolved_identity_resolution');
  return new Map(rows.map((l) => [`${l.source_system}:${l.source_patient_id}`, l]));
}
const pid = (m: Map<string, Link>, key: string): string => {
  const p = m.get(key)?.patient_id;
  assert.ok(p, `${key} is resolved`);
  return p;
};
const lab = (row: Row, id: string): Row => ({ ...row, patient_id: id, source_system: 'LAB_SYSTEM', mrn: '' });

/** Every source record is in exactly one patient, and every patient's records are counted once. */
async function assertPartition(db: string): Promise<void> {
  const [c] = await query<{ sources: number; resolved: number; distinct_keys: number; unresolved: number }>(
    db,
    `SELECT (SELECT COUNT(*) FROM (SELECT DISTINCT source_system, source_patient_id FROM silver_patient_sources)) AS sources,
       (SELECT COUNT(*) FROM silver_resolved_identity_resolution) AS resolved,
       (SELECT COUNT(*) FROM (SELECT DISTINCT source_system, source_patient_id FROM silver_resolved_identity_resolution)) AS distinct_keys,
       (SELECT COUNT(*) FROM silver_patient_sources WHERE patient_id IS NULL) AS unresolved`,
  );
  assert.ok(c);
  assert.equal(c.resolved, c.sources, 'one resolution per source record');
  assert.equal(c.distinct_keys, c.resolved, 'no source record twice');
  assert.equal(c.unresolved, 0);
  const [g] = await query<{ bad: number; current_bad: number }>(
    db,
    `SELECT (SELECT COUNT(*) FROM silver_enriched_identity_resolution e
        WHERE e.record_count <> (SELECT COUNT(*) FROM silver_resolved_identity_resolution m WHERE m.patient_id = e.patient_id)) AS bad,
      (SELECT COUNT(*) FROM (SELECT patient_id FROM gold_patients GROUP BY patient_id
        HAVING COUNT(*) FILTER (WHERE is_current) <> 1)
        WHERE patient_id IN (SELECT patient_id FROM silver_resolved_identity_resolution)) AS current_bad`,
  );
  assert.equal(g?.bad, 0, 'golden records count their records');
  assert.equal(g?.current_bad, 0, 'gold_patients has one current row per resolved patient');
  // Every identity record reads its values from one source row: those of the record's latest version.
  const values = `source_system, source_patient_id, ${IDENTITY_FIELDS.join(', ')}`;
  const [v] = await query<{ records: number; with_values: number; differ: number; stale_fp: number }>(
    db,
    `SELECT (SELECT COUNT(*) FROM identity_records) AS records,
       (SELECT COUNT(*) FROM identity_record_values) AS with_values,
       (SELECT COUNT(*) FROM (
         (SELECT ${values} FROM identity_record_values
          EXCEPT ALL SELECT ${values} FROM (${identityRecordsSql(duckdbDialect, 'silver_patient_sources', 'TRUE')}))
         UNION ALL
         (SELECT ${values} FROM (${identityRecordsSql(duckdbDialect, 'silver_patient_sources', 'TRUE')})
          EXCEPT ALL SELECT ${values} FROM identity_record_values))) AS differ,
       (SELECT COUNT(*) FROM identity_record_values WHERE fp IS DISTINCT FROM hash(${IDENTITY_FIELDS.join(', ')})) AS stale_fp`,
  );
  assert.ok((v?.records ?? 0) > 0);
  assert.equal(v?.with_values, v?.records, 'every identity record finds its source row');
  assert.equal(v?.differ, 0, 'the values are those of the latest version of each source record');
  assert.equal(v?.stale_fp, 0, 'every fingerprint is the hash of the values');
  const [ids] = await query<{ rows: number; issued: number; unmapped: number }>(
    db,
    `SELECT (SELECT COUNT(*) FROM identity_patient_id_map) AS rows,
       (SELECT COUNT(DISTINCT issued_id) FROM identity_patient_id_map) AS issued,
       (SELECT COUNT(*) FROM (SELECT DISTINCT patient_id FROM identity_records) r
        WHERE r.patient_id NOT IN (SELECT issued_id FROM identity_patient_id_map)) AS unmapped`,
  );
  assert.equal(ids?.rows, ids?.issued, 'every patient id is issued once');
  assert.equal(ids?.unmapped, 0, 'every patient of a record was issued');
}

test('twins and a Jr./Sr. pair stay apart; their copies join the right person', async () => {
  const l = lake();
  const a = patientRow(1);
  const twin = patientRow(2, {
    last_name: a.last_name ?? '',
    date_of_birth: a.date_of_birth ?? '',
    address_line1: a.address_line1 ?? '',
    phone: a.phone ?? '',
  });
  const senior = patientRow(3, { date_of_birth: '1950-04-12' });
  const junior = patientRow(4, {
    first_name: senior.first_name ?? '',
    last_name: senior.last_name ?? '',
    address_line1: senior.address_line1 ?? '',
    phone: senior.phone ?? '',
    gender: senior.gender ?? '',
    date_of_birth: '1981-09-30',
  });
  const rows = [
    a,
    twin,
    senior,
    junior,
    // the twin's ADT copy without SSN, MRN or member id: only the first name tells the twins apart
    { ...twin, patient_id: 'A00000002', source_system: 'ADT_SYSTEM', ssn: '', mrn: '', insurance_id: '' },
    // the junior's LAB copy without SSN: only the birth date tells father and son apart
    lab({ ...junior, ssn: '', insurance_id: '' }, 'L00000004'),
  ];
  writeLandingFile(l.landing, 'patients', T0, csvText('patients', rows));
  assert.equal((await run(l)).status, 'COMPLETED');
  const m = await links(l.db);
  assert.notEqual(pid(m, 'EHR_SYSTEM:E00000001'), pid(m, 'EHR_SYSTEM:E00000002'), 'twins apart');
  assert.notEqual(pid(m, 'EHR_SYSTEM:E00000003'), pid(m, 'EHR_SYSTEM:E00000004'), 'Jr./Sr. apart');
  assert.equal(pid(m, 'ADT_SYSTEM:A00000002'), pid(m, 'EHR_SYSTEM:E00000002'));
  assert.equal(pid(m, 'LAB_SYSTEM:L00000004'), pid(m, 'EHR_SYSTEM:E00000004'));
  await assertPartition(l.db);
});

test('nickname + moved address + missing SSN links; an SSN-only disagreement still links', async () => {
  const l = lake();
  const will = patientRow(5, { first_name: 'William' });
  const rows = [
    will,
    patientRow(6),
    // Bill moved (street, city, ZIP) and his ADT record has no SSN and no MRN.
    adtPatientRow(5, {
      first_name: 'Bill',
      address_line1: '77 Oak Ave',
      city: 'Dallas',
      zip_code: '75201',
      ssn: '',
      mrn: '',
    }),
    // Everything agrees except the SSN (a typo or a parent's SSN).
    adtPatientRow(6, { ssn: '900-12-3456' }),
  ];
  writeLandingFile(l.landing, 'patients', T0, csvText('patients', rows));
  assert.equal((await run(l)).status, 'COMPLETED');
  const m = await links(l.db);
  assert.equal(pid(m, 'ADT_SYSTEM:A00000005'), pid(m, 'EHR_SYSTEM:E00000005'));
  assert.equal(pid(m, 'ADT_SYSTEM:A00000006'), pid(m, 'EHR_SYSTEM:E00000006'));
  const bill = m.get('ADT_SYSTEM:A00000005');
  const evidence = JSON.parse(bill?.match_evidence ?? '{}') as {
    decision: string;
    matched_record: string;
    levels: Record<string, string>;
  };
  assert.equal(evidence.decision, 'probabilistic');
  assert.equal(evidence.matched_record, 'EHR_SYSTEM:E00000005');
  assert.equal(evidence.levels['first_name'], 'nickname');
  assert.equal(evidence.levels['ssn'], 'missing');
  assert.equal(JSON.parse(m.get('ADT_SYSTEM:A00000006')?.match_evidence ?? '{}').levels.ssn, 'else');
  // The patient's anchor linked through nothing: its evidence names the decision and no levels.
  assert.deepEqual(JSON.parse(m.get('EHR_SYSTEM:E00000005')?.match_evidence ?? '{}'), {
    decision: 'new_patient',
    matched_record: null,
    match_weight: null,
    levels: null,
  });
  assert.ok((bill?.confidence_score ?? 0) >= 0.95);
  assert.match(bill?.match_rule ?? '', /^fs-v1:probabilistic$/);
  assert.equal(bill?.model_version, 'fs-v1.0', 'small data use the default parameters');
  await assertPartition(l.db);
});

test('ids are stable across incremental batches and new records join existing patients', async () => {
  const l = lake();
  writeLandingFile(l.landing, 'patients', T0, csvText('patients', [patientRow(11), patientRow(12)]));
  assert.equal((await run(l)).status, 'COMPLETED');
  const first = await links(l.db);
  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 24),
    csvText('patients', [
      adtPatientRow(11),
      lab(adtPatientRow(12, { first_name: 'Zed', ssn: '', email: '', insurance_id: '' }), 'L00000012'),
      patientRow(13),
      patientRow(11, { insurance_plan: 'HDHP' }),
    ]),
  );
  const r = await run(l);
  assert.equal(r.status, 'COMPLETED');
  assert.equal(r.identity?.newRecords, 3);
  assert.equal(
    r.identity?.changedRecords,
    0,
    'a new plan is no identity change: E00000011 is not resolved again',
  );
  assert.ok(
    r.warnings.some((w) => w.startsWith('identity drift: match rate changed')),
    `drift against the first run is an alert: ${r.warnings.join(' | ')}`,
  );
  const second = await links(l.db);
  assert.equal(pid(second, 'EHR_SYSTEM:E00000011'), pid(first, 'EHR_SYSTEM:E00000011'));
  assert.equal(pid(second, 'EHR_SYSTEM:E00000012'), pid(first, 'EHR_SYSTEM:E00000012'));
  assert.equal(pid(second, 'ADT_SYSTEM:A00000011'), pid(first, 'EHR_SYSTEM:E00000011'));
  const p13 = pid(second, 'EHR_SYSTEM:E00000013');
  assert.ok(p13 > pid(first, 'EHR_SYSTEM:E00000012'), 'a new patient gets a new, higher id');
  // The LAB record whose first name is entirely different (and no SSN agreement) is not linked.
  assert.notEqual(pid(second, 'LAB_SYSTEM:L00000012'), pid(first, 'EHR_SYSTEM:E00000012'));
  const [dim] = await query<{ n: number }>(
    l.db,
    `SELECT COUNT(*) AS n FROM gold_patients WHERE patient_id = '${pid(first, 'EHR_SYSTEM:E00000011')}'`,
  );
  assert.equal(dim?.n, 2, 'the changed plan opened a second version of the same patient');
  await assertPartition(l.db);
});

/**
 * Every source row in silver_patient_sources (`expected` of them) has the patient its record resolved
 * to; returns how many patients they hold.
 */
async function assertSourceRowsResolved(
  db: string,
  resolved: Map<string, Link>,
  expected: number,
): Promise<number> {
  const rows = await query<{ source_system: string; source_patient_id: string; patient_id: string | null }>(
    db,
    'SELECT source_system, source_patient_id, patient_id FROM silver_patient_sources',
  );
  assert.equal(rows.length, expected);
  for (const row of rows)
    assert.equal(
      row.patient_id,
      pid(resolved, `${row.source_system}:${row.source_patient_id}`),
      `${row.source_system}:${row.source_patient_id} has its record's patient`,
    );
  return new Set(rows.map((x) => x.patient_id)).size;
}

// A first load: each source row is joined to its patient by its staged position, unless its record was
// delivered twice (one position among its rows), where the source keys give every row its patient.
for (const c of [
  {
    name: 'a first load that delivers a record twice gives each of its source rows the patient of its record',
    files: [
      [patientRow(21), patientRow(22)],
      [patientRow(21, { insurance_plan: 'HDHP' }), adtPatientRow(22), patientRow(23)],
    ],
    records: 4,
    rows: 5,
    linked: ['ADT_SYSTEM:A00000022', 'EHR_SYSTEM:E00000022'] as const,
  },
  {
    name: 'a first load of one version per record joins each source row to its patient by its position',
    files: [[patientRow(31), adtPatientRow(31), patientRow(32), lab(patientRow(33), 'L00000033')]],
    records: 4,
    rows: 4,
    linked: ['ADT_SYSTEM:A00000031', 'EHR_SYSTEM:E00000031'] as const,
  },
])
  test(c.name, async () => {
    const l = lake();
    c.files.forEach((rows, i) =>
      writeLandingFile(l.landing, 'patients', hoursAfter(T0, i), csvText('patients', rows)),
    );
    const r = await run(l);
    assert.equal(r.status, 'COMPLETED');
    assert.equal(r.identity?.newRecords, c.records, 'a record delivered twice is one record');
    const resolved = await links(l.db);
    assert.equal(await assertSourceRowsResolved(l.db, resolved, c.rows), 3);
    assert.equal(pid(resolved, c.linked[0]), pid(resolved, c.linked[1]));
    await assertPartition(l.db);
  });

test('a lakehouse of schema 3, whose identity records stored their values, is migrated and goes on resolving', async () => {
  const l = lake();
  writeLandingFile(
    l.landing,
    'patients',
    T0,
    csvText('patients', [patientRow(41), adtPatientRow(41), patientRow(42)]),
  );
  assert.equal((await run(l)).status, 'COMPLETED');
  // A second version of E00000041, the anchor of a patient with another record, with a moved address:
  // it keeps its patient without being resolved again, and its record points at the newer source row.
  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 2),
    csvText('patients', [patientRow(41, { address_line1: '7 Oak Lane' }), adtPatientRow(42)]),
  );
  const second = await run(l);
  assert.equal(second.status, 'COMPLETED');
  await assertPartition(l.db);
  const columns = `rid, source_system, source_patient_id, sys_rank, ${IDENTITY_FIELDS.join(', ')}, extracted_at, patient_id, updated_run_id, fp`;
  const before = await query(l.db, `SELECT ${columns} FROM identity_record_values ORDER BY rid`);
  assert.equal(before.length, 4);
  // The same lakehouse as schema 3 stored it: the values in identity_records, no source row named.
  const db = await Database.open(l.db);
  try {
    await db.run(`CREATE TABLE identity_records_wide AS SELECT ${columns} FROM identity_record_values`);
    await db.run(`DROP VIEW identity_record_values`);
    await db.run(`DROP TABLE identity_records`);
    await db.run(`ALTER TABLE identity_records_wide RENAME TO identity_records`);
    await db.run(`UPDATE carelake_meta SET value = '3' WHERE key = 'schema_version'`);
  } finally {
    db.close();
  }
  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 4),
    csvText('patients', [lab(patientRow(41), 'L00000041')]),
  );
  const r = await run(l);
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.equal(r.identity?.newRecords, 1);
  assert.equal(r.identity?.changedRecords, 0, 'the migrated records kept their fingerprints');
  const [meta] = await query<{ v: string }>(
    l.db,
    `SELECT value AS v FROM carelake_meta WHERE key = 'schema_version'`,
  );
  assert.equal(meta?.v, String(SCHEMA_VERSION));
  assert.deepEqual(
    (
      await query<{ c: string }>(
        l.db,
        `SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'identity_records' ORDER BY ordinal_position`,
      )
    ).map((c) => c.c),
    [
      'rid',
      'source_system',
      'source_patient_id',
      'sys_rank',
      'extracted_at',
      'patient_id',
      'updated_run_id',
      'fp',
      '_file_name',
      '_line_number',
    ],
  );
  assert.deepEqual(
    await query(l.db, `SELECT ${columns} FROM identity_record_values WHERE rid <= 4 ORDER BY rid`),
    before,
    'every migrated record reads the values it stored',
  );
  const [moved] = await query<{ addr: string; line: number; file: string }>(
    l.db,
    `SELECT v.addr, r._line_number AS line, r._file_name AS file FROM identity_record_values v JOIN identity_records r USING (rid)
     WHERE v.source_patient_id = 'E00000041'`,
  );
  assert.match(moved?.addr ?? '', /7 oak l/i, 'the moved address is the latest version');
  assert.equal(moved?.file, 'patients_260105_1200.csv');
  const after = await links(l.db);
  assert.equal(
    pid(after, 'LAB_SYSTEM:L00000041'),
    pid(after, 'EHR_SYSTEM:E00000041'),
    'the new record links to a migrated one',
  );
  await assertPartition(l.db);
});

test('a changed record that stays with its one-record patient is kept, and its id is not issued again', async () => {
  const l = lake();
  writeLandingFile(l.landing, 'patients', T0, csvText('patients', [patientRow(51), patientRow(52)]));
  assert.equal((await run(l)).status, 'COMPLETED');
  const first = await links(l.db);
  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 2),
    csvText('patients', [patientRow(51, { address_line1: '7 Oak Lane' })]),
  );
  const r = await run(l);
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.equal(r.identity?.changedRecords, 1);
  assert.equal(r.identity?.newPatients, 0);
  const second = await links(l.db);
  const e51 = second.get('EHR_SYSTEM:E00000051');
  assert.equal(e51?.patient_id, pid(first, 'EHR_SYSTEM:E00000051'));
  assert.equal(e51?.match_rule, 'fs-v1:kept');
  assert.equal(JSON.parse(e51?.match_evidence ?? '{}').decision, 'kept');
  await assertPartition(l.db);
});

test('stored hashes written under another hash function are rebuilt before a changed record is matched', async () => {
  const l = lake();
  writeLandingFile(
    l.landing,
    'patients',
    T0,
    csvText('patients', [patientRow(21), patientRow(22), adtPatientRow(21)]),
  );
  assert.equal((await run(l)).status, 'COMPLETED');
  const first = await links(l.db);
  // As if another engine version had written them: fingerprints and blocking keys that match nothing.
  const db = await Database.open(l.db);
  try {
    await db.run(`UPDATE carelake_meta SET value = 'another hash' WHERE key = 'identity_hash_probe'`);
    await db.run(`UPDATE identity_records SET fp = 1`);
    await db.run(`UPDATE identity_blocking_keys SET k1 = k1 + 1, k2 = k2 + 1, k3 = k3 + 1`);
  } finally {
    db.close();
  }
  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 2),
    csvText('patients', [
      patientRow(22),
      adtPatientRow(21, { address_line1: '9 Elm Street' }),
      lab(adtPatientRow(21), 'L00000021'),
    ]),
  );
  const r = await run(l);
  assert.equal(r.status, 'COMPLETED');
  assert.equal(r.identity?.newRecords, 1);
  assert.equal(
    r.identity?.changedRecords,
    1,
    'only the moved address is a change; E00000022 came again unchanged',
  );
  const second = await links(l.db);
  const p21 = pid(first, 'EHR_SYSTEM:E00000021');
  assert.equal(pid(second, 'ADT_SYSTEM:A00000021'), p21);
  assert.equal(pid(second, 'LAB_SYSTEM:L00000021'), p21, 'the new record is blocked against rebuilt keys');
  const fresh = blockingKeysByRecordSql(duckdbDialect, 'identity_record_values');
  const [c] = await query<{ stale_fp: number; missing: number; extra: number; keys: number; probe: string }>(
    l.db,
    `SELECT (SELECT COUNT(*) FROM identity_record_values WHERE fp IS DISTINCT FROM hash(fn, ln, dob, sex, ssn, mrn, mid, addr, city, state, zip, phone, email)) AS stale_fp,
       (SELECT COUNT(*) FROM (SELECT * FROM (${fresh}) EXCEPT ALL SELECT * FROM identity_blocking_keys)) AS missing,
       (SELECT COUNT(*) FROM (SELECT * FROM identity_blocking_keys EXCEPT ALL SELECT * FROM (${fresh}))) AS extra,
       (SELECT COUNT(*) FROM identity_blocking_keys) AS keys,
       (SELECT value FROM carelake_meta WHERE key = 'identity_hash_probe') AS probe`,
  );
  assert.equal(c?.stale_fp, 0, 'every fingerprint is the hash of its fields');
  assert.equal(c?.missing, 0, 'every record has its blocking keys');
  assert.equal(c?.extra, 0, 'no stale blocking key is left');
  assert.ok((c?.keys ?? 0) > 0);
  assert.notEqual(c?.probe, 'another hash');
});

test('blocking keys stored under earlier rules are rebuilt when the rules change', async () => {
  const l = lake();
  writeLandingFile(l.landing, 'patients', T0, csvText('patients', [patientRow(31), patientRow(32)]));
  assert.equal((await run(l)).status, 'COMPLETED');
  // As a lakehouse written before last name + birth date took the sex holds them: that rule's keys
  // without the sex, under the probe of that version (the same engine hash, no rules signature).
  const db = await Database.open(l.db);
  try {
    await db.run(`UPDATE carelake_meta SET value = 'keys by record, typed values:' || CAST(hash('carelake identity hash probe') AS VARCHAR)
      WHERE key = 'identity_hash_probe'`);
    await db.run(`UPDATE identity_blocking_keys k SET k2 = hash(r.ln, year(r.dob), LEAST(month(r.dob), day(r.dob)), GREATEST(month(r.dob), day(r.dob)))
      FROM identity_record_values r WHERE r.rid = k.rid`);
  } finally {
    db.close();
  }
  writeLandingFile(l.landing, 'patients', hoursAfter(T0, 2), csvText('patients', [patientRow(33)]));
  assert.equal((await run(l)).status, 'COMPLETED');
  const fresh = blockingKeysByRecordSql(duckdbDialect, 'identity_record_values');
  const [c] = await query<{ differ: number; keys: number; probe: string }>(
    l.db,
    `SELECT (SELECT COUNT(*) FROM (SELECT * FROM (${fresh}) EXCEPT ALL SELECT * FROM identity_blocking_keys)) +
         (SELECT COUNT(*) FROM (SELECT * FROM identity_blocking_keys EXCEPT ALL SELECT * FROM (${fresh}))) AS differ,
       (SELECT COUNT(*) FROM identity_blocking_keys) AS keys,
       (SELECT value FROM carelake_meta WHERE key = 'identity_hash_probe') AS probe`,
  );
  assert.equal(c?.keys, 3, 'one row of keys per record');
  assert.equal(c?.differ, 0, "every stored key is the current rules' key");
  assert.match(c?.probe ?? '', /rules [0-9a-f]{12}:/, 'the probe names the rules the keys were written by');
});

test('review decisions: accept merges (the retired id stays resolvable), reject persists and splits', async () => {
  const l = lake();
  const env = { ...process.env, CARELAKE_SSN_KEY: '5e'.repeat(32) };
  // LAB copies whose birth date is far off: a hard conflict keeps them apart and queues a review.
  const rows = [
    patientRow(21),
    patientRow(22),
    patientRow(23),
    lab(
      adtPatientRow(21, { date_of_birth: '2001-01-01', ssn: '', email: '', insurance_id: '' }),
      'L00000021',
    ),
    lab(
      adtPatientRow(22, { date_of_birth: '2001-01-01', ssn: '', email: '', insurance_id: '' }),
      'L00000022',
    ),
    lab(
      adtPatientRow(23, { date_of_birth: '2001-01-01', ssn: '', email: '', insurance_id: '' }),
      'L00000023',
    ),
  ];
  writeLandingFile(l.landing, 'patients', T0, csvText('patients', rows));
  // A lab result of L00000023: its fact must follow the record whenever identity moves it.
  writeLandingFile(
    l.landing,
    'medical_events',
    T0,
    csvText('medical_events', [
      eventRow(1, 23, { patient_id: 'L00000023', source_system: 'LAB_SYSTEM', event_type: 'lab_result' }),
    ]),
  );
  const labEventPatient = async (): Promise<string | undefined> =>
    (
      await query<{ patient_id: string }>(
        l.db,
        `SELECT patient_id FROM silver_medical_events WHERE event_id = 'V00000001'`,
      )
    )[0]?.patient_id;
  assert.equal((await run(l, { env })).status, 'COMPLETED');
  const m1 = await links(l.db);
  assert.equal(await labEventPatient(), pid(m1, 'LAB_SYSTEM:L00000023'));
  for (const i of [21, 22, 23])
    assert.notEqual(pid(m1, `LAB_SYSTEM:L000000${i}`), pid(m1, `EHR_SYSTEM:E000000${i}`));

  const list = await cli(['identity', 'review', '--db', l.db, '--format', 'json']);
  assert.equal(list.code, 0, list.err);
  const items = JSON.parse(list.out) as { review_id: string; left_record: string; right_record: string }[];
  const itemOf = (i: number): string => {
    const it = items.find(
      (x) => x.left_record === `EHR_SYSTEM:E000000${i}` && x.right_record === `LAB_SYSTEM:L000000${i}`,
    );
    assert.ok(it, `a review item for person ${i}: ${list.out}`);
    return it.review_id;
  };
  const r21 = itemOf(21);
  const r22 = itemOf(22);
  const r23 = itemOf(23);
  const text = await cli(['identity', 'review', '--db', l.db]);
  assert.match(text.out, new RegExp(r21));
  assert.equal((await cli(['identity', 'review', '--db', l.db, '--accept', r21])).code, 0);
  assert.equal((await cli(['identity', 'review', '--db', l.db, '--reject', r22])).code, 0);
  const again = await cli(['identity', 'review', '--db', l.db, '--accept', r21]);
  assert.equal(again.code, 1);
  assert.match(again.err, /already decided/);
  assert.equal((await cli(['identity', 'review', '--db', l.db, '--accept', 'R9999999'])).code, 1);
  assert.equal((await cli(['identity', 'review', '--db', l.db, '--accept', r21, '--reject', r22])).code, 2);
  // Both decisions (and only they) are in the tamper-evident audit trail.
  const reviews = readAudit(auditPathFor(l.db)).filter((e) => e.action === 'identity_review');
  assert.deepEqual(
    reviews.map((e) => [e.status, e.details['pair_id']]),
    [
      ['accept', r21],
      ['reject', r22],
    ],
  );
  assert.equal(verifyAudit(auditPathFor(l.db)).ok, true);

  // Next run: the accepted pair merges (older id kept), the rejected pair stays apart.
  writeLandingFile(l.landing, 'patients', hoursAfter(T0, 1), csvText('patients', [patientRow(24)]));
  assert.equal((await run(l, { env })).status, 'COMPLETED');
  const m2 = await links(l.db);
  const kept = pid(m2, 'EHR_SYSTEM:E00000021');
  assert.equal(pid(m2, 'LAB_SYSTEM:L00000021'), kept);
  const retired = pid(m1, 'LAB_SYSTEM:L00000021');
  assert.ok(kept < retired, 'the older id survives');
  const db = await Database.open(l.db);
  try {
    assert.equal(await resolvePatientId(db, retired), kept, 'the retired id resolves to the survivor');
    assert.equal(await resolvePatientId(db, kept), kept);
  } finally {
    db.close();
  }
  const audit = await query<{ action: string; patient_id: string; other_patient_id: string }>(
    l.db,
    `SELECT action, patient_id, other_patient_id FROM identity_audit ORDER BY event_at, action`,
  );
  assert.ok(
    audit.some((a) => a.action === 'merge' && a.patient_id === kept && a.other_patient_id === retired),
  );
  assert.ok(audit.some((a) => a.action === 'review_accept'));
  assert.ok(audit.some((a) => a.action === 'review_reject'));
  assert.notEqual(pid(m2, 'LAB_SYSTEM:L00000022'), pid(m2, 'EHR_SYSTEM:E00000022'));

  // New evidence: the LAB records now carry the right birth date and SSN. The rejected one still
  // stays apart; the pending one moves into its EHR patient (a single-record patient merges).
  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 2),
    csvText('patients', [lab(adtPatientRow(22), 'L00000022'), lab(adtPatientRow(23), 'L00000023')]),
  );
  const r3 = await run(l, { env });
  assert.equal(r3.status, 'COMPLETED');
  assert.equal(r3.identity?.changedRecords, 2);
  const m3 = await links(l.db);
  assert.notEqual(pid(m3, 'LAB_SYSTEM:L00000022'), pid(m3, 'EHR_SYSTEM:E00000022'), 'a rejection persists');
  assert.equal(pid(m3, 'LAB_SYSTEM:L00000023'), pid(m3, 'EHR_SYSTEM:E00000023'), 'new evidence moves it');
  assert.equal(await labEventPatient(), pid(m3, 'EHR_SYSTEM:E00000023'), 'its fact follows the move');

  // Rejecting a pair that is linked now splits the later record off into a new patient.
  assert.equal((await cli(['identity', 'review', '--db', l.db, '--reject', r23])).code, 0);
  writeLandingFile(l.landing, 'patients', hoursAfter(T0, 3), csvText('patients', [patientRow(25)]));
  assert.equal((await run(l, { env })).status, 'COMPLETED');
  const m4 = await links(l.db);
  assert.notEqual(pid(m4, 'LAB_SYSTEM:L00000023'), pid(m4, 'EHR_SYSTEM:E00000023'));
  assert.equal(pid(m4, 'EHR_SYSTEM:E00000023'), pid(m3, 'EHR_SYSTEM:E00000023'), 'the anchor keeps its id');
  assert.equal(await labEventPatient(), pid(m4, 'LAB_SYSTEM:L00000023'), 'its fact follows the split');
  // The split patient is in the dimension, so the fact's patient exists there (the table check passed).
  const dim = await query<{ n: number }>(
    l.db,
    `SELECT COUNT(*) AS n FROM gold_patients WHERE is_current AND patient_id = '${pid(m4, 'LAB_SYSTEM:L00000023')}'`,
  );
  assert.equal(dim[0]?.n, 1);
  const splits = await query<{ n: number }>(
    l.db,
    `SELECT COUNT(*) AS n FROM identity_audit WHERE action = 'split' AND review_id = '${r23}'`,
  );
  assert.equal(splits[0]?.n, 1);
  const accepted = await cli(['identity', 'review', '--db', l.db, '--status', 'all', '--format', 'json']);
  assert.equal((JSON.parse(accepted.out) as unknown[]).length >= 3, true);
  const badStatus = await cli(['identity', 'review', '--db', l.db, '--status', 'done']);
  assert.equal(badStatus.code, 2);
  assert.match(badStatus.err, /--status must be one of pending, accepted, rejected, all, got "done"/);
  await assertPartition(l.db);

  const report = await cli(['identity', 'report', '--db', l.db]);
  assert.equal(report.code, 0, report.err);
  assert.match(report.out, /coverage\s+1\.0000/);
  assert.match(report.out, /freshness SLA/);
  const json = JSON.parse((await cli(['identity', 'report', '--db', l.db, '--format', 'json'])).out) as {
    latest: { coverage: number };
    alerts: string[];
    model: unknown[];
  };
  assert.equal(json.latest.coverage, 1);
  assert.ok(json.model.length > 10);
  const events = await query<{ n: number }>(
    l.db,
    `SELECT COUNT(*) AS n FROM event_log WHERE level = 'WARN' AND message LIKE 'identity freshness SLA%'`,
  );
  assert.ok((events[0]?.n ?? 0) >= 1, 'SLA violations are in the event log as warnings');

  // A full refresh resolves from scratch and applies the decisions again; the golden records are those
  // of the patients as decided (one per patient, counting its records).
  assert.equal((await run(l, { env, fullRefresh: true })).status, 'COMPLETED');
  const m5 = await links(l.db);
  assert.equal(pid(m5, 'LAB_SYSTEM:L00000021'), pid(m5, 'EHR_SYSTEM:E00000021'), 'an acceptance persists');
  assert.notEqual(pid(m5, 'LAB_SYSTEM:L00000022'), pid(m5, 'EHR_SYSTEM:E00000022'), 'a rejection persists');
  const golden = await query<{ patients: number; golden: number; wrong: number }>(
    l.db,
    `SELECT (SELECT COUNT(DISTINCT patient_id) FROM identity_records) AS patients,
       (SELECT COUNT(*) FROM silver_enriched_identity_resolution) AS golden,
       (SELECT COUNT(*) FROM silver_enriched_identity_resolution g
        WHERE g.record_count IS DISTINCT FROM (SELECT COUNT(*) FROM identity_records r WHERE r.patient_id = g.patient_id)) AS wrong`,
  );
  assert.equal(golden[0]?.golden, golden[0]?.patients, 'one golden record per patient');
  assert.equal(golden[0]?.wrong, 0, 'golden records counting other records than their patient holds');
  await assertPartition(l.db);
});

test('new evidence moves a record out of a patient that keeps its other records; its facts follow', async () => {
  const l = lake();
  // L00000030 first carries person 30's data (linked to E30 with A30), then person 31's: it moves.
  writeLandingFile(
    l.landing,
    'patients',
    T0,
    csvText('patients', [
      patientRow(30),
      patientRow(31),
      adtPatientRow(30),
      lab(adtPatientRow(30), 'L00000030'),
    ]),
  );
  writeLandingFile(
    l.landing,
    'medical_events',
    T0,
    csvText('medical_events', [
      eventRow(7, 30, { patient_id: 'L00000030', source_system: 'LAB_SYSTEM', event_type: 'lab_result' }),
      eventRow(8, 30),
    ]),
  );
  assert.equal((await run(l)).status, 'COMPLETED');
  const m1 = await links(l.db);
  const p30 = pid(m1, 'EHR_SYSTEM:E00000030');
  assert.equal(pid(m1, 'LAB_SYSTEM:L00000030'), p30);
  const eventPatient = async (id: string): Promise<string | undefined> =>
    (
      await query<{ patient_id: string }>(
        l.db,
        `SELECT patient_id FROM silver_medical_events WHERE event_id = '${id}'`,
      )
    )[0]?.patient_id;
  assert.equal(await eventPatient('V00000007'), p30);

  writeLandingFile(
    l.landing,
    'patients',
    hoursAfter(T0, 1),
    csvText('patients', [lab(adtPatientRow(31), 'L00000030')]),
  );
  const r = await run(l);
  assert.equal(r.status, 'COMPLETED');
  const m2 = await links(l.db);
  const p31 = pid(m2, 'EHR_SYSTEM:E00000031');
  assert.equal(pid(m2, 'LAB_SYSTEM:L00000030'), p31, 'new evidence moves the record');
  assert.equal(pid(m2, 'ADT_SYSTEM:A00000030'), p30, 'the old patient keeps its other records');
  assert.equal(await eventPatient('V00000007'), p31, "the moved record's lab result follows it");
  assert.equal(await eventPatient('V00000008'), p30, "the ADT record's event stays");
  const [split] = await query<{ n: number }>(
    l.db,
    `SELECT COUNT(*) AS n FROM identity_audit WHERE action = 'split' AND source_patient_id = 'L00000030'`,
  );
  assert.equal(split?.n, 1, 'the move is in the identity audit');
  // The change feed has the rewrite: a pre-image under the old patient, a post-image under the new.
  const feed = await query<{ _change_type: string; patient_id: string }>(
    l.db,
    `SELECT _end_type AS _change_type, patient_id FROM silver_medical_events__changes WHERE event_id = 'V00000007'
     UNION ALL SELECT _change_type, patient_id FROM silver_medical_events WHERE event_id = 'V00000007'
     ORDER BY 1`,
  );
  assert.deepEqual(
    feed.map((f) => [f._change_type, f.patient_id]),
    [
      ['update_postimage', p31],
      ['update_preimage', p30],
    ],
  );
  await assertPartition(l.db);
});

test('a placeholder SSN counts as no SSN: two people given 123-45-6789 stay apart', async () => {
  // Mary Moss and Mary Quinn share a first name and a birth date, nothing else. With one real SSN
  // between them they are one person; with a number systems fill in for an unknown SSN, they are not.
  const people = (ssn: string): Row[] => {
    const a = patientRow(30, { ssn });
    return [
      a,
      adtPatientRow(33, { ssn, first_name: a.first_name ?? '', date_of_birth: a.date_of_birth ?? '' }),
    ];
  };
  const shared = lake();
  writeLandingFile(shared.landing, 'patients', T0, csvText('patients', people(ssnOf(30))));
  assert.equal((await run(shared)).status, 'COMPLETED');
  const same = await links(shared.db);
  assert.equal(
    pid(same, 'ADT_SYSTEM:A00000033'),
    pid(same, 'EHR_SYSTEM:E00000030'),
    'a shared real SSN links',
  );

  for (const placeholder of ['123-45-6789', '000-00-0000', '987 65 4321', '666-12-3456']) {
    const l = lake();
    writeLandingFile(l.landing, 'patients', T0, csvText('patients', people(placeholder)));
    assert.equal((await run(l)).status, 'COMPLETED');
    const m = await links(l.db);
    assert.notEqual(pid(m, 'ADT_SYSTEM:A00000033'), pid(m, 'EHR_SYSTEM:E00000030'), `${placeholder}: apart`);
    const [b] = await query<{ hashed: number; rows: number }>(
      l.db,
      'SELECT COUNT(ssn_hash) AS hashed, COUNT(*) AS rows FROM bronze_patients',
    );
    assert.deepEqual(b, { hashed: 0, rows: 2 }, `${placeholder}: not hashed, the rows kept`);
    const [warned] = await query<{ failed: number; action: string }>(
      l.db,
      `SELECT CAST(x->>'failed_records' AS INTEGER) AS failed, x->>'action' AS action FROM (
         SELECT unnest(CAST(details->'flow_progress'->'data_quality'->'expectations' AS JSON[])) AS x
         FROM event_log WHERE event_type = 'flow_progress' AND (origin->>'dataset_name') = 'bronze_patients')
       WHERE x->>'name' = 'valid_ssn_format'`,
    );
    assert.deepEqual(warned, { failed: 2, action: 'warn' }, `${placeholder}: flagged`);
    await assertPartition(l.db);
  }
});
