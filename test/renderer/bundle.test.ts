import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { renderBundle, portableRelations, VALIDATION_CHECKS } from '../../src/renderer/index.ts';
import { DATASETS } from '../../src/definitions/pipeline.ts';
import type { IdentityStep } from '../../src/definitions/identity-step.ts';
import { referencePath } from '../../src/reference/paths.ts';
import { databricksDialect } from '../../src/dialect/databricks.ts';

const bundle = renderBundle();
const files = new Map(bundle.files.map((f) => [f.path, f.content]));
const yamlFiles = bundle.files.filter((f) => f.path.endsWith('.yml'));
const sqlOf = (p: string): string => files.get(p) ?? assert.fail(`no ${p} rendered`);
const allPipelineSql = bundle.libraries.map(sqlOf).join('\n');

let validator: ValidateFunction | undefined;
/** The Databricks bundle JSON schema (data/reference), compiled once with a Unicode-aware Ajv. */
function validate(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(
      fs.readFileSync(
        path.join(path.dirname(referencePath('icd10cm_codes.csv')), 'databricks-bundle-schema.json'),
        'utf8',
      ),
    ) as object;
    const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: true });
    validator = ajv.compile(schema);
  }
  return validator;
}

test('every rendered YAML file validates against the Databricks bundle schema', () => {
  const v = validate();
  for (const f of yamlFiles) {
    const ok = v(parse(f.content));
    assert.ok(ok, `${f.path}: ${JSON.stringify(v.errors?.slice(0, 5), null, 1)}`);
  }
});

test('the schema validation rejects a misspelled key and a wrong type', () => {
  const v = validate();
  const pipelines = parse(sqlOf('resources/pipelines.yml')) as {
    resources: { pipelines: Record<string, Record<string, unknown>> };
  };
  const p = Object.values(pipelines.resources.pipelines)[0] ?? assert.fail('no pipeline');
  assert.equal(v({ resources: { pipelines: { x: { ...p, catalgo: 'c' } } } }), false);
  assert.equal(v({ resources: { pipelines: { x: { ...p, serverless: [1] } } } }), false);
  // The interpolation patterns use \p{L}: only a Unicode-aware engine accepts ${var.é}.
  assert.equal(v({ resources: { pipelines: { x: { ...p, catalog: '${var.catalogé}' } } } }), true);
});

const FORBIDDEN = new Set([
  'job_clusters',
  'new_cluster',
  'existing_cluster_id',
  'clusters',
  'job_cluster_key',
  'cluster_id',
]);
function keysOf(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) keysOf(v, found);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      found.push(k);
      keysOf(v, found);
    }
  return found;
}

test('no cluster configuration anywhere: pipeline and jobs are serverless', () => {
  for (const f of yamlFiles) {
    const bad = keysOf(parse(f.content)).filter((k) => FORBIDDEN.has(k));
    assert.deepEqual(bad, [], f.path);
  }
  assert.deepEqual(
    keysOf({ a: [{ new_cluster: {} }] }).filter((k) => FORBIDDEN.has(k)),
    ['new_cluster'],
  );
  const p = parse(sqlOf('resources/pipelines.yml')).resources.pipelines.carelake_medallion;
  assert.equal(p.serverless, true);
  assert.equal(p.target, undefined, 'schema, not the deprecated target');
  assert.equal(p.catalog, '${var.catalog}');
  assert.equal(p.schema, '${resources.schemas.medallion.name}');
});

test('every library and SQL task file the YAML names is rendered (paths relative to resources/)', () => {
  const named: string[] = [];
  for (const f of yamlFiles.filter((y) => y.path.startsWith('resources/'))) {
    const walk = (v: unknown, parentKey = ''): void => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, parentKey));
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (k === 'path' && typeof x === 'string' && (parentKey === 'file' || parentKey === 'notebook'))
            named.push(x);
          walk(x, k);
        }
    };
    walk(parse(f.content));
  }
  const libraries = parse(sqlOf('resources/pipelines.yml')).resources.pipelines.carelake_medallion
    .libraries as { file: { path: string } }[];
  assert.equal(libraries.length, bundle.libraries.length);
  assert.ok(named.length > libraries.length, 'SQL task files are named too');
  for (const p of named) {
    const inBundle = path.posix.normalize(path.posix.join('resources', p));
    assert.ok(files.has(inBundle), `${p} -> ${inBundle} is rendered`);
  }
});

test('targets: dev is development (default), staging and prod are production mode with what it requires', () => {
  const y = parse(sqlOf('databricks.yml'));
  assert.equal(y.targets.dev.mode, 'development');
  assert.equal(y.targets.dev.default, true);
  for (const t of ['staging', 'prod']) {
    assert.equal(y.targets[t].mode, 'production');
    assert.match(y.targets[t].workspace.root_path, /^\/Workspace\//);
    assert.ok(y.targets[t].run_as.service_principal_name);
    assert.equal(y.targets[t].presets.pipelines_development, false);
  }
  for (const v of [
    'catalog',
    'schema',
    'environment',
    'volumes_path',
    'max_files_per_trigger',
    'alert_email',
  ])
    assert.ok(y.variables[v], `variable ${v}`);
  assert.deepEqual(y.include, ['resources/*.yml']);
  assert.doesNotMatch(y.bundle.name, /\$\{/);
  const p = parse(sqlOf('resources/pipelines.yml')).resources.pipelines.carelake_medallion;
  assert.notEqual(p.development, true);
  for (const k of ['CATALOG', 'SCHEMA', 'PIPELINE_ENV', 'VOLUMES_PATH', 'carelake.hipaa.enabled'])
    assert.ok(p.configuration[k], k);
  assert.equal(p.configuration['spark.databricks.delta.properties.defaults.enableChangeDataFeed'], 'true');
  for (const [k, v] of Object.entries(p.configuration)) {
    assert.match(k, /^[A-Za-z0-9_.-]+$/);
    assert.equal(typeof v, 'string');
  }
  assert.deepEqual(Object.keys(p.event_log).sort(), ['catalog', 'name', 'schema']);
  const alerts = new Set([
    'on-update-success',
    'on-update-failure',
    'on-update-fatal-failure',
    'on-flow-failure',
  ]);
  for (const n of p.notifications) for (const a of n.alerts) assert.ok(alerts.has(a), a);
});

test('jobs: refresh on file arrival and on a schedule, monitoring runs every level-4 and level-5 check', () => {
  const jobs = parse(sqlOf('resources/jobs.yml')).resources.jobs;
  assert.match(jobs.carelake_refresh_on_arrival.trigger.file_arrival.url, /volumes_path/);
  assert.equal(jobs.carelake_refresh_on_arrival.schedule, undefined, 'one trigger per job');
  const schedule = jobs.carelake_scheduled_refresh.schedule;
  assert.ok(schedule.quartz_cron_expression && schedule.timezone_id);
  for (const j of Object.values(jobs) as { tasks: { pipeline_task?: { pipeline_id: string } }[] }[])
    assert.equal(j.tasks[0]?.pipeline_task?.pipeline_id, '${resources.pipelines.carelake_medallion.id}');
  const monitoring = parse(sqlOf('resources/workflows.yml')).resources.jobs.carelake_monitoring;
  assert.deepEqual(
    monitoring.tasks.map((t: { task_key: string }) => t.task_key),
    VALIDATION_CHECKS.map((c) => c.key),
  );
  assert.deepEqual([...new Set(VALIDATION_CHECKS.map((c) => c.level))], [4, 5]);
  assert.ok(monitoring.email_notifications.on_failure.length > 0);
  for (const c of VALIDATION_CHECKS) assert.match(sqlOf(`src/sql/validation/${c.key}.sql`), /assert_true\(/);
});

test('grants: PHI readable by the PHI group only, analysts get de-identified views', () => {
  const s = parse(sqlOf('resources/schemas.yml')).resources;
  const grants = s.schemas.medallion.grants as { principal: string; privileges: string[] }[];
  const select = grants.filter(
    (g) => g.privileges.includes('SELECT') || g.privileges.includes('ALL_PRIVILEGES'),
  );
  assert.deepEqual(select.map((g) => g.principal).sort(), [
    'carelake-data-engineers',
    'carelake-phi-readers',
  ]);
  assert.deepEqual(grants.find((g) => g.principal === 'carelake-analysts')?.privileges, ['USE_SCHEMA']);
  assert.ok(
    !JSON.stringify(s.volumes.landing.grants).includes('carelake-analysts'),
    'raw landing files are not for analysts',
  );
  const gov = sqlOf('src/sql/governance.sql');
  for (const v of ['deid_patients', 'deid_claims', 'deid_medical_events']) {
    assert.match(gov, new RegExp(`CREATE OR REPLACE VIEW ${v}\\b`));
    assert.match(gov, new RegExp(`GRANT SELECT ON VIEW ${v} TO \`carelake-analysts\``));
  }
  const views = gov.split('CREATE OR REPLACE VIEW').filter((v) => v.startsWith(' deid_'));
  for (const v of views) {
    for (const id of [
      'patient_id',
      'mrn',
      'ssn_hash',
      'claim_id',
      'event_id',
      'claim_date',
      'event_date',
      'medical_provider',
    ])
      assert.ok(
        !new RegExp(`\\b(?<!\\.)${id}\\b,`).test(v.split('FROM')[0] ?? ''),
        `${id} not selected in ${v.slice(0, 20)}`,
      );
  }
  assert.doesNotMatch(allPipelineSql, /^\s*GRANT\b/m, 'pipeline files hold no GRANT');
});

test('every expectation of every dataset is a CONSTRAINT with its action', () => {
  for (const ds of DATASETS) {
    for (const e of ds.expectations) {
      const action =
        e.action === 'drop'
          ? ' ON VIOLATION DROP ROW'
          : e.action === 'fail'
            ? ' ON VIOLATION FAIL UPDATE'
            : '';
      const line = allPipelineSql
        .split('\n')
        .find(
          (l) => l.trim().startsWith(`CONSTRAINT ${e.name} EXPECT (`) && l.includes(e.sql(databricksDialect)),
        );
      assert.ok(line, `${ds.name}.${e.name} has a CONSTRAINT`);
      assert.ok(line.trimEnd().replace(/,$/, '').endsWith(`)${action}`), `${ds.name}.${e.name}: ${line}`);
    }
  }
  assert.doesNotMatch(allPipelineSql, /ON VIOLATION (DROP|FAIL)\b(?! ROW| UPDATE)/);
  assert.doesNotMatch(allPipelineSql, /\bLIVE\.|CREATE LIVE |APPLY CHANGES/);
});

test('bronze reads the volume with STREAM read_files, _metadata, _rescued_data, and hashes the SSN from a secret', () => {
  for (const e of ['patients', 'claims', 'medical_events']) {
    const sql = sqlOf(`src/pipeline/bronze/bronze_${e}.sql`);
    assert.match(sql, /FROM STREAM read_files\(\n {2}'\$\{VOLUMES_PATH\}',\n {2}format => 'csv',/);
    assert.match(sql, /_metadata\.file_name AS _file_name/);
    assert.match(sql, /_metadata\.file_path AS _file_path/);
    assert.match(sql, /rescuedDataColumn => '_rescued_data'/);
    assert.match(sql, /'pipelines\.reset\.allowed' = 'false'/);
    assert.match(sql, /CREATE OR REFRESH STREAMING TABLE bronze_\w+_quarantine/);
  }
  const p = sqlOf('src/pipeline/bronze/bronze_patients.sql');
  assert.match(p, /secret\('\$\{SSN_SECRET_SCOPE\}', '\$\{SSN_SECRET_KEY\}'\)/);
  assert.match(p, /CAST\(NULL AS STRING\) AS ssn/);
});

test('gold: patients through AUTO CDC stored as SCD type 2 with the spec columns; facts with period columns and clustering', () => {
  const g = sqlOf('src/pipeline/gold/gold_patients.sql');
  assert.match(g, /CREATE OR REFRESH STREAMING TABLE gold_patients_history\n/);
  assert.match(
    g,
    /CREATE FLOW gold_patients_history_cdc AS AUTO CDC INTO gold_patients_history\nFROM STREAM\(gold_patients_changes\)\nKEYS \(patient_id\)\nSEQUENCE BY effective_date\nCOLUMNS [\w, ]+\nSTORED AS SCD TYPE 2\nTRACK HISTORY ON mrn, sex, region, bmi, smoker, children, charges, insurance_plan, coverage_start_date;/,
  );
  assert.match(g, /__START_AT AS effective_from, __END_AT AS effective_to, __END_AT IS NULL AS is_current/);
  for (const [f, p] of [
    ['gold_claims', 'claim'],
    ['gold_medical_events', 'event'],
  ]) {
    const s = sqlOf(`src/pipeline/gold/${f}.sql`);
    assert.match(s, new RegExp(`CLUSTER BY \\(${p}_year, ${p}_month, patient_id\\)`));
    assert.match(s, new RegExp(`AS \`${p}_month\``));
  }
  for (const ds of DATASETS) {
    assert.match(allPipelineSql, new RegExp(`'delta.enableChangeDataFeed' = 'true'`));
    const pii = ds.properties['pipelines.pii.fields'] ?? '';
    assert.ok(allPipelineSql.includes(`'pipelines.pii.fields' = '${pii}'`), `${ds.name} PII tags`);
  }
});

test('the portable SQL that Spark runs is the text inside the Databricks files', () => {
  for (const r of portableRelations()) {
    if (r.role === 'validated' || r.role === 'scd2') continue;
    assert.ok(allPipelineSql.includes(r.sql), `${r.name} is rendered verbatim`);
  }
});

test('the identity step is pluggable', () => {
  const step: IdentityStep = {
    version: 'test-v9',
    description: 'Every record is its own patient.',
    relations: () => [
      {
        name: 'silver_resolved_identity_resolution',
        persisted: true,
        sql: "SELECT source_system, source_patient_id, CONCAT('P', source_patient_id) AS patient_id FROM silver_patient_sources",
      },
    ],
  };
  const b = renderBundle({ identity: step });
  assert.ok(b.libraries.includes('src/pipeline/identity/test-v9.sql'));
  const sql = b.files.find((f) => f.path === 'src/pipeline/identity/test-v9.sql')?.content ?? '';
  assert.match(sql, /CONCAT\('P', source_patient_id\)/);
  assert.match(
    b.files.find((f) => f.path === 'resources/pipelines.yml')?.content ?? '',
    /carelake.identity.version: test-v9/,
  );
});

test('the renderer imports only definitions, dialect and the YAML writer (never the engine)', () => {
  const dir = path.join(import.meta.dirname, '../../src/renderer');
  const sources = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of sources) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/from '([^']+)'/g)) {
      const spec = m[1] ?? '';
      const ok =
        spec === 'yaml' ||
        (spec.startsWith('.') && !/^(\.\.\/)+(engine|runner|identity|privacy|cli)\//.test(spec));
      assert.ok(ok, `${f} imports ${spec}`);
    }
  }
});

const GOLDEN = path.join(import.meta.dirname, 'golden');
test('rendered files equal the golden files (UPDATE_GOLDEN=1 rewrites them)', () => {
  if (process.env['UPDATE_GOLDEN'] === '1') {
    fs.rmSync(GOLDEN, { recursive: true, force: true });
    for (const f of bundle.files) {
      const target = path.join(GOLDEN, f.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, f.content);
    }
  }
  const golden = fs
    .readdirSync(GOLDEN, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(GOLDEN, f)).isFile());
  assert.deepEqual(
    golden.map((f) => f.split(path.sep).join('/')).sort(),
    bundle.files.map((f) => f.path).sort(),
    'same files',
  );
  for (const f of bundle.files)
    assert.equal(f.content, fs.readFileSync(path.join(GOLDEN, f.path), 'utf8'), f.path);
});
