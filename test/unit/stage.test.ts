/**
 * The staging SELECT computes derived values that name other derived values a layer later
 * (stageSql). The staged rows must be the ones one SELECT with lateral column aliases gives, where a
 * name that is also a landing column means the landing value: this test builds that single SELECT and
 * compares, on rows chosen where the two readings of a name differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATASETS } from '../../src/definitions/pipeline.ts';
import { LANDING_COLUMNS } from '../../src/definitions/entities.ts';
import { rawName, stageSql } from '../../src/definitions/stage-sql.ts';
import type { TransformDataset } from '../../src/definitions/model.ts';
import { duckdbDialect as d } from '../../src/dialect/duckdb.ts';
import { sqlStringLiteral as sqlString } from '../../src/dialect/dialect.ts';
import { Database } from '../../src/engine/database.ts';

const METADATA = ['_file_name', '_line_number', '_extracted_at', '_ingested_at', '_rescued_data'];
const OPTIONS = { runStartedAt: "TIMESTAMP '2026-01-03 00:00:00'", metadata: METADATA, dups: 'inline' };

/** Landing rows per entity; columns left out are NULL. */
const ROWS: Record<string, readonly Record<string, string | null>[]> = {
  patients: [
    // A landing MRN withheld as an SSN: the data quality score reads the landing value (present),
    // the derived MRN is NULL.
    {
      patient_id: 'E1',
      mrn: '[REDACTED]',
      first_name: 'Ann',
      last_name: 'Lee',
      date_of_birth: '1950-02-03',
      gender: 'F',
      state: 'CA',
      zip_code: '94110',
      phone: '415-555-0101',
      email: 'ann@example.com',
      insurance_id: 'M1',
      source_system: 'EHR_SYSTEM',
      bmi: '31.5',
      smoker: 'yes',
      children: '2',
      charges: '$1,200.50',
      insurance_plan: 'gold',
      coverage_start_date: '2020-01-01',
      city: 'SF',
      address_line1: '1 Main St',
    },
    {
      patient_id: 'E2',
      mrn: '  ',
      first_name: ' bob ',
      last_name: 'Ray',
      date_of_birth: '03/04/1930',
      gender: 'male',
      state: 'ny',
      zip_code: '10001-1234',
      phone: '1 (212) 555 0100',
      source_system: 'EHR_SYSTEM',
      bmi: 'n/a',
      smoker: '0',
    },
    {
      patient_id: 'A3',
      first_name: 'Cy',
      last_name: 'Ng',
      date_of_birth: '05-Jan-99',
      gender: '2',
      state: 'ZZ',
      source_system: 'ADT_SYSTEM',
      bmi: '15',
    },
    {
      patient_id: 'L4',
      first_name: null,
      last_name: 'Ito',
      date_of_birth: 'unknown',
      gender: null,
      source_system: 'LAB_SYSTEM',
    },
    {
      patient_id: 'E1',
      mrn: 'MRN-9',
      first_name: 'Ann',
      last_name: 'Lee',
      date_of_birth: '20000229',
      gender: 'f',
      source_system: 'EHR_SYSTEM',
    },
  ],
  claims: [
    {
      claim_id: 'C1',
      patient_id: 'E1',
      claim_amount: '100.00',
      claim_date: '2024-01-05',
      diagnosis_code: 'e119',
      procedure_code: '99283',
      claim_status: 'PAID',
      source_system: 'CLAIMS_SYSTEM',
    },
    {
      claim_id: 'C2',
      patient_id: 'E2',
      claim_amount: '-5',
      claim_date: '1/5/24',
      diagnosis_code: 'Z00.00',
      procedure_code: 'J3490',
      claim_status: 'denied',
      source_system: 'CLAIMS_SYSTEM',
    },
    {
      claim_id: 'C3',
      patient_id: 'E2',
      claim_amount: 'abc',
      claim_date: null,
      diagnosis_code: ' I10 ',
      procedure_code: 'a0428',
      claim_status: 'weird',
      source_system: 'CLAIMS_SYSTEM',
    },
    {
      claim_id: 'C3',
      patient_id: 'E9',
      diagnosis_code: 'Z13',
      procedure_code: '99223',
      source_system: 'CLAIMS_SYSTEM',
    },
  ],
  medical_events: [
    {
      event_id: 'V1',
      patient_id: 'A3',
      event_date: '2024-02-01',
      event_type: 'Lab Result',
      medical_provider: ' dr  x ',
      source_system: 'LAB_SYSTEM',
    },
    {
      event_id: 'V2',
      patient_id: 'A3',
      event_date: '20240201',
      event_type: 'ADMISSION',
      source_system: 'ADT_SYSTEM',
    },
    {
      event_id: 'V3',
      patient_id: 'L4',
      event_date: 'bad',
      event_type: 'telepathy',
      source_system: 'LAB_SYSTEM',
    },
    { event_id: 'V4', patient_id: 'L4', event_type: null, source_system: 'ADT_SYSTEM' },
  ],
};

/** The source relation: every landing column as text, and the bronze metadata. */
function sourceSql(entity: keyof typeof LANDING_COLUMNS): string {
  const landing: readonly string[] = LANDING_COLUMNS[entity];
  const rows = (ROWS[entity] ?? []).map((row, i) => {
    const values = landing.map((c) => {
      const v = row[c];
      return `CAST(${v === undefined || v === null ? 'NULL' : sqlString(v)} AS VARCHAR) AS ${d.ident(c)}`;
    });
    return `SELECT ${values.join(', ')}, 'f.csv' AS _file_name, ${i + 2} AS _line_number,
      TIMESTAMP '2026-01-02 03:04:05' AS _extracted_at, TIMESTAMP '2026-01-02 04:00:00' AS _ingested_at,
      CAST(NULL AS VARCHAR) AS _rescued_data, 'h' || ${i} AS ssn_hash, 'k1' AS _ssn_key_id`;
  });
  return rows.join(' UNION ALL ');
}

/** The staged rows as one SELECT with lateral column aliases gives them. */
function oneSelectSql(ds: TransformDataset, source: string): string {
  const carried = [...METADATA, ...(ds.entity === 'patients' ? ['ssn_hash', '_ssn_key_id'] : [])];
  const passThrough = LANDING_COLUMNS[ds.entity].map((c) =>
    rawName(ds, c) === c ? `s0.${d.ident(c)}` : `s0.${d.ident(c)} AS ${d.ident(rawName(ds, c))}`,
  );
  const lookups = ds.lookups.map(
    (l, i) =>
      `LEFT JOIN (SELECT DISTINCT ${l.column}${l.value ? `, ${l.value}` : ''} FROM ${l.table}) l${i} ON l${i}.${l.column} = s1.${l.on}`,
  );
  const lookupCols = ds.lookups.map((l, i) =>
    l.value ? `, l${i}.${l.value} AS ${l.name}` : `, l${i}.${l.column} IS NOT NULL AS ${l.name}`,
  );
  return `WITH s0 AS (${source}), s1 AS (SELECT ${[...passThrough, ...carried.map((c) => `s0.${c}`)].join(', ')},
    ${ds.derived.map((x) => `${x.sql(d)} AS ${d.ident(x.name)}`).join(', ')}
    FROM s0)
  SELECT s1.*${lookupCols.join('')} FROM s1 ${lookups.join(' ')}`;
}

test('staged rows are those of one SELECT with lateral aliases, landing names meaning landing values', async () => {
  const db = await Database.open(':memory:');
  try {
    await db.run(
      `CREATE TABLE ref_us_states AS SELECT * FROM (VALUES ('CA', 'West'), ('NY', 'Northeast')) t(state_code, region)`,
    );
    await db.run(`CREATE TABLE ref_icd10cm AS SELECT * FROM (VALUES ('E11.9'), ('I10'), ('Z00.00')) t(code)`);
    const transforms = DATASETS.filter((ds): ds is TransformDataset => ds.kind === 'transform');
    assert.deepEqual(
      transforms.map((ds) => ds.name),
      ['silver_patients', 'silver_claims', 'silver_medical_events'],
    );
    for (const ds of transforms) {
      const source = sourceSql(ds.entity);
      const staged = stageSql(d, ds, source, OPTIONS);
      // Every derived value that names another is computed in a later layer.
      assert.match(staged, /\bs1_1 AS \(/, `${ds.name} has a second layer`);
      const values = (relation: string): Promise<Record<string, unknown>[]> =>
        db.all(
          `SELECT ${[...ds.derived.map((x) => x.name), ...ds.lookups.map((l) => l.name)].map((n) => d.ident(n)).join(', ')}, _line_number
          FROM (${relation}) ORDER BY _line_number`,
        );
      const got = await values(staged);
      const want = await values(oneSelectSql(ds, source));
      assert.equal(got.length, ROWS[ds.entity]?.length);
      assert.deepEqual(got, want, ds.name);
    }
    // The case that tells the readings apart: the score counts the landing MRN, withheld or not.
    const patients = transforms[0];
    assert.ok(patients);
    const [first] = await db.all<{ mrn: string | null; data_quality_score: number }>(
      `SELECT mrn, data_quality_score FROM (${stageSql(d, patients, sourceSql('patients'), OPTIONS)}) WHERE _line_number = 2`,
    );
    assert.deepEqual(first, { mrn: null, data_quality_score: 1 });
  } finally {
    await db.close();
  }
});
