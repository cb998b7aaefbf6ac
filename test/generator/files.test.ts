import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { LANDING_COLUMNS } from '../../src/definitions/entities.ts';
import { parseLandingFileName } from '../../src/definitions/landing-files.ts';
import { generate } from '../../src/generator/generate.ts';
import { GenerateOptionError } from '../../src/generator/options.ts';
import { TRUTH_HEADER } from '../../src/generator/truth.ts';
import { AS_OF, allTruth, readLanding, tempDir } from './helpers.ts';

test('files are named {entity}_{yymmdd}_{hhmm}.csv with the exact landing columns, truth lines match', async (t) => {
  const dir = tempDir(t);
  const s = await generate({
    patients: 500,
    seed: 5,
    asOf: AS_OF,
    outDir: path.join(dir, 'landing'),
    truthDir: path.join(dir, 'truth'),
  });
  assert.deepEqual(
    s.files.map((f) => f.fileName),
    ['patients_261120_1200.csv', 'claims_261120_1200.csv', 'medical_events_261120_1200.csv'],
  );
  assert.deepEqual(
    readdirSync(path.join(dir, 'landing')).sort(),
    s.files.map((f) => f.fileName).sort(),
    'no partial files remain',
  );
  const truth = await allTruth(path.join(dir, 'truth'));
  for (const f of s.files) {
    assert.equal(parseLandingFileName(f.fileName)?.entity, f.entity);
    const { header, rows } = readLanding(f.path);
    assert.equal(header, LANDING_COLUMNS[f.entity].join(','));
    assert.equal(rows.length, f.rows);
    assert.equal(readFileSync(f.path).length, f.bytes);
    const mine = truth.filter((r) => r.fileName === f.fileName);
    assert.deepEqual(
      mine.map((r) => r.line),
      rows.map((r) => r.line),
    );
    assert.ok(readFileSync(f.truthPath, 'utf8').startsWith(TRUTH_HEADER));
    for (const [i, r] of rows.entries()) {
      const tr = mine[i];
      assert.ok(tr && /^P\d{7}$/.test(tr.personId));
      if (f.entity === 'patients' && r.fields.length === LANDING_COLUMNS.patients.length) {
        assert.equal(tr?.recordKey, `${r.fields[14]}:${r.fields[0]}`);
      } else if (f.entity !== 'patients') {
        assert.equal(tr?.recordKey, r.fields[0]);
      }
    }
  }
});

test('a second extract in the same minute gets _2 and never overwrites; a data set is not silently replaced', async (t) => {
  const dir = tempDir(t);
  const landing = path.join(dir, 'landing');
  const first = await generate({
    patients: 50,
    seed: 1,
    asOf: AS_OF,
    outDir: landing,
    truthDir: path.join(dir, 't1'),
  });
  const before = readFileSync(first.files[0]?.path as string);
  const second = await generate({
    patients: 50,
    seed: 2,
    asOf: AS_OF,
    outDir: landing,
    truthDir: path.join(dir, 't2'),
  });
  assert.deepEqual(
    second.files.map((f) => f.fileName),
    ['patients_261120_1200_2.csv', 'claims_261120_1200_2.csv', 'medical_events_261120_1200_2.csv'],
  );
  assert.equal(parseLandingFileName('patients_261120_1200_2.csv')?.sequence, 2);
  assert.ok(readFileSync(first.files[0]?.path as string).equals(before), 'the first file is untouched');
  await assert.rejects(
    generate({ patients: 50, seed: 1, asOf: AS_OF, outDir: landing, truthDir: path.join(dir, 't1') }),
    (e: unknown) => e instanceof GenerateOptionError && /already holds a data set/.test(e.message),
  );
  await assert.rejects(
    generate({ patients: 5, outDir: path.join(dir, 'x'), truthDir: path.join(dir, 'x', 'truth') }),
    /must be separate/,
  );
});

test('an unrelated file in the way keeps its content; the name moves on', async (t) => {
  const dir = tempDir(t);
  const landing = path.join(dir, 'landing');
  mkdirSync(landing);
  writeFileSync(path.join(landing, 'claims_261120_1200.csv'), 'keep me\n');
  const s = await generate({
    patients: 20,
    seed: 1,
    asOf: AS_OF,
    outDir: landing,
    truthDir: path.join(dir, 't'),
  });
  assert.equal(s.files[0]?.fileName, 'patients_261120_1200.csv');
  assert.equal(s.files[1]?.fileName, 'claims_261120_1200_2.csv');
  assert.equal(readFileSync(path.join(landing, 'claims_261120_1200.csv'), 'utf8'), 'keep me\n');
});

test('bad library options are rejected with a clear message', async (t) => {
  const dir = tempDir(t);
  const base = { outDir: path.join(dir, 'l'), truthDir: path.join(dir, 't') };
  await assert.rejects(generate({ ...base, patients: 0 }), /patients must be a whole number from 1/);
  await assert.rejects(
    generate({ ...base, patients: 10, defectRate: 2 }),
    /defectRate must be a number from 0 to 1/,
  );
  await assert.rejects(
    generate({ ...base, patients: 10, asOf: new Date('1999-01-01T00:00:00Z') }),
    /years 2001/,
  );
  await assert.rejects(generate({ ...base, patients: 10, asOf: new Date('nope') }), /valid date/);
  await assert.rejects(generate({ ...base, patients: 10, incremental: true }), /needs an existing data set/);
  await assert.rejects(generate({ ...base, patients: 10, keepLast: 0 }), /keepLast/);
});
