/**
 * No raw SSN at rest, end to end (DECISIONS.md D5): after generating, running (incremental and full
 * refresh), exporting and quarantining — with malformed lines carrying SSNs in every formatting —
 * every raw SSN of the landing files is searched for in every text column of every table (event log
 * and quarantine included), the database file and its WAL, the audit trail, every exported file (raw
 * bytes and decoded) and everything the CLI printed. Zero hits; a planted SSN is found (positive
 * control).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Database, sqlString } from '../../src/engine/database.ts';
import { normaliseSsn } from '../../src/privacy/ssn-key.ts';
import { splitCsvLine } from '../../src/runner/landing.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  SSN_KEY_HEX,
  ageFile,
  textValues,
  makeLakehouse,
  withDb,
  type Lakehouse,
} from '../pipeline/fixtures.ts';

const SSN_SHAPED = /(?<![0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}(?![0-9])/g;

/** Every raw SSN (as 9 digits) found in `text`, in any of the formattings. */
function ssnHits(text: string, ssns: ReadonlySet<string>): string[] {
  const hits: string[] = [];
  for (const m of text.matchAll(SSN_SHAPED)) {
    const digits = m[0].replace(/[^0-9]/g, '');
    if (ssns.has(digits)) hits.push(m[0]);
  }
  return hits;
}

/** Planted SSNs (never-issued 9xx area) in several formattings. */
const PLANTED = ['931-65-4321', '931654322', '931 65 4323', '931.65.4324', '931-65 4325', '931 65-4326'];

let lake: Lakehouse;
let outputs: string[];
let ssns: Set<string>;
const prevKey = process.env['CARELAKE_SSN_KEY'];

async function run(argv: string[], expectCode = 0): Promise<void> {
  const r = await cli(argv);
  outputs.push(r.out, r.err);
  assert.equal(r.code, expectCode, `${argv.join(' ')}: ${r.err}`);
}

function plantMalformedFiles(landing: string): void {
  const header =
    'patient_id,mrn,first_name,last_name,date_of_birth,gender,address_line1,city,state,zip_code,phone,email,ssn,insurance_id,source_system,bmi,smoker,children,charges,insurance_plan,coverage_start_date';
  const good = (id: string, ssn: string): string =>
    `${id},MRN9${id.slice(1)},Zed,Quist,1970-01-02,M,1 Elm St,Austin,TX,73301,512-555-0101,zq@example.com,${ssn},INS1,EHR_SYSTEM,24.0,no,0,100.00,PPO,2020-01-01`;
  fs.writeFileSync(
    path.join(landing, 'patients_260105_1030.csv'),
    [
      header,
      good('E90000001', PLANTED[2] ?? ''),
      `${good('E90000002', PLANTED[0] ?? '')},extra ${PLANTED[1] ?? ''}`,
      `E90000003,MRN3,Short,Line,${PLANTED[3] ?? ''}`,
      `"E90000004","quoted, ${PLANTED[4] ?? ''}",${PLANTED[5] ?? ''}`,
    ].join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(landing, 'patients_260105_1031.csv'),
    `${header},ssn_copy\n${good('E90000005', '931-65-4327')},931654327\n`,
  );
  fs.writeFileSync(
    path.join(landing, 'patients_260105_1032.csv'),
    `patient_id;ssn;first_name\nE90000006;931-65-4328;Semi\nE90000007;931 65 4329;Colon\n`,
  );
  fs.writeFileSync(
    path.join(landing, 'claims_260105_1030.csv'),
    'claim_id,patient_id,claim_amount,claim_date,diagnosis_code,procedure_code,claim_status,source_system,member_ssn\n' +
      'C90000001,E90000001,10.00,2025-01-01,I10,99213,paid,CLAIMS_SYSTEM,931-65-4330\n' +
      'C90000002,E90000001,10.00,2025-01-01,I10,99213,paid,CLAIMS_SYSTEM,931654331,spill 931 65 4332\n',
  );
  // Well-formed rows whose SSN sits in another column too: the member id and MRN as the row's own SSN
  // digits, the printed form in the phone and e-mail fields, inside an address and in a claim's patient
  // id, the row's own SSN inside an e-mail address.
  const misplaced = (id: string, ssn: string, fields: Record<string, string>): string =>
    header
      .split(',')
      .map((c, i) => fields[c] ?? good(id, ssn).split(',')[i] ?? '')
      .join(',');
  fs.writeFileSync(
    path.join(landing, 'patients_260105_1034.csv'),
    [
      header,
      misplaced('E90000008', '931-65-4334', { insurance_id: 'MS931654334' }),
      misplaced('E90000009', '', { email: '931-65-4335' }),
      misplaced('E90000010', '931-65-4336', { phone: '931-65-4336' }),
      misplaced('E90000011', '931-65-4337', { mrn: '931654337' }),
      misplaced('E90000012', '', { address_line1: '931-65-4339 Elm St' }),
      misplaced('E90000013', '931-65-4340', { email: 'jsmith931654340@mail.com' }),
    ].join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(landing, 'claims_260105_1034.csv'),
    'claim_id,patient_id,claim_amount,claim_date,diagnosis_code,procedure_code,claim_status,source_system\n' +
      'C90000003,931-65-4338,10.00,2025-01-01,I10,99213,paid,CLAIMS_SYSTEM\n',
  );
  const binary = path.join(landing, 'patients_260105_1033.csv');
  fs.writeFileSync(
    binary,
    Buffer.concat([Buffer.from('\0\0binary 931-65-4333 '), Buffer.from([0xff, 0xfe, 0, 1])]),
  );
  // It ends mid-line: delivered an hour ago, it is final, not a file still being written.
  ageFile(binary);
}

/** Every SSN in the patients landing files: the ssn field (and its neighbours on malformed lines). */
function landingSsns(landing: string): Set<string> {
  const found = new Set<string>();
  for (const name of fs.readdirSync(landing)) {
    if (!name.startsWith('patients_')) continue;
    const lines = fs.readFileSync(path.join(landing, name), 'latin1').split(/\r?\n/);
    const header = splitCsvLine(lines[0] ?? '');
    const at = header.indexOf('ssn');
    for (const line of lines.slice(1)) {
      const fields = splitCsvLine(line);
      for (const i of fields.length === header.length ? [at] : [at - 1, at, at + 1]) {
        const f = fields[i]?.trim() ?? '';
        if (/^[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}$/.test(f)) found.add(normaliseSsn(f) ?? '');
      }
    }
  }
  for (let n = 4321; n <= 4340; n++) found.add(`93165${n}`);
  return found;
}

/** Every value of every table, as text. */
const tableTexts = (dbPath: string): Promise<{ where: string; text: string }[]> => withDb(dbPath, textValues);

function filesUnder(dir: string, skip: readonly string[]): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !skip.some((s) => f.startsWith(s + path.sep)));
}

before(async () => {
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  lake = makeLakehouse('carelake-nossn-');
  outputs = [];
  const gen = ['--out', lake.landing, '--truth', path.join(lake.dir, 'truth'), '--format', 'json'];
  await run([
    'generate',
    '--patients',
    '150',
    '--seed',
    '7',
    '--defect-rate',
    '0.08',
    '--as-of',
    '2026-01-05T10:00',
    ...gen,
  ]);
  plantMalformedFiles(lake.landing);
  const base = ['--db', lake.db, '--landing', lake.landing];
  await run(['run', ...base]);
  await run([
    'generate',
    '--incremental',
    '--patients',
    '40',
    '--defect-rate',
    '0.08',
    '--as-of',
    '2026-01-06T10:00',
    ...gen,
  ]);
  await run(['run', ...base, '--format', 'json']);
  await run(['run', '--full-refresh', ...base]);
  await run([
    'export',
    '--deidentified',
    '--csv',
    '--out',
    path.join(lake.dir, 'export-deid'),
    '--db',
    lake.db,
  ]);
  await run([
    'export',
    '--limited',
    '--csv',
    '--out',
    path.join(lake.dir, 'export-limited'),
    '--db',
    lake.db,
    '--format',
    'json',
  ]);
  await run(['sql', '--db', lake.db, 'SELECT * FROM quarantine']);
  await run(['sql', '--db', lake.db, 'SELECT * FROM bronze_patients', '--format', 'csv']);
  await run(['sql', '--db', lake.db, 'SELECT * FROM event_log', '--format', 'json']);
  await run(['status', '--db', lake.db, '--format', 'json']);
  await run(['catalog', '--db', lake.db]);
  await run(['audit', '--db', lake.db, '--limit', '1000', '--format', 'json']);
  await run(['landing', 'status', ...base]);
  ssns = landingSsns(lake.landing);
});
after(() => {
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
});

test('the scan finds SSNs in every formatting (positive control)', async () => {
  assert.ok(ssns.size > 150, `only ${ssns.size} SSNs collected`);
  for (const f of PLANTED) assert.equal(ssnHits(`x ${f}, y`, ssns).length, 1, f);
  assert.equal(ssnHits('931-65-4399', ssns).length, 0);
  // Plant one SSN in a copy of the database: the table scan and the byte scan both find it.
  const copy = path.join(lake.dir, 'control', 'copy.duckdb');
  fs.mkdirSync(path.dirname(copy));
  fs.copyFileSync(lake.db, copy);
  fs.cpSync(`${lake.db}.bronze`, `${copy}.bronze`, { recursive: true });
  const db = await Database.open(copy);
  try {
    await db.run(
      `INSERT INTO quarantine VALUES ('x', 'x', [], 'x', 1, json_object('note', ${sqlString(`ssn ${PLANTED[2] ?? ''}`)}), now()::TIMESTAMP)`,
    );
  } finally {
    db.close();
  }
  const hits = (await tableTexts(copy)).filter((t) => ssnHits(t.text, ssns).length > 0);
  assert.deepEqual(
    hits.map((h) => h.where),
    ['quarantine.record'],
  );
  assert.ok(
    ssnHits(fs.readFileSync(copy).toString('latin1'), ssns).length > 0,
    'byte scan finds the planted SSN',
  );
  fs.rmSync(path.dirname(copy), { recursive: true });
});

test('the planted malformed lines were quarantined, and hashed SSNs are in bronze', async () => {
  const q = await withDb(lake.db, (db) =>
    db.all<{ f: string; n: number }>(
      `SELECT file_name AS f, COUNT(*) AS n FROM quarantine WHERE file_name LIKE '%_103%' GROUP BY 1 ORDER BY 1`,
    ),
  );
  assert.ok(
    q.some((r) => r.f === 'patients_260105_1030.csv' && r.n >= 3),
    JSON.stringify(q),
  );
  assert.ok(q.some((r) => r.f === 'patients_260105_1032.csv'));
  assert.ok(q.some((r) => r.f === 'patients_260105_1033.csv'));
  const hashed = await withDb(lake.db, (db) =>
    db.one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM bronze_patients WHERE patient_id = 'E90000001' AND ssn_hash IS NOT NULL AND ssn IS NULL`,
    ),
  );
  assert.equal(hashed?.n, 1);
  const rescued = await withDb(lake.db, (db) =>
    db.one<{ r: string }>(
      `SELECT CAST(_rescued_data AS VARCHAR) AS r FROM bronze_claims WHERE claim_id = 'C90000001'`,
    ),
  );
  assert.match(rescued?.r ?? '', /\[REDACTED\]/);
});

test('no raw SSN in any text column of any table (event log and quarantine included)', async () => {
  const texts = await tableTexts(lake.db);
  assert.ok(texts.length > 10_000);
  assert.ok(texts.some((t) => t.where.startsWith('event_log.')));
  assert.ok(texts.some((t) => t.where.startsWith('quarantine.')));
  const hits = texts.flatMap((t) => ssnHits(t.text, ssns).map((h) => `${t.where}: ${h}`));
  assert.deepEqual(hits, []);
});

test('no raw SSN in the database file, its WAL, the audit trail or any exported file (raw and decoded)', async () => {
  const files = filesUnder(lake.dir, [lake.landing, path.join(lake.dir, 'truth')]);
  assert.ok(files.includes(lake.db));
  assert.ok(files.some((f) => f.endsWith('.audit.jsonl')));
  assert.ok(files.filter((f) => f.endsWith('.parquet')).length >= 3);
  for (const f of files) assert.deepEqual(ssnHits(fs.readFileSync(f).toString('latin1'), ssns), [], f);
  const wal = `${lake.db}.wal`;
  if (fs.existsSync(wal)) assert.deepEqual(ssnHits(fs.readFileSync(wal).toString('latin1'), ssns), []);
  const mem = await Database.open(':memory:');
  try {
    for (const f of files.filter((x) => x.endsWith('.parquet'))) {
      for (const row of await mem.all(
        `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet(${sqlString(f)})`,
      ))
        for (const v of Object.values(row))
          if (typeof v === 'string') assert.deepEqual(ssnHits(v, ssns), [], f);
    }
  } finally {
    mem.close();
  }
});

test('no raw SSN in anything the CLI printed', () => {
  const all = outputs.join('\n');
  assert.ok(all.length > 10_000);
  assert.match(all, /\[REDACTED\]/, 'the quarantine print shows redacted lines');
  assert.deepEqual(ssnHits(all, ssns), []);
});
