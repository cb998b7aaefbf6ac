import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { generate } from '../../src/generator/generate.ts';
import { readManifest } from '../../src/generator/manifest.ts';
import { AS_OF, allTruth, joinBatch, tempDir } from './helpers.ts';

test('incremental batches add people, changes and activity consistently with the ground truth', async (t) => {
  const dir = tempDir(t);
  const outDir = path.join(dir, 'landing');
  const truthDir = path.join(dir, 'truth');
  const b1 = await generate({ patients: 4_000, seed: 8, asOf: AS_OF, outDir, truthDir, defectRate: 0 });
  const asOf2 = new Date('2026-11-27T08:30:00Z');
  const b2 = await generate({
    patients: 300,
    asOf: asOf2,
    outDir,
    truthDir,
    incremental: true,
    defectRate: 0,
  });
  assert.equal(b2.batch, 2);
  assert.equal(b2.seed, 8, 'the data set keeps its seed');
  assert.equal(b2.people.created, 300);
  assert.equal(b2.people.total, 4_300);
  assert.ok(b2.people.changed > 60 && b2.people.changed < 190, `changed ${b2.people.changed}`);
  assert.ok(b2.people.active > 220 && b2.people.active < 420, `active ${b2.people.active}`);
  assert.equal(b2.files[0]?.fileName, 'patients_261127_0830.csv');

  const r1 = await joinBatch(b1);
  const all = await joinBatch(b2); // the truth of both batches, rows of batch 2
  const batch2 = {
    patients: all.patients.filter((r) => r.fileName.includes('261127')),
    claims: all.claims,
    medical_events: all.medical_events,
  };
  const ehr1 = new Map(
    r1.patients.filter((r) => r.fields[14] === 'EHR_SYSTEM').map((r) => [r.truth.personId, r]),
  );
  const newPeople = new Set<string>();
  let changedRows = 0;
  for (const r of batch2.patients) {
    const old = ehr1.get(r.truth.personId);
    if (!old) {
      newPeople.add(r.truth.personId);
      assert.ok(Number(r.truth.personId.slice(1)) > 4_000, 'new people get new person ids');
      continue;
    }
    assert.equal(r.fields[14], 'EHR_SYSTEM', 'only EHR rows change');
    assert.equal(r.fields[0], old.fields[0], 'the same EHR id');
    assert.equal(r.fields[4], old.fields[4], 'the same birth date');
    assert.equal(r.fields[2], old.fields[2], 'the same first name');
    const diff = [6, 15, 16, 19].filter((i) => r.fields[i] !== old.fields[i]);
    assert.ok(diff.length > 0, `a changed row changes address, BMI, smoker or plan (${r.truth.personId})`);
    changedRows++;
  }
  assert.equal(newPeople.size, 300);
  assert.equal(changedRows, b2.people.changed);

  const ids1 = new Set([...r1.claims, ...r1.medical_events].map((r) => r.fields[0]));
  const prevDay = Math.floor(AS_OF.getTime() / 86_400_000);
  const ehrIds = new Map(
    [...ehr1.values(), ...batch2.patients.filter((r) => r.fields[14] === 'EHR_SYSTEM')].map((r) => [
      r.fields[0],
      r.truth.personId,
    ]),
  );
  for (const r of batch2.claims) {
    assert.ok(!ids1.has(r.fields[0]), 'ids are never reused');
    assert.equal(
      ehrIds.get(r.fields[1] as string),
      r.truth.personId,
      'claims reference the EHR id of their person',
    );
    if (!newPeople.has(r.truth.personId)) {
      assert.ok(
        (r.fields[3] as string) > new Date(prevDay * 86_400_000).toISOString().slice(0, 10),
        'new claims of existing people are new',
      );
    }
    assert.ok((r.fields[3] as string) <= '2026-11-27');
  }
  for (const r of batch2.medical_events) assert.ok(!ids1.has(r.fields[0]));

  const manifest = readManifest(truthDir);
  assert.deepEqual(
    manifest?.batches.map((b) => [b.batch, b.peopleStart, b.peopleEnd, b.asOf]),
    [
      [1, 0, 4_000, AS_OF.toISOString()],
      [2, 4_000, 4_300, asOf2.toISOString()],
    ],
  );
  const truth = await allTruth(truthDir);
  assert.equal(truth.length, b1.totalRows + b2.totalRows);

  await assert.rejects(
    generate({ patients: 10, asOf: asOf2, outDir, truthDir, incremental: true }),
    /must be later/,
  );
  await assert.rejects(
    generate({
      patients: 10,
      seed: 9,
      asOf: new Date('2026-12-01T00:00:00Z'),
      outDir,
      truthDir,
      incremental: true,
    }),
    /seed is 8/,
  );
});

test('a person keeps their changes across batches (state replays earlier changes)', async (t) => {
  const dir = tempDir(t);
  const outDir = path.join(dir, 'landing');
  const truthDir = path.join(dir, 'truth');
  const opts = { outDir, truthDir, defectRate: 0, changeShare: 0.5, activityShare: 0 };
  await generate({ ...opts, patients: 400, seed: 3, asOf: AS_OF });
  const b2 = await generate({
    ...opts,
    patients: 0,
    asOf: new Date('2026-11-21T12:00:00Z'),
    incremental: true,
  });
  const b3 = await generate({
    ...opts,
    patients: 0,
    asOf: new Date('2026-11-22T12:00:00Z'),
    incremental: true,
  });
  const rows2 = (await joinBatch(b2)).patients.filter((r) => r.fileName === b2.files[0]?.fileName);
  const rows3 = (await joinBatch(b3)).patients.filter((r) => r.fileName === b3.files[0]?.fileName);
  assert.ok(rows2.length > 150 && rows3.length > 150, 'the data set options (changeShare) persist');
  const byPerson2 = new Map(rows2.map((r) => [r.truth.personId, r.fields]));
  let carried = 0;
  for (const r of rows3) {
    const f2 = byPerson2.get(r.truth.personId);
    if (!f2) continue;
    // Something changed in batch 3, but at most the attributes a change touches; the rest is carried over.
    assert.equal(r.fields[0], f2[0]);
    const same = [6, 15, 16, 19].filter((i) => r.fields[i] === f2[i]).length;
    if (same >= 2) carried++;
  }
  assert.ok(carried > 20, `later rows carry earlier changes (${carried})`);
});

test('an incremental batch uses the change/activity shares it is given, for itself only; replays stay exact', async (t) => {
  const dir = tempDir(t);
  const outDir = path.join(dir, 'landing');
  const truthDir = path.join(dir, 'truth');
  const opts = { outDir, truthDir, defectRate: 0 };
  const b1 = await generate({ ...opts, patients: 2_000, seed: 5, asOf: AS_OF });
  // Batch 2 overrides both shares; batch 3 is given none, so it falls back to the recorded defaults.
  const b2 = await generate({
    ...opts,
    patients: 0,
    asOf: new Date('2026-11-21T12:00:00Z'),
    incremental: true,
    changeShare: 0.5,
    activityShare: 0,
  });
  assert.ok(b2.people.changed > 900 && b2.people.changed < 1_100, `changed ${b2.people.changed}`);
  assert.equal(b2.people.active, 0);
  assert.equal(b2.rows.claims, 0);
  const b3 = await generate({
    ...opts,
    patients: 0,
    asOf: new Date('2026-11-22T12:00:00Z'),
    incremental: true,
  });
  assert.ok(b3.people.changed > 25 && b3.people.changed < 100, `changed ${b3.people.changed} (about 3 %)`);
  assert.ok(b3.people.active > 100 && b3.people.active < 230, `active ${b3.people.active} (about 8 %)`);

  const manifest = readManifest(truthDir);
  assert.deepEqual(manifest?.options, {
    adtShare: 0.6,
    labShare: 0.55,
    changeShare: 0.03,
    activityShare: 0.08,
  });
  assert.deepEqual(
    manifest?.batches.map((b) => [b.changeShare, b.activityShare]),
    [
      [0.03, 0.08],
      [0.5, 0],
      [0.03, 0.08],
    ],
  );

  // Batch 3 replays batch 2's changes with batch 2's share: a person batch 2 moved keeps the new
  // address in batch 3 unless batch 3 moves them again (never back to the first address).
  const ehr = async (s: typeof b1) =>
    new Map(
      (await joinBatch(s)).patients
        .filter((r) => r.fileName === s.files[0]?.fileName && r.fields[14] === 'EHR_SYSTEM')
        .map((r) => [r.truth.personId, r.fields]),
    );
  const [e1, e2, e3] = [await ehr(b1), await ehr(b2), await ehr(b3)];
  const address = (f: string[] | undefined) => (f ? `${f[6]}|${f[9]}` : '');
  let movedIn2 = 0;
  for (const [person, f3] of e3) {
    const f2 = e2.get(person);
    if (!f2 || address(f2) === address(e1.get(person))) continue;
    movedIn2++;
    assert.notEqual(address(f3), address(e1.get(person)), `${person} lost the move of batch 2`);
  }
  assert.ok(movedIn2 >= 5, `people moved in batch 2 and changed in batch 3: ${movedIn2}`);

  await assert.rejects(
    generate({
      ...opts,
      patients: 0,
      asOf: new Date('2026-11-23T12:00:00Z'),
      incremental: true,
      adtShare: 0.7,
    }),
    /adtShare is fixed by the data set's first batch \(0\.6\)/,
  );
  // The same value as recorded is accepted (a schedule passes its first batch's options every tick).
  const b4 = await generate({
    ...opts,
    patients: 1,
    asOf: new Date('2026-11-23T12:00:00Z'),
    incremental: true,
    adtShare: 0.6,
    labShare: 0.55,
  });
  assert.equal(b4.batch, 4);
});
