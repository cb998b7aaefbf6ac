import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, csvLine, parseCsvLine } from '../../src/generator/csv.ts';
import {
  alternativeDate,
  dayFromYmd,
  daysFromCivil,
  floorToMinute,
  isoDate,
  parseIsoDate,
  yearsBetween,
} from '../../src/generator/dates.ts';
import {
  formatPhone,
  formatSsn,
  isCleanName,
  nickname,
  swappedDayMonth,
  typo,
} from '../../src/generator/drift.ts';
import {
  adtId,
  claimId,
  ehrId,
  eventId,
  insuranceId,
  labId,
  mrn,
  orphanId,
  personId,
  personIndexOfLocalId,
  personIndexOfPersonId,
  MAX_PEOPLE,
} from '../../src/generator/ids.ts';
import { hash4, hashUnit, mix32, Rng, seedWords, Weighted } from '../../src/generator/prng.ts';
import { ByteSink } from '../../src/generator/byte-sink.ts';
import { numberTruthLines, parseTruthLine } from '../../src/generator/truth.ts';
import { defectKindsFor } from '../../src/generator/defects.ts';
import { creatingBatch, makeContext } from '../../src/generator/context.ts';

test('sfc32 streams are deterministic, independent per (stream, index, batch), and uniform', () => {
  const a = new Rng(1, 0, 2, 3);
  const b = new Rng(1, 0, 2, 3);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.nextU32()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 5 }, () => new Rng(1, 0, 2, 4).nextU32()),
  );
  assert.notEqual(new Rng(1, 0, 2, 3, 1).nextU32(), new Rng(1, 0, 2, 3, 2).nextU32());
  const r = new Rng(7);
  let sum = 0;
  let sq = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  assert.ok(Math.abs(sum / n) < 0.02 && Math.abs(sq / n - 1) < 0.03);
  let p = 0;
  for (let i = 0; i < 20_000; i++) p += r.poisson(2.5);
  assert.ok(Math.abs(p / 20_000 - 2.5) < 0.05);
  for (let i = 0; i < 1_000; i++) {
    const k = r.int(3, 5);
    assert.ok(k >= 3 && k <= 5);
  }
  assert.ok(r.chance(1) && !r.chance(0));
  assert.equal(mix32(0), 0);
  assert.notEqual(hash4(1, 2), hash4(2, 1));
  assert.ok(hashUnit(1, 2) >= 0 && hashUnit(1, 2) < 1);
  assert.deepEqual(seedWords(2 ** 32 + 5), [5, 1]);
});

test('Weighted samples by weight and rejects bad tables', () => {
  const w = new Weighted(['a', 'b', 'c'], [1, 2, 7]);
  const r = new Rng(3);
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 50_000; i++) {
    const k = w.sample(r);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  assert.ok(Math.abs((counts.c as number) / 50_000 - 0.7) < 0.01);
  assert.equal(w.indexFor(0), 0);
  assert.equal(w.indexFor(0.999999), 2);
  assert.throws(() => new Weighted([], []), /one positive weight/);
});

test('Weighted picks exactly what a binary search on the cumulative weights picks (the guide table changes no draw)', () => {
  // The draws of GENERATOR_VERSION 1.0.0 were made by this binary search: the first i with u < c[i].
  const reference = (c: readonly number[], u: number): number => {
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u < (c[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const r = new Rng(17);
  for (const weights of [
    [1],
    [5, 0, 5],
    [1, 2, 7],
    [0.001, 1000, 0.001, 3],
    Array.from({ length: 310 }, (_, i) => 1 / (i + 1) ** 0.75),
  ]) {
    const w = new Weighted(
      weights.map((_, i) => i),
      weights,
    );
    const total = weights.reduce((a, b) => a + b, 0);
    const c: number[] = [];
    let sum = 0;
    for (const x of weights) c.push((sum += x) / total);
    c[c.length - 1] = 1;
    // Random points, every cumulative boundary, its neighbours, and the slice edges of the guide.
    const points = [0, 1 - 2 ** -32, ...c, ...c.map((x) => x - 2 ** -40), ...c.map((x) => x + 2 ** -40)];
    for (let j = 0; j <= weights.length; j++) points.push(j / weights.length, j / weights.length - 2 ** -45);
    for (let k = 0; k < 20_000; k++) points.push(r.next());
    for (const u of points.filter((x) => x >= 0 && x < 1))
      assert.equal(w.indexFor(u), reference(c, u), `u = ${u}`);
  }
});

test('id schemes are distinct, unique and invertible; orphans belong to nobody', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    for (const id of [ehrId(i), adtId(i), labId(i)]) {
      assert.ok(!seen.has(id));
      seen.add(id);
    }
    assert.equal(personIndexOfLocalId(ehrId(i), 'EHR'), i);
    assert.equal(personIndexOfLocalId(adtId(i), 'ADT'), i);
    assert.equal(personIndexOfLocalId(labId(i), 'LAB'), i);
  }
  assert.match(ehrId(5), /^E\d{8}$/);
  assert.match(adtId(5), /^ADT\d{8}$/);
  assert.match(labId(5), /^LB\d{8}$/);
  assert.match(mrn(5), /^MRN\d{8}$/);
  assert.match(insuranceId(5), /^[A-Z]{2}\d{9}$/);
  assert.match(claimId(2, 5, 1), /^CLM002\d{8}001$/);
  assert.match(eventId(2, 5, 1), /^EV002\d{8}001$/);
  assert.equal(personId(0), 'P0000001');
  assert.equal(personIndexOfPersonId('P0000042'), 41);
  assert.equal(personIndexOfPersonId('X1'), undefined);
  for (const system of ['EHR', 'ADT', 'LAB'] as const) {
    const o = orphanId(system, 123_456);
    assert.ok((personIndexOfLocalId(o, system) as number) >= MAX_PEOPLE);
  }
  assert.equal(personIndexOfLocalId('E1234567', 'EHR'), undefined);
  assert.equal(personIndexOfLocalId('E1234567X', 'EHR'), undefined);
  assert.equal(personIndexOfLocalId('ADT12345678', 'EHR'), undefined);
});

test('CSV: quotes only when needed and parses back', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('$1,234.50'), '"$1,234.50"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField(' padded '), '" padded "');
  assert.equal(csvField(''), '');
  const line = csvLine(['a', 'b,c', 'd"e', '', ' f']);
  assert.equal(line, 'a,"b,c","d""e",," f"\n');
  assert.deepEqual(parseCsvLine(line.slice(0, -1)), ['a', 'b,c', 'd"e', '', ' f']);
  assert.deepEqual(parseCsvLine('"unterminated'), ['unterminated']);
  assert.deepEqual(parseCsvLine('x,"y"'), ['x', 'y']);
});

test('dates: ISO cache, strict parsing, alternatives, ages', () => {
  assert.equal(isoDate(0), '1970-01-01');
  assert.equal(isoDate(-40_000), new Date(-40_000 * 86_400_000).toISOString().slice(0, 10));
  assert.equal(parseIsoDate('2024-02-29'), dayFromYmd(2024, 2, 29));
  assert.equal(parseIsoDate('2023-02-29'), undefined);
  assert.equal(parseIsoDate('2023-13-01'), undefined);
  assert.equal(parseIsoDate('2023-1-01'), undefined);
  assert.equal(parseIsoDate('2023-01-0x'), undefined);
  assert.equal(dayFromYmd(2023, 2, 30), undefined);
  assert.equal(dayFromYmd(2023, 0, 1), undefined);
  assert.equal(daysFromCivil(2000, 3, 1), Date.UTC(2000, 2, 1) / 86_400_000);
  const day = dayFromYmd(2024, 3, 5) as number;
  assert.equal(alternativeDate(day, 0), '03/05/2024');
  assert.equal(alternativeDate(day, 1), '20240305');
  assert.equal(alternativeDate(day, 2), '05-MAR-2024');
  assert.match(alternativeDate(day, 3 + 4 * 13), /^2024-03-05T13:\d{2}:00Z$/);
  assert.equal(yearsBetween(dayFromYmd(2000, 6, 15) as number, dayFromYmd(2020, 6, 14) as number), 19);
  assert.equal(yearsBetween(dayFromYmd(2000, 6, 15) as number, dayFromYmd(2020, 6, 15) as number), 20);
  assert.equal(floorToMinute(new Date('2026-11-20T12:34:56.789Z')).toISOString(), '2026-11-20T12:34:00.000Z');
});

test('drift helpers keep values clean', () => {
  const r = new Rng(11);
  for (let i = 0; i < 500; i++) {
    const t = typo(r, 'Jennifer');
    assert.ok(isCleanName(t), t);
    assert.ok(Math.abs(t.length - 8) <= 1);
  }
  assert.equal(typo(r, 'Li'), 'Li');
  assert.ok(
    isCleanName("O'Brien") &&
      !isCleanName('TEST') &&
      !isCleanName('SMITH') &&
      !isCleanName(' Ann') &&
      isCleanName('A'),
  );
  assert.ok(
    ['Bill', 'Billy', 'Will', 'Willy', 'Willie', 'Liam', 'Wil', 'Bell'].includes(
      nickname(r, 'William') ?? '',
    ),
  );
  assert.equal(nickname(r, 'Zzyzx'), undefined);
  assert.equal(swappedDayMonth(dayFromYmd(1980, 3, 7) as number), dayFromYmd(1980, 7, 3));
  assert.equal(swappedDayMonth(dayFromYmd(1980, 3, 17) as number), undefined);
  assert.equal(swappedDayMonth(dayFromYmd(1980, 4, 4) as number), undefined);
  assert.equal(formatPhone('2125550147', 'dashed'), '212-555-0147');
  assert.equal(formatPhone('2125550147', 'parens'), '(212) 555-0147');
  assert.equal(formatPhone('2125550147', 'dotted'), '212.555.0147');
  assert.equal(formatPhone('2125550147', 'digits'), '2125550147');
  assert.equal(formatPhone('2125550147', 'e164'), '+12125550147');
  assert.equal(formatSsn('912345678', true), '912-34-5678');
  assert.equal(formatSsn('912345678', false), '912345678');
});

test('byte sink, truth numbering and parsing, defect kinds per entity, batch lookup', () => {
  const sink = new ByteSink(4);
  sink.write('abc,');
  sink.write('defghij\n');
  assert.equal(sink.bytes().toString(), 'abc,defghij\n');
  assert.equal(
    numberTruthLines(Buffer.from('K1,P0000001,\nK2,P0000002,date_format\n'), 9).toString(),
    '9,K1,P0000001,\n10,K2,P0000002,date_format\n',
  );
  // A last line without its line feed is numbered too (given the line count), across a new digit.
  assert.equal(
    numberTruthLines(Buffer.from('K1,P0000001,\nK2,P0000002,'), 99, 2).toString(),
    '99,K1,P0000001,\n100,K2,P0000002,',
  );
  assert.throws(() => numberTruthLines(Buffer.from('K1,P0000001,\n'), 9, 2), /has 1 lines, expected 2/);
  assert.deepEqual(parseTruthLine('f.csv', 'claims', '9,CLM1,P0000003,bad_amount;date_format').defects, [
    'bad_amount',
    'date_format',
  ]);
  assert.deepEqual(parseTruthLine('f.csv', 'claims', '9,CLM1,P0000003,').defects, []);
  assert.ok(defectKindsFor('patients', true).includes('test_patient'));
  assert.ok(!defectKindsFor('patients', false).includes('test_patient'));
  assert.ok(!defectKindsFor('patients', false).includes('malformed_line'));
  assert.equal(defectKindsFor('medical_events').length, 5);
  assert.equal(defectKindsFor('claims').length, 12);
  const ctx = makeContext({
    seed: 1,
    batch: 1,
    asOfMs: 0,
    asOfDay: 0,
    previousAsOfDay: undefined,
    defectRate: 0,
    adtShare: 0.5,
    labShare: 0.5,
    changeShare: 0,
    activityShare: 0,
    batches: [{ batch: 1, asOfDay: 0, peopleStart: 0, peopleEnd: 10, changeShare: 0, activityShare: 0 }],
  });
  assert.equal(creatingBatch(ctx, 3).batch, 1);
  assert.throws(() => creatingBatch(ctx, 10), /belongs to no batch/);
});
