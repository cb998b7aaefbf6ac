/**
 * gold_patients SCD type 2 over successive extracts (D8), and late-arriving patients (D4): parked claims
 * land once their patient arrives; with no grace period they are quarantined as orphans.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  T0,
  claimRow,
  csvText,
  hoursAfter,
  makeLakehouse,
  patientRow,
  query,
  run,
  writeLandingFile,
  type Lakehouse,
  type Row,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';
import { Database } from '../../src/engine/database.ts';

const lakes = lakehousesRemovedAfterwards();

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) m.set(key(it), [...(m.get(key(it)) ?? []), it]);
  return m;
}

type Version = {
  src: string;
  patient_id: string;
  effective_from: string;
  effective_to: string | null;
  is_current: boolean;
  bmi: number | null;
  insurance_plan: string | null;
  region: string | null;
  age_years: number;
};

async function versions(db: string): Promise<Version[]> {
  return query<Version>(
    db,
    `SELECT m.source_patient_id AS src, g.patient_id, CAST(g.effective_from AS VARCHAR) AS effective_from,
       CAST(g.effective_to AS VARCHAR) AS effective_to, g.is_current, g.bmi, g.insurance_plan, g.region, g.age_years
     FROM gold_patients g JOIN silver_resolved_identity_resolution m ON m.patient_id = g.patient_id
     ORDER BY src, g.effective_from`,
  );
}

/** The SCD2 invariants: one current row per patient, windows chain without gap or overlap. */
function assertInvariants(vs: Version[], label: string): void {
  const by = groupBy(vs, (v) => v.patient_id);
  for (const [pid, list] of by) {
    assert.equal(list.filter((v) => v.is_current).length, 1, `${label}: ${pid} has exactly one current row`);
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      const next = list[i + 1];
      assert.ok(v);
      if (next) {
        assert.equal(v.effective_to, next.effective_from, `${label}: ${pid} windows chain`);
        assert.ok(v.effective_from < next.effective_from, `${label}: ${pid} windows do not overlap`);
        assert.equal(v.is_current, false);
      } else {
        assert.equal(v.effective_to, null, `${label}: ${pid} last version is open`);
        assert.equal(v.is_current, true);
      }
    }
  }
}

const DAY = 24;
const base = (i: number, o: Partial<Row> = {}): Row =>
  patientRow(i, { smoker: 'no', bmi: '22.0', date_of_birth: `198${i % 10}-06-15`, ...o });

describe('gold_patients SCD2', () => {
  test('versions open only on tracked changes; windows chain; one current row', async () => {
    const lake = makeLakehouse();
    lakes.push(lake);
    // 1 never changes; 2 changes bmi twice; 3 changes plan once; 4 moves TX→FL (same region) then FL→CA
    // (new region); 5 only has a birthday between extracts; 6 skips an extract.
    const p5 = { date_of_birth: '1980-02-01' };
    const batches: Row[][] = [
      [base(1), base(2), base(3, { insurance_plan: 'PPO' }), base(4, { state: 'TX' }), base(5, p5), base(6)],
      [
        base(1),
        base(2, { bmi: '27.0' }),
        base(3, { insurance_plan: 'PPO' }),
        base(4, { state: 'FL' }),
        base(5, p5),
      ],
      [
        base(1),
        base(2, { bmi: '27.0' }),
        base(3, { insurance_plan: 'HMO' }),
        base(4, { state: 'CA' }),
        base(5, p5),
        base(6),
      ],
      [
        base(1),
        base(2, { bmi: '31.5' }),
        base(3, { insurance_plan: 'HMO' }),
        base(4, { state: 'CA' }),
        base(5, p5),
        base(6),
      ],
    ];
    const expected = [
      { E00000001: 1, E00000002: 1, E00000003: 1, E00000004: 1, E00000005: 1, E00000006: 1 },
      { E00000001: 1, E00000002: 2, E00000003: 1, E00000004: 1, E00000005: 1, E00000006: 1 },
      { E00000001: 1, E00000002: 2, E00000003: 2, E00000004: 2, E00000005: 1, E00000006: 1 },
      { E00000001: 1, E00000002: 3, E00000003: 2, E00000004: 2, E00000005: 1, E00000006: 1 },
    ];
    for (const [b, rows] of batches.entries()) {
      const at = hoursAfter(T0, b * 30 * DAY);
      writeLandingFile(lake.landing, 'patients', at, csvText('patients', rows));
      const r = await run(lake);
      assert.equal(r.status, 'COMPLETED', r.error);
      const vs = await versions(lake.db);
      assertInvariants(vs, `after extract ${b + 1}`);
      const counts = Object.fromEntries(
        [...groupBy(vs, (v) => v.src)].map(([src, list]) => [src, list.length]),
      );
      assert.deepEqual(counts, expected[b], `versions per patient after extract ${b + 1}`);
    }
    const vs = await versions(lake.db);
    const of = (src: string): Version[] => vs.filter((v) => v.src === src);
    assert.deepEqual(
      of('E00000002').map((v) => v.bmi),
      [22, 27, 31.5],
    );
    assert.deepEqual(
      of('E00000004').map((v) => v.region),
      ['South', 'West'],
    );
    assert.equal(
      of('E00000004')[1]?.effective_from,
      '2026-03-06 10:00:00',
      'the region change is effective at extract 3',
    );
    assert.deepEqual(
      of('E00000003').map((v) => v.insurance_plan),
      ['PPO', 'HMO'],
    );
    // Patient 5 aged from 45 to 46 (birthday 1 Feb) without a new version; silver has the new age.
    const p5v = of('E00000005');
    assert.equal(p5v.length, 1);
    const silverAges = await query<{ age_years: number }>(
      lake.db,
      `SELECT s.age_years FROM silver_patients s JOIN silver_resolved_identity_resolution m ON m.patient_id = s.patient_id
       WHERE m.source_patient_id = 'E00000005' ORDER BY s.effective_date`,
    );
    assert.deepEqual(
      silverAges.map((a) => a.age_years),
      [45, 46, 46, 46],
    );
    // A rerun changes nothing.
    const again = await run(lake);
    assert.equal(again.status, 'COMPLETED');
    assert.deepEqual(await versions(lake.db), vs);
  });

  test('a first load gives each patient one open version, or sequences several extracts delivered before it', async () => {
    const first = [base(1), base(2, { bmi: '25.0' }), base(3, { state: 'TX' })];
    const second = [base(1), base(2, { bmi: '27.0' }), base(3, { state: 'CA' }), base(4)];
    // One extract: a version per patient, open, from the extract time.
    const one = makeLakehouse();
    lakes.push(one);
    writeLandingFile(one.landing, 'patients', T0, csvText('patients', first));
    assert.equal((await run(one)).status, 'COMPLETED');
    const single = await versions(one.db);
    assertInvariants(single, 'one extract');
    assert.deepEqual(
      single.map((v) => [v.src, v.effective_from, v.effective_to, v.is_current, v.bmi, v.region]),
      [
        ['E00000001', '2026-01-05 10:00:00', null, true, 22, 'South'],
        ['E00000002', '2026-01-05 10:00:00', null, true, 25, 'South'],
        ['E00000003', '2026-01-05 10:00:00', null, true, 22, 'South'],
      ],
    );
    // Two extracts in the first update give the versions two updates give.
    const together = makeLakehouse();
    const apart = makeLakehouse();
    lakes.push(together, apart);
    for (const [b, rows] of [first, second].entries()) {
      const at = hoursAfter(T0, b * 30 * DAY);
      writeLandingFile(together.landing, 'patients', at, csvText('patients', rows));
      writeLandingFile(apart.landing, 'patients', at, csvText('patients', rows));
      assert.equal((await run(apart)).status, 'COMPLETED');
    }
    assert.equal((await run(together)).status, 'COMPLETED');
    const strip = (vs: Version[]): unknown[] => vs.map(({ patient_id: _p, ...rest }) => rest);
    const both = await versions(together.db);
    assertInvariants(both, 'two extracts in one update');
    assert.deepEqual(strip(both), strip(await versions(apart.db)));
    assert.deepEqual(
      both.map((v) => [v.src, v.is_current]),
      [
        ['E00000001', true],
        ['E00000002', false],
        ['E00000002', true],
        ['E00000003', false],
        ['E00000003', true],
        ['E00000004', true],
      ],
    );
  });
});

describe('late-arriving patients', () => {
  const claimsFor = (ids: number[]): string =>
    csvText(
      'claims',
      ids.map((i, k) => claimRow(k + 1, i)),
    );

  /** Patient 1 and claims for patients 1 and 20, run with a 48 h grace: the second claim is parked. */
  async function claimWaitingForPatient20(): Promise<{
    lake: Lakehouse;
    r1: Awaited<ReturnType<typeof run>>;
  }> {
    const lake = makeLakehouse();
    lakes.push(lake);
    writeLandingFile(lake.landing, 'patients', T0, csvText('patients', [base(1)]));
    writeLandingFile(lake.landing, 'claims', T0, claimsFor([1, 20]));
    const r1 = await run(lake, { orphanGraceHours: 48 });
    assert.equal(r1.status, 'COMPLETED', r1.error);
    return { lake, r1 };
  }

  test('a claim whose patient arrives later is parked, then lands in silver and gold', async () => {
    const { lake, r1 } = await claimWaitingForPatient20();
    const parked = await query<{ file_name: string; line_number: number; attempts: number }>(
      lake.db,
      `SELECT file_name, line_number, attempts FROM parked_rows WHERE dataset = 'silver_claims'`,
    );
    assert.deepEqual(parked, [{ file_name: 'claims_260105_1000.csv', line_number: 3, attempts: 1 }]);
    const acc = r1.accounting.find((a) => a.dataset === 'silver_claims');
    assert.deepEqual(acc && [acc.rows_in, acc.rows_out, acc.rows_quarantined, acc.rows_parked], [2, 1, 0, 1]);
    assert.deepEqual(await query(lake.db, `SELECT claim_id FROM gold_claims ORDER BY 1`), [
      { claim_id: 'C00000001' },
    ]);

    // An update that does not bring patient 20: the claim waits on, one attempt more, its record kept.
    writeLandingFile(lake.landing, 'patients', hoursAfter(T0, 1), csvText('patients', [base(2)]));
    const waiting = await run(lake, { orphanGraceHours: 48 });
    assert.equal(waiting.status, 'COMPLETED', waiting.error);
    assert.deepEqual(
      await query(
        lake.db,
        `SELECT p.line_number, p.attempts, p.record::VARCHAR = to_json(b)::VARCHAR AS same FROM parked_rows p
         JOIN bronze_claims b ON b._file_name = p.file_name AND b._line_number = p.line_number`,
      ),
      [{ line_number: 3, attempts: 2, same: true }],
    );
    const accWaiting = waiting.accounting.find((a) => a.dataset === 'silver_claims');
    assert.deepEqual(
      accWaiting && [
        accWaiting.rows_in,
        accWaiting.rows_out,
        accWaiting.rows_quarantined,
        accWaiting.rows_parked,
      ],
      [1, 0, 0, 1],
    );

    writeLandingFile(lake.landing, 'patients', hoursAfter(T0, 2), csvText('patients', [base(20)]));
    const r2 = await run(lake, { orphanGraceHours: 48 });
    assert.equal(r2.status, 'COMPLETED', r2.error);
    assert.deepEqual(await query(lake.db, 'SELECT * FROM parked_rows'), []);
    const landed = await query<{ claim_id: string; src: string }>(
      lake.db,
      `SELECT g.claim_id, m.source_patient_id AS src FROM gold_claims g
       JOIN silver_claims s USING (claim_id)
       JOIN silver_resolved_identity_resolution m ON m.patient_id = g.patient_id ORDER BY 1`,
    );
    assert.deepEqual(landed, [
      { claim_id: 'C00000001', src: 'E00000001' },
      { claim_id: 'C00000002', src: 'E00000020' },
    ]);
    assert.deepEqual(await query(lake.db, `SELECT * FROM quarantine WHERE dataset = 'silver_claims'`), []);
  });

  test('a parked claim keeps its bronze row; a database from before that (schema 2) is migrated and the claim still lands', async () => {
    const { lake } = await claimWaitingForPatient20();
    const [kept] = await query<{ claim_id: string; patient_id: string; line: number; file: string }>(
      lake.db,
      `SELECT record->>'claim_id' AS claim_id, record->>'patient_id' AS patient_id,
         CAST(record->>'_line_number' AS INTEGER) AS line, record->>'_file_name' AS file FROM parked_rows`,
    );
    assert.deepEqual(kept, {
      claim_id: 'C00000002',
      patient_id: 'E00000020',
      line: 3,
      file: 'claims_260105_1000.csv',
    });
    // It is the bronze row, column for column.
    assert.deepEqual(
      await query(
        lake.db,
        `SELECT p.record::VARCHAR = to_json(b)::VARCHAR AS same FROM parked_rows p
         JOIN bronze_claims b ON b._file_name = p.file_name AND b._line_number = p.line_number`,
      ),
      [{ same: true }],
    );
    // The same database as schema 2 wrote it: parked rows were pointers into bronze only.
    const old = await Database.open(lake.db);
    try {
      await old.run(`ALTER TABLE parked_rows DROP COLUMN record`);
      await old.run(`UPDATE carelake_meta SET value = '2' WHERE key = 'schema_version'`);
    } finally {
      old.close();
    }
    writeLandingFile(lake.landing, 'patients', hoursAfter(T0, 1), csvText('patients', [base(20)]));
    const r2 = await run(lake, { orphanGraceHours: 48 });
    assert.equal(r2.status, 'COMPLETED', r2.error);
    assert.deepEqual(await query(lake.db, 'SELECT * FROM parked_rows'), []);
    assert.deepEqual(await query(lake.db, `SELECT claim_id FROM gold_claims ORDER BY 1`), [
      { claim_id: 'C00000001' },
      { claim_id: 'C00000002' },
    ]);
    const acc = r2.accounting.find((a) => a.dataset === 'silver_claims');
    assert.deepEqual(acc && [acc.rows_in, acc.rows_out, acc.rows_quarantined, acc.rows_parked], [1, 1, 0, 0]);
  });

  test('with no grace period the claim is quarantined as orphan_patient_reference', async () => {
    const lake = makeLakehouse();
    lakes.push(lake);
    writeLandingFile(lake.landing, 'patients', T0, csvText('patients', [base(1)]));
    writeLandingFile(lake.landing, 'claims', T0, claimsFor([1, 20]));
    const r1 = await run(lake, { orphanGraceHours: 0 });
    assert.equal(r1.status, 'COMPLETED', r1.error);
    assert.deepEqual(await query(lake.db, 'SELECT * FROM parked_rows'), []);
    const q = await query<{ rules: string[]; file_name: string; line_number: number }>(
      lake.db,
      `SELECT rules, file_name, line_number FROM quarantine WHERE dataset = 'silver_claims'`,
    );
    assert.deepEqual(q, [
      { rules: ['orphan_patient_reference'], file_name: 'claims_260105_1000.csv', line_number: 3 },
    ]);
    // The patient arriving later does not resurrect a quarantined orphan (nor double-count it).
    writeLandingFile(lake.landing, 'patients', hoursAfter(T0, 1), csvText('patients', [base(20)]));
    const r2 = await run(lake, { orphanGraceHours: 0 });
    assert.equal(r2.status, 'COMPLETED', r2.error);
    assert.deepEqual(await query(lake.db, `SELECT claim_id FROM gold_claims`), [{ claim_id: 'C00000001' }]);
  });
});
