import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { generate, type GenerateSummary } from '../../src/generator/generate.ts';
import { parseCsvLine } from '../../src/generator/csv.ts';
import { referencePath } from '../../src/reference/paths.ts';
import { COMMON_ICD10 } from '../../src/generator/tables/codes.ts';
import { referenceData } from '../../src/generator/reference-data.ts';
import { parseIsoDate } from '../../src/generator/dates.ts';
import { AS_OF, joinBatch, mean, sd, share, type JoinedRow } from './helpers.ts';
import type { Entity } from '../../src/definitions/entities.ts';

const PEOPLE = 20_000;
let summary: GenerateSummary;
let rows: Record<Entity, JoinedRow[]>;
let ehr: JoinedRow[];
const asOfDay = Math.floor(AS_OF.getTime() / 86_400_000);

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'carelake-dist-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  summary = await generate({
    patients: PEOPLE,
    seed: 2024,
    asOf: AS_OF,
    outDir: path.join(dir, 'landing'),
    truthDir: path.join(dir, 'truth'),
    defectRate: 0,
  });
  rows = await joinBatch(summary);
  ehr = rows.patients.filter((r) => r.fields[14] === 'EHR_SYSTEM');
});

const age = (r: JoinedRow): number => (asOfDay - (parseIsoDate(r.fields[4] as string) as number)) / 365.2425;

test('one EHR record per person; ADT and LAB records for about 60 % and 55 %', () => {
  assert.equal(ehr.length, PEOPLE);
  assert.equal(new Set(ehr.map((r) => r.truth.personId)).size, PEOPLE);
  const adt = rows.patients.filter((r) => r.fields[14] === 'ADT_SYSTEM').length / PEOPLE;
  const lab = rows.patients.filter((r) => r.fields[14] === 'LAB_SYSTEM').length / PEOPLE;
  assert.ok(Math.abs(adt - 0.6) < 0.015, `ADT share ${adt}`);
  assert.ok(Math.abs(lab - 0.55) < 0.015, `LAB share ${lab}`);
});

test('age ~ Normal(45, 15) within [0, 105]; BMI ~ Normal(28, 6) within [16, 50] with one decimal', () => {
  const ages = ehr.map(age);
  assert.ok(Math.abs(mean(ages) - 45) < 0.5, `mean age ${mean(ages)}`);
  assert.ok(Math.abs(sd(ages) - 15) < 0.5, `sd age ${sd(ages)}`);
  assert.ok(Math.min(...ages) >= 0 && Math.max(...ages) <= 106);
  const bmi = ehr.map((r) => Number(r.fields[15]));
  assert.ok(Math.abs(mean(bmi) - 28) < 0.25, `mean BMI ${mean(bmi)}`);
  assert.ok(sd(bmi) > 5.5 && sd(bmi) < 6.2, `sd BMI ${sd(bmi)}`);
  assert.ok(bmi.every((b) => b >= 16 && b <= 50));
  assert.ok(ehr.every((r) => /^\d{2}\.\d$/.test(r.fields[15] as string)));
});

test('smokers ~17 %, children skewed 0:43 % 1:24 % 2:18 % 3:12 % 4:2 % 5:1 % among adults', () => {
  const smokers = share(ehr, (r) => r.fields[16] === 'true');
  assert.ok(smokers > 0.15 && smokers < 0.2, `smokers ${smokers}`);
  const adults = ehr.filter((r) => age(r) >= 18.1);
  const expected = [0.43, 0.24, 0.18, 0.12, 0.02, 0.01];
  expected.forEach((p, k) => {
    const got = share(adults, (r) => r.fields[17] === String(k));
    assert.ok(Math.abs(got - p) < 0.015, `children=${k}: ${got} vs ${p}`);
  });
  assert.ok(ehr.filter((r) => age(r) < 17.9).every((r) => r.fields[17] === '0'));
});

test('charges follow the OLS premium: smokers pay far more, all above the floor, two decimals', () => {
  const charges = (pred: (r: JoinedRow) => boolean): number[] =>
    ehr.filter(pred).map((r) => Number(r.fields[18]));
  const smokers = mean(charges((r) => r.fields[16] === 'true'));
  const non = mean(charges((r) => r.fields[16] === 'false'));
  assert.ok(smokers - non > 20_000 && smokers - non < 27_000, `smoker premium ${smokers - non}`);
  assert.ok(ehr.every((r) => /^\d+\.\d{2}$/.test(r.fields[18] as string) && Number(r.fields[18]) >= 1_100));
  const old = mean(charges((r) => age(r) > 60 && r.fields[16] === 'false'));
  const young = mean(charges((r) => age(r) < 30 && age(r) > 20 && r.fields[16] === 'false'));
  assert.ok(old > young + 5_000, `age effect ${old} vs ${young}`);
});

test('regions follow the population: South ~38 %, West ~24 %, Midwest ~21 %, Northeast ~17 %', () => {
  const region = new Map<string, string>();
  for (const l of readFileSync(referencePath('us_states_regions.csv'), 'utf8').split('\n').slice(1)) {
    const f = parseCsvLine(l);
    if (f[3]) region.set(f[0] as string, f[3]);
  }
  const expected: Record<string, number> = { South: 0.38, West: 0.24, Midwest: 0.21, Northeast: 0.17 };
  for (const [name, p] of Object.entries(expected)) {
    const got = share(ehr, (r) => region.get(r.fields[8] as string) === name);
    assert.ok(Math.abs(got - p) < 0.015, `${name}: ${got}`);
  }
  assert.ok(new Set(ehr.map((r) => r.fields[8])).size >= 50, 'most states appear');
});

test('SSNs are synthetic (area 900–999); plans, ids and coverage are well formed', () => {
  assert.ok(ehr.every((r) => /^9\d{2}-?\d{2}-?\d{4}$/.test(r.fields[12] as string)));
  const undashed = share(ehr, (r) => !(r.fields[12] as string).includes('-'));
  assert.ok(undashed > 0.01 && undashed < 0.06, `undashed SSN share ${undashed}`);
  assert.ok(ehr.every((r) => /^E\d{8}$/.test(r.fields[0] as string)));
  assert.equal(new Set(ehr.map((r) => r.fields[0])).size, PEOPLE);
  assert.ok(ehr.every((r) => ['HMO', 'PPO', 'EPO', 'POS', 'HDHP'].includes(r.fields[19] as string)));
  for (const r of ehr) {
    const cov = parseIsoDate(r.fields[20] as string) as number;
    assert.ok(cov >= (parseIsoDate(r.fields[4] as string) as number) && cov <= asOfDay);
  }
});

test('ADT/LAB copies drift: missing SSN ~40 %, nicknames, typos, moves, other phone formats', () => {
  const ehrByPerson = new Map(ehr.map((r) => [r.truth.personId, r]));
  const copies = rows.patients.filter((r) => r.fields[14] !== 'EHR_SYSTEM');
  const missing = share(copies, (r) => r.fields[12] === '');
  assert.ok(Math.abs(missing - 0.4) < 0.02, `missing SSN ${missing}`);
  const firstDiffers = share(copies, (r) => r.fields[2] !== ehrByPerson.get(r.truth.personId)?.fields[2]);
  assert.ok(firstDiffers > 0.1 && firstDiffers < 0.35, `first name drift ${firstDiffers}`);
  const moved = share(copies, (r) => r.fields[6] !== ehrByPerson.get(r.truth.personId)?.fields[6]);
  assert.ok(moved > 0.08 && moved < 0.16, `moved ${moved}`);
  assert.ok(copies.some((r) => /^\(\d{3}\) /.test(r.fields[10] as string)));
  assert.ok(copies.some((r) => /^\+1\d{10}$/.test(r.fields[10] as string)));
  assert.ok(copies.every((r) => r.fields.slice(15).every((v) => v === '')));
  const ids = new Set(copies.map((r) => r.fields[0]));
  assert.equal(ids.size, copies.length, 'local ids are unique');
  assert.ok(
    copies.every((r) => (r.fields[0] as string).length >= 5 && !(r.fields[0] as string).startsWith('E')),
  );
});

test('twins and Jr./Sr. pairs: ~1 % of people each, sharing what they should', () => {
  const byIndex = new Map(ehr.map((r) => [Number(r.truth.personId.slice(1)) - 1, r]));
  let twins = 0;
  let juniors = 0;
  for (let i = 0; i + 1 < PEOPLE; i += 2) {
    const a = byIndex.get(i)?.fields as string[];
    const b = byIndex.get(i + 1)?.fields as string[];
    if (a[3] !== b[3] || a[6] !== b[6] || a[9] !== b[9]) continue;
    if (a[4] === b[4] && a[2] !== b[2]) {
      twins++;
      assert.equal(a[10], b[10], 'twins share the phone');
      assert.notEqual(a[12]?.replace(/-/g, ''), b[12]?.replace(/-/g, ''), 'twins have their own SSN');
    } else if (a[2] === b[2]) {
      const gap =
        Math.abs((parseIsoDate(a[4] as string) as number) - (parseIsoDate(b[4] as string) as number)) /
        365.2425;
      if (gap >= 24.9 && gap <= 35.1) juniors++;
    }
  }
  assert.ok(twins >= 30 && twins <= 75, `twin pairs ${twins}`);
  assert.ok(juniors >= 30 && juniors <= 75, `Jr./Sr. pairs ${juniors}`);
});

test('claims: ~3.5 per person, statuses 62/12/18/8 %, common ICD codes carry most of the mass', () => {
  const perPerson = rows.claims.length / PEOPLE;
  assert.ok(Math.abs(perPerson - 3.5) < 0.08, `claims per person ${perPerson}`);
  const expected: Record<string, number> = { paid: 0.62, approved: 0.12, denied: 0.18, submitted: 0.08 };
  for (const [status, p] of Object.entries(expected)) {
    const got = share(rows.claims, (r) => r.fields[6] === status);
    assert.ok(Math.abs(got - p) < 0.015, `${status}: ${got}`);
  }
  const common = new Set(COMMON_ICD10.map((c) => c[0]));
  const commonShare = share(rows.claims, (r) => common.has(r.fields[4] as string));
  assert.ok(commonShare > 0.78 && commonShare < 0.83, `common ICD share ${commonShare}`);
  const top = share(rows.claims, (r) => r.fields[4] === 'I10');
  assert.ok(top > 0.08, `I10 share ${top}`);
  const icd = referenceData().icdSet;
  assert.ok(rows.claims.every((r) => icd.has(r.fields[4] as string)));
  assert.ok(new Set(rows.claims.map((r) => r.fields[4])).size > 2_000, 'the tail spans the whole list');
  const hcpcs = share(rows.claims, (r) => /^[A-Z]\d{4}$/.test(r.fields[5] as string));
  assert.ok(hcpcs > 0.25 && hcpcs < 0.31, `HCPCS share ${hcpcs}`);
  const amounts = rows.claims.map((r) => Number(r.fields[2]));
  assert.ok(amounts.every((a) => a > 0 && a < 1_000_000));
  const em = (code: string): number =>
    mean(rows.claims.filter((r) => r.fields[5] === code).map((r) => Number(r.fields[2])));
  assert.ok(em('99215') > em('99213') && em('99213') > em('99211'), 'amounts depend on the procedure');
  assert.equal(new Set(rows.claims.map((r) => r.fields[0])).size, rows.claims.length, 'claim ids are unique');
});

test('events: ~5.5 per person, only for ADT/LAB records, plausible stays, ~30 % of lab results without provider', () => {
  const perPerson = rows.medical_events.length / PEOPLE;
  assert.ok(Math.abs(perPerson - 5.5) < 0.15, `events per person ${perPerson}`);
  const labs = rows.medical_events.filter((r) => r.fields[3] === 'lab_result');
  const empty = share(labs, (r) => r.fields[4] === '');
  assert.ok(Math.abs(empty - 0.3) < 0.02, `lab results without provider ${empty}`);
  assert.ok(
    rows.medical_events
      .filter((r) => r.fields[3] !== 'lab_result')
      .every((r) => (r.fields[4] as string).length > 0),
  );
  assert.ok(rows.medical_events.some((r) => (r.fields[4] as string).startsWith('Dr. ')));
  const byPerson = new Map<string, JoinedRow[]>();
  for (const r of rows.medical_events) {
    const list = byPerson.get(r.fields[1] as string) ?? [];
    list.push(r);
    byPerson.set(r.fields[1] as string, list);
  }
  const stays: number[] = [];
  for (const list of byPerson.values()) {
    for (let i = 0; i + 1 < list.length; i++) {
      const a = list[i] as JoinedRow;
      const b = list[i + 1] as JoinedRow;
      if (a.fields[3] !== 'admission') continue;
      assert.equal(b.fields[3], 'discharge');
      assert.equal(a.fields[4], b.fields[4], 'same facility');
      stays.push(
        (parseIsoDate(b.fields[2] as string) as number) - (parseIsoDate(a.fields[2] as string) as number),
      );
    }
  }
  assert.ok(stays.length > 1_000);
  assert.ok(stays.every((d) => d >= 0 && d <= 30));
  const sorted = [...stays].sort((x, y) => x - y);
  assert.ok((sorted[Math.floor(sorted.length / 2)] as number) <= 4, 'stays are skewed short');
  const types = new Set(rows.medical_events.map((r) => r.fields[3]));
  assert.deepEqual([...types].sort(), [
    'admission',
    'clinical_note',
    'discharge',
    'lab_result',
    'vital_signs',
  ]);
  assert.equal(new Set(rows.medical_events.map((r) => r.fields[0])).size, rows.medical_events.length);
});

test('dates are bounded: claims after coverage start, events not before birth, nothing after as-of', () => {
  const ehrByPerson = new Map(ehr.map((r) => [r.truth.personId, r]));
  for (const r of rows.claims) {
    const day = parseIsoDate(r.fields[3] as string) as number;
    const p = ehrByPerson.get(r.truth.personId) as JoinedRow;
    assert.ok(
      day <= asOfDay && day >= (parseIsoDate(p.fields[20] as string) as number),
      `claim ${r.fields[0]}`,
    );
    assert.equal(r.fields[1], p.fields[0], 'a claim references the EHR id of its person');
  }
  for (const r of rows.medical_events) {
    const day = parseIsoDate(r.fields[2] as string) as number;
    const p = ehrByPerson.get(r.truth.personId) as JoinedRow;
    assert.ok(
      day <= asOfDay && day >= (parseIsoDate(p.fields[4] as string) as number),
      `event ${r.fields[0]}`,
    );
  }
});

test('every common ICD-10-CM code of the curated list is in the shipped code list', () => {
  const icd = referenceData().icdSet;
  for (const [code] of COMMON_ICD10) assert.ok(icd.has(code), code);
  assert.ok(COMMON_ICD10.length >= 40);
});
