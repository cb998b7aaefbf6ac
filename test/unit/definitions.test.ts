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

test('a column declared with a closed set of values can hold no other', () => {
  // Such a column may be stored as an enumeration, where any other value fails the write. Its SQL (the
  // column's own or the staged value of its name) gives only texts of the set, or NULL; where it passes
  // a value through, an expectation that drops or fails the row holds the value to the set.
  const withValues = DATASETS.flatMap((ds) => ds.columns.filter((c) => c.values).map((c) => ({ ds, c })));
  assert.deepEqual([...new Set(withValues.map(({ c }) => c.name))].sort(), [
    'claim_category',
    'claim_status',
    'event_category',
    'patient_risk_category',
    'sex',
  ]);
  for (const { ds, c } of withValues) {
    const values = c.values ?? [];
    if (ds.kind !== 'transform') {
      // A gold table's column is its silver table's.
      const silver = DATASETS.find((s) => s.layer === 'silver' && s.entity === ds.entity);
      assert.deepEqual(
        silver?.columns.find((s) => s.name === c.name)?.values,
        values,
        `${ds.name}.${c.name}`,
      );
      continue;
    }
    const sql = (c.sql ?? ds.derived.find((x) => x.name === c.name)?.sql)?.(duckdbDialect) ?? '';
    assert.match(sql, /^CASE\b/, `${ds.name}.${c.name} is computed by a CASE`);
    const { literals, passThrough } = caseResults(sql);
    assert.ok(literals.length > 0, `${ds.name}.${c.name} names its values`);
    for (const v of literals) assert.ok(values.includes(v), `${ds.name}.${c.name} may give ${v}`);
    if (passThrough) {
      const guard = ds.expectations.find(
        (e) => e.action !== 'warn' && e.sql(duckdbDialect) === duckdbDialect.oneOf(c.name, values),
      );
      assert.ok(
        guard,
        `${ds.name}.${c.name} passes values through: a drop or fail expectation holds them to the set`,
      );
    }
  }
});

/**
 * The results of the outermost CASE of `sql`: the text literals of its THEN and ELSE branches, and
 * whether any branch gives something else (a CASE inside a condition is skipped; no ELSE gives NULL).
 */
function caseResults(sql: string): { literals: string[]; passThrough: boolean } {
  const literals: string[] = [];
  let passThrough = false;
  let depth = 0;
  for (const m of sql.matchAll(/'(?:[^']|'')*'|\b(?:CASE|END|THEN|ELSE)\b/g)) {
    const word = m[0];
    if (word === 'CASE') depth++;
    else if (word === 'END') depth--;
    else if ((word === 'THEN' || word === 'ELSE') && depth === 1) {
      const result = /^\s*'((?:[^']|'')*)'\s*(?=\bWHEN\b|\bELSE\b|\bEND\b)/.exec(
        sql.slice(m.index + word.length),
      );
      if (result) literals.push((result[1] ?? '').replaceAll("''", "'"));
      else passThrough = true;
    }
  }
  return { literals, passThrough };
}
