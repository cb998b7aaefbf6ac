import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATASETS, dataset, validatePipeline } from '../../src/definitions/pipeline.ts';
import { DEFECT_KINDS, expectedQuarantine } from '../../src/definitions/defect-catalog.ts';
import { ORPHAN_RULE } from '../../src/definitions/datasets/silver-facts.ts';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { databricksDialect } from '../../src/dialect/databricks.ts';

test('the pipeline declares nine datasets, three per layer, with no definition problems', () => {
  assert.equal(DATASETS.length, 9);
  for (const layer of ['bronze', 'silver', 'gold']) {
    assert.deepEqual(
      DATASETS.filter((d) => d.layer === layer).map((d) => d.entity),
      ['patients', 'claims', 'medical_events'],
    );
  }
  assert.deepEqual(validatePipeline(), []);
  assert.throws(() => dataset('silver_doctors'), /unknown dataset/);
});

test('validation reports every problem at once', () => {
  const silver = dataset('silver_patients');
  const broken = [{ ...silver, upstream: ['nowhere'], keys: ['missing_key'] }, silver];
  const codes = validatePipeline(broken)
    .map((p) => p.code)
    .sort();
  assert.deepEqual(codes, ['duplicate_dataset', 'unknown_key', 'upstream_order', 'upstream_order']);
});

test('silver and gold tables have exactly the seed columns', () => {
  const cols = (name: string): string[] => dataset(name).columns.map((c) => c.name);
  assert.deepEqual(cols('silver_claims'), [
    'claim_id',
    'patient_id',
    'claim_amount',
    'claim_date',
    'diagnosis_code',
    'procedure_code',
    'claim_status',
    'claim_category',
    'processed_at',
  ]);
  assert.deepEqual(cols('gold_patients'), [
    'patient_id',
    'mrn',
    'age_years',
    'sex',
    'region',
    'bmi',
    'smoker',
    'children',
    'charges',
    'insurance_plan',
    'coverage_start_date',
    'patient_risk_category',
    'effective_from',
    'effective_to',
    'is_current',
  ]);
  assert.deepEqual(cols('gold_medical_events'), [
    'event_id',
    'patient_id',
    'event_date',
    'event_type',
    'medical_provider',
    'event_category',
    'event_month',
    'event_year',
  ]);
});

test('every quarantined defect kind names a rule its dataset declares', () => {
  for (const kind of DEFECT_KINDS) {
    for (const entity of kind.entities) {
      const q = expectedQuarantine(kind.code, entity);
      if (kind.outcome.kind === 'repaired') {
        assert.equal(q, undefined);
        continue;
      }
      assert.ok(q, `${kind.code} on ${entity}`);
      const rules = dataset(q.dataset).expectations.map((e) => e.name);
      assert.ok(rules.includes(q.rule) || q.rule === ORPHAN_RULE, `${q.dataset} lacks ${q.rule}`);
    }
  }
});

test('every expression renders in both dialects and PHI tables carry the HIPAA properties', () => {
  for (const ds of DATASETS) {
    for (const dialect of [duckdbDialect, databricksDialect]) {
      for (const e of ds.expectations) assert.ok(e.sql(dialect).length > 0);
      if (ds.kind === 'transform') for (const x of ds.derived) assert.ok(x.sql(dialect).length > 0);
    }
    assert.equal(ds.properties['delta.enableChangeDataFeed'], 'true');
    assert.equal(ds.properties['compliance.framework'], 'HIPAA');
    assert.match(ds.properties['pipelines.pii.fields'] ?? '', /patient_id/);
  }
});
