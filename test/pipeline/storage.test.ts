/**
 * How the DuckDB runner stores bronze rows: the landing columns (raw text as delivered) uncompressed,
 * the columns the pipeline adds (file name and path, run id) compressed, since they hold one value per
 * file and would otherwise repeat their text on every row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LANDING_COLUMNS } from '../../src/definitions/entities.ts';
import {
  T0,
  makeLakehouse,
  query,
  range,
  run,
  writeValidBatch,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const lakes = lakehousesRemovedAfterwards();

type Segment = {
  table_name: string;
  column_name: string;
  compression: string;
};

test('bronze: landing text is stored as delivered, the per-file lineage columns compress', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 1501), claimsPerPatient: 2, eventsPerPatient: 2 });
  const result = await run(lake);
  assert.equal(result.status, 'COMPLETED');

  const segments = await query<Segment>(
    lake.db,
    ['bronze_patients', 'bronze_claims', 'bronze_medical_events']
      .map(
        (t) => `SELECT '${t}' AS table_name, column_name, compression FROM pragma_storage_info('${t}')
          WHERE segment_type = 'VARCHAR'`,
      )
      .join(' UNION ALL '),
  );
  const byColumn = new Map<string, Set<string>>();
  for (const s of segments) {
    const key = `${s.table_name}.${s.column_name}`;
    byColumn.set(key, (byColumn.get(key) ?? new Set()).add(s.compression));
  }
  for (const [table, entity] of [
    ['bronze_patients', 'patients'],
    ['bronze_claims', 'claims'],
    ['bronze_medical_events', 'medical_events'],
  ] as const) {
    // 3,000 patient rows, 3,000 claims, 3,000 events: one file each, so one value per lineage column.
    for (const c of ['_file_name', '_file_path', '_run_id']) {
      const methods = byColumn.get(`${table}.${c}`);
      assert.ok(methods, `${table}.${c} has stored segments`);
      assert.ok(!methods.has('Uncompressed'), `${table}.${c} is compressed (${[...methods].join(', ')})`);
    }
    // Landing columns, even those with a single value in this file (city, state, source system).
    for (const c of LANDING_COLUMNS[entity].filter((n) => n !== 'ssn')) {
      const methods = byColumn.get(`${table}.${c}`);
      assert.ok(methods, `${table}.${c} has stored segments`);
      assert.deepEqual([...methods], ['Uncompressed'], `${table}.${c} is stored as delivered`);
    }
  }
});
