import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Database, sqlString } from '../../src/engine/database.ts';
import { auditPathFor, readAudit } from '../../src/privacy/audit.ts';
import type { ExportManifest } from '../../src/privacy/export.ts';
import { referencePath } from '../../src/reference/paths.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  SSN_KEY_HEX,
  T0,
  adtPatientRow,
  claimRow,
  csvText,
  eventRow,
  makeLakehouse,
  patientRow,
  query,
  range,
  run,
  writeLandingFile,
  type Lakehouse,
  type Row,
} from '../pipeline/fixtures.ts';

const RESTRICTED = fs
  .readFileSync(referencePath('hipaa_restricted_zip3.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(',')[0] ?? '');
/** Fixture patient → expected export age (birth dates give 88, 89, 90 and 104 at the extract time). */
const AGES: Record<number, { dob: string; age: number; exported: number }> = {
  20: { dob: '1937-03-01', age: 88, exported: 88 },
  21: { dob: '1936-03-01', age: 89, exported: 90 },
  22: { dob: '1935-03-01', age: 90, exported: 90 },
  23: { dob: '1921-03-01', age: 104, exported: 90 },
};
const zipOf = (i: number): string =>
  i <= RESTRICTED.length ? `${RESTRICTED[i - 1] ?? ''}12` : i === 18 ? '73301' : '10001';
const PEOPLE = range(1, 24);

function patient(i: number, adt = false): Row {
  const o = { zip_code: zipOf(i), ...(AGES[i] ? { date_of_birth: AGES[i].dob } : {}) };
  return adt ? adtPatientRow(i, o) : patientRow(i, o);
}

function writeLanding(landing: string): Row[] {
  const patients = PEOPLE.flatMap((i) => [patient(i), patient(i, true)]);
  const claims = PEOPLE.flatMap((i) => [claimRow(i * 2, i), claimRow(i * 2 + 1, i)]);
  const events = PEOPLE.map((i) => eventRow(100 + i, i));
  writeLandingFile(landing, 'patients', T0, csvText('patients', patients));
  writeLandingFile(landing, 'claims', T0, csvText('claims', claims));
  writeLandingFile(landing, 'medical_events', T0, csvText('medical_events', events));
  return [...patients, ...claims, ...events];
}

let lake: Lakehouse;
let twin: Lakehouse;
let rows: Row[];
let mem: Database;
const prevKey = process.env['CARELAKE_SSN_KEY'];
const out = (name: string): string => path.join(lake.dir, name);

before(async () => {
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  lake = makeLakehouse('carelake-export-');
  twin = makeLakehouse('carelake-export-twin-');
  rows = writeLanding(lake.landing);
  writeLanding(twin.landing);
  assert.equal((await run(lake)).status, 'COMPLETED');
  assert.equal((await run(twin)).status, 'COMPLETED');
  mem = await Database.open(':memory:');
});
after(() => {
  mem.close();
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
  twin.cleanup();
});

/** Pseudonym → fixture patient number, through the database's mapping and identity tables. */
async function pseudonymsOf(db: string): Promise<Map<string, number>> {
  const r = await query<{ pseudonym: string; src: string }>(
    db,
    `SELECT p.pseudonym, i.source_patient_id AS src FROM privacy_pseudonyms p
     JOIN silver_resolved_identity_resolution i ON i.patient_id = p.source_id AND i.source_system = 'EHR_SYSTEM'`,
  );
  return new Map(r.map((x) => [x.pseudonym, Number(x.src.slice(1))]));
}

const readParquet = (dir: string, table: string): Promise<Record<string, unknown>[]> => {
  const file = fs.existsSync(path.join(dir, `${table}.parquet`))
    ? path.join(dir, `${table}.parquet`)
    : path.join(dir, table, '**', '*.parquet');
  return mem.all(`SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = true)`);
};

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

describe('carelake export --deidentified', () => {
  let manifest: ExportManifest;
  let patients: Record<string, unknown>[];
  before(async () => {
    const r = await cli([
      'export',
      '--deidentified',
      '--csv',
      '--out',
      out('deid'),
      '--db',
      lake.db,
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    manifest = JSON.parse(r.out) as ExportManifest;
    patients = await readParquet(out('deid'), 'gold_patients');
  });

  test('ZIP3: all 17 restricted prefixes become 000, others keep their first three digits', async () => {
    assert.equal(RESTRICTED.length, 17);
    const who = await pseudonymsOf(lake.db);
    const zip = new Map(patients.map((p) => [who.get(String(p['patient_id'])), p['zip3']]));
    for (let i = 1; i <= 17; i++) assert.equal(zip.get(i), '000', `restricted ${RESTRICTED[i - 1]}`);
    assert.equal(zip.get(18), '733');
    assert.equal(zip.get(19), '100');
  });

  test('ages 88, 89, 90 and 104 export as 88, 90, 90 and 90', async () => {
    const who = await pseudonymsOf(lake.db);
    const age = new Map(patients.map((p) => [who.get(String(p['patient_id'])), p['age_years']]));
    for (const [i, a] of Object.entries(AGES)) assert.equal(age.get(Number(i)), a.exported, `age ${a.age}`);
    assert.ok(patients.every((p) => Number(p['age_years']) <= 90));
  });

  test('dates are reduced to years: no date or timestamp column, no month, no ISO date in any file', async () => {
    for (const t of ['gold_patients', 'gold_claims', 'gold_medical_events']) {
      const f = path.join(out('deid'), 'csv', `${t}.csv`);
      const types = await mem.all<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM read_csv(${sqlString(f)}, header = true)`,
      );
      assert.ok(
        types.every(
          (c) =>
            !/DATE|TIME/.test(c.column_type) && !/_date$|_month$|^effective_(from|to)$/.test(c.column_name),
        ),
        JSON.stringify(types),
      );
      assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /\d{4}-\d{2}/);
    }
    assert.deepEqual(Object.keys(patients[0] ?? {}), manifest.tables['gold_patients']?.columns);
    assert.ok(patients.every((p) => typeof p['coverage_start_year'] === 'number'));
    const claims = await readParquet(out('deid'), 'gold_claims');
    assert.deepEqual([...new Set(claims.map((c) => Number(c['claim_year'])))], [2025]);
    assert.deepEqual(manifest.tables['gold_claims']?.partitionBy, ['claim_year']);
  });

  test('every identifier kind is absent from every exported file', async () => {
    const ids = new Set<string>();
    const identifying = [
      'patient_id',
      'mrn',
      'first_name',
      'last_name',
      'date_of_birth',
      'address_line1',
      'city',
      'zip_code',
      'phone',
      'email',
      'ssn',
      'insurance_id',
      'claim_id',
      'event_id',
      'claim_date',
      'event_date',
      'coverage_start_date',
    ];
    for (const r of rows) for (const c of identifying) if (r[c]) ids.add(r[c].toLowerCase());
    for (const r of await query<{ v: string }>(
      lake.db,
      `SELECT patient_id AS v FROM gold_patients UNION SELECT ssn_hash FROM silver_patient_sources
       UNION SELECT phone_digits FROM silver_patient_sources UNION SELECT zip5 FROM silver_patient_sources`,
    ))
      if (r.v) ids.add(r.v.toLowerCase());
    assert.ok(ids.size > 300);
    for (const t of ['gold_patients', 'gold_claims', 'gold_medical_events']) {
      for (const r of await readParquet(out('deid'), t))
        for (const [k, v] of Object.entries(r))
          assert.ok(!ids.has(String(v).toLowerCase()), `${t}.${k} = ${String(v)} is an identifier`);
      const text = fs.readFileSync(path.join(out('deid'), 'csv', `${t}.csv`), 'utf8').toLowerCase();
      for (const id of ids) if (id.length >= 6) assert.ok(!text.includes(id), `${t}.csv holds ${id}`);
    }
    const names = Object.values(manifest.tables).flatMap((t) => t.columns);
    for (const banned of [
      'mrn',
      'ssn',
      'ssn_hash',
      'first_name',
      'last_name',
      'email',
      'phone',
      'address',
      'city',
      'zip5',
      'claim_id',
      'event_id',
      'insurance_id',
    ])
      assert.ok(!names.includes(banned), banned);
    assert.deepEqual(
      manifest.identifiers.map((i) => i.id),
      'ABCDEFGHIJKLMNOPQR'.split(''),
    );
    assert.ok(!filesUnder(out('deid')).some((f) => f.includes('pseudonym')));
  });

  test('pseudonyms are random: unrelated to source ids and different in a database built from the same files', async () => {
    const mine = await pseudonymsOf(lake.db);
    const theirs = await pseudonymsOf(twin.db);
    assert.equal(mine.size, 0 + PEOPLE.length);
    assert.equal(theirs.size, 0, 'the twin has drawn no pseudonyms before its first export');
    const r = await cli(['export', '--deidentified', '--out', out('twin'), '--db', twin.db]);
    assert.equal(r.code, 0, r.err);
    const twinMap = await pseudonymsOf(twin.db);
    const byPerson = new Map([...twinMap].map(([p, i]) => [i, p]));
    for (const [p, i] of mine) {
      assert.match(p, /^p[0-9a-f]{20}$/);
      assert.notEqual(byPerson.get(i), p);
      assert.ok(!p.includes(String(i).padStart(5, '0')));
    }
    const exported = new Set(patients.map((p) => String(p['patient_id'])));
    assert.deepEqual([...exported].sort(), [...mine.keys()].sort());
  });

  test('manifest: row counts per file equal the files, tables equal gold, every file listed', async () => {
    const listed = manifest.files.map((f) => f.path).sort();
    assert.deepEqual(
      listed,
      filesUnder(out('deid')).filter((f) => f !== 'manifest.json'),
    );
    const perTable = new Map<string, number>();
    for (const f of manifest.files) {
      const p = path.join(out('deid'), f.path);
      const reader =
        f.format === 'csv'
          ? `read_csv(${sqlString(p)}, header = true, all_varchar = true)`
          : `read_parquet(${sqlString(p)})`;
      const n = (await mem.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${reader}`))?.n;
      assert.equal(n, f.rows, f.path);
      assert.equal(fs.statSync(p).size, f.bytes);
      if (f.format === 'parquet') perTable.set(f.table, (perTable.get(f.table) ?? 0) + f.rows);
    }
    for (const t of ['gold_patients', 'gold_claims', 'gold_medical_events']) {
      const gold = (await query<{ n: number }>(lake.db, `SELECT COUNT(*) AS n FROM ${t}`))[0]?.n;
      assert.equal(manifest.tables[t]?.rows, gold);
      assert.equal(perTable.get(t), gold);
    }
    assert.equal(manifest.mode, 'deidentified');
    assert.match(manifest.standard, /Safe Harbor/);
    const e = readAudit(auditPathFor(lake.db)).find((x) => x.action === 'export');
    assert.equal(
      e?.rows,
      Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0),
    );
  });
});

describe('carelake export --limited', () => {
  test('keeps dates and five-digit ZIP, says so, partitions facts by year and month', async () => {
    const r = await cli(['export', '--limited', '--out', out('limited'), '--db', lake.db]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /LIMITED DATA SET: this is still PHI/);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(out('limited'), 'manifest.json'), 'utf8'),
    ) as ExportManifest;
    assert.equal(manifest.mode, 'limited');
    assert.match(manifest.notice, /data use agreement/);
    assert.deepEqual(manifest.tables['gold_claims']?.partitionBy, ['claim_year', 'claim_month']);
    const patients = await readParquet(out('limited'), 'gold_patients');
    const who = await pseudonymsOf(lake.db);
    const zip = new Map(patients.map((p) => [who.get(String(p['patient_id'])), p['zip5']]));
    assert.equal(zip.get(1), `${RESTRICTED[0] ?? ''}12`);
    assert.ok(
      patients.every(
        (p) => p['coverage_start_date'] instanceof Date || typeof p['coverage_start_date'] === 'string',
      ),
    );
    assert.ok(!('mrn' in (patients[0] ?? {})));
    const claims = await readParquet(out('limited'), 'gold_claims');
    assert.ok(claims.every((c) => c['claim_date'] !== null && c['claim_month'] !== undefined));
    assert.ok(
      filesUnder(out('limited')).some((f) =>
        /^gold_claims\/claim_year=2025\/claim_month=2025-\d\d\//.test(f),
      ),
    );
  });

  test('usage errors and a non-empty folder', async () => {
    assert.equal((await cli(['export', '--out', out('x'), '--db', lake.db])).code, 2);
    assert.equal(
      (await cli(['export', '--limited', '--deidentified', '--out', out('x'), '--db', lake.db])).code,
      2,
    );
    assert.equal((await cli(['export', '--limited', '--db', lake.db])).code, 2);
    const full = await cli(['export', '--limited', '--out', out('limited'), '--db', lake.db]);
    assert.equal(full.code, 1);
    assert.match(full.err, /not empty/);
    assert.equal(readAudit(auditPathFor(lake.db)).at(-1)?.status, 'FAILED');
    const file = out('a-file');
    fs.writeFileSync(file, 'x');
    const onFile = await cli(['export', '--limited', '--out', file, '--db', lake.db]);
    assert.equal(onFile.code, 1);
    assert.match(onFile.err, /a-file is a file, not a folder; choose a new folder for the export/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x', 'the file is left as it was');
    const none = await cli([
      'export',
      '--limited',
      '--out',
      out('y'),
      '--db',
      path.join(lake.dir, 'none.duckdb'),
    ]);
    assert.equal(none.code, 1);
    assert.match(none.err, /no lakehouse/);
  });
});
