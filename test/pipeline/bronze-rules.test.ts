/**
 * Bronze patient rules on names through a real run: test records are dropped to the quarantine under
 * no_test_patients, real people whose names merely contain TEST are kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  T0,
  csvText,
  makeLakehouse,
  patientRow,
  query,
  run,
  writeLandingFile,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

test('test records are quarantined as no_test_patients; Testa, Tester and Zzachary are kept', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const real: [string, string][] = [
    ['Maria', 'Testa'],
    ['John', 'Tester'],
    ['Celestine', 'Testerman'],
    ['Contessa', 'Attestor'],
    ['Zara', 'Zeller'],
    ['Zzachary', 'Smith'], // a doubled letter, not a test record
  ];
  const fake: [string, string][] = [
    ['Ann', 'TEST'],
    ['ZZTEST', 'Moss'],
    ['TEST', 'PATIENT'],
    ['Bob', 'Testpatient'],
    ['Patient', 'Test1'],
    ['test', 'user'],
    ['Zzz', 'Smith'],
    ['Carl', 'test-patient'],
  ];
  const rows = [...real, ...fake].map(([first, last], i) =>
    patientRow(i + 1, { first_name: first, last_name: last }),
  );
  writeLandingFile(lake.landing, 'patients', T0, csvText('patients', rows));
  assert.equal((await run(lake)).status, 'COMPLETED');
  const kept = await query<{ last_name: string }>(
    lake.db,
    'SELECT last_name FROM bronze_patients ORDER BY _line_number',
  );
  assert.deepEqual(
    kept.map((r) => r.last_name),
    real.map(([, last]) => last),
  );
  const dropped = await query<{ line_number: number; rules: string[] }>(
    lake.db,
    "SELECT line_number, rules FROM quarantine WHERE dataset = 'bronze_patients' ORDER BY line_number",
  );
  assert.deepEqual(
    dropped.map((q) => q.line_number),
    fake.map((_, i) => real.length + i + 2),
  );
  for (const q of dropped) assert.ok(q.rules.includes('no_test_patients'), JSON.stringify(q));
});
